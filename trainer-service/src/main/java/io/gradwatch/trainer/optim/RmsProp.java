package io.gradwatch.trainer.optim;

import io.gradwatch.trainer.nn.Parameter;
import java.util.List;

/** torch.optim.RMSprop (alpha 0.99, eps 1e-8): v = alpha v + (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps). */
public final class RmsProp extends Optimizer {
    static final double ALPHA = 0.99;
    static final double EPS = 1e-8;

    public RmsProp(List<Parameter> parameters, double learningRate) {
        super(parameters, learningRate);
    }

    @Override
    protected void update(Parameter p) {
        double[] v = buffer("square_avg." + p.name(), p.size());
        double[] value = p.value();
        double[] grad = p.grad();
        for (int i = 0; i < value.length; i++) {
            v[i] = ALPHA * v[i] + (1 - ALPHA) * grad[i] * grad[i];
            value[i] -= learningRate * grad[i] / (Math.sqrt(v[i]) + EPS);
        }
    }

    @Override
    public String name() {
        return "rmsprop";
    }
}
