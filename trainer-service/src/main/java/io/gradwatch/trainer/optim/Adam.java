package io.gradwatch.trainer.optim;

import io.gradwatch.trainer.nn.Parameter;
import java.util.List;

/**
 * torch.optim.Adam (betas 0.9, 0.999, eps 1e-8): m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 */
public final class Adam extends Optimizer {
    static final double BETA1 = 0.9;
    static final double BETA2 = 0.999;
    static final double EPS = 1e-8;

    public Adam(List<Parameter> parameters, double learningRate) {
        super(parameters, learningRate);
    }

    @Override
    protected void update(Parameter p) {
        double[] m = buffer("exp_avg." + p.name(), p.size());
        double[] v = buffer("exp_avg_sq." + p.name(), p.size());
        double stepSize = learningRate / (1 - Math.pow(BETA1, steps));
        double correction2 = Math.sqrt(1 - Math.pow(BETA2, steps));
        double[] value = p.value();
        double[] grad = p.grad();
        for (int i = 0; i < value.length; i++) {
            m[i] = BETA1 * m[i] + (1 - BETA1) * grad[i];
            v[i] = BETA2 * v[i] + (1 - BETA2) * grad[i] * grad[i];
            value[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / correction2 + EPS);
        }
    }

    @Override
    public String name() {
        return "adam";
    }
}
