package io.gradwatch.trainer.optim;

import io.gradwatch.trainer.nn.Parameter;
import java.util.List;

/** torch.optim.SGD with momentum mu: buf = mu * buf + g (buf = g on the first step); p -= lr * buf. */
public final class Momentum extends Optimizer {
    private final double momentum;

    public Momentum(List<Parameter> parameters, double learningRate, double momentum) {
        super(parameters, learningRate);
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        }
        this.momentum = momentum;
    }

    @Override
    protected void update(Parameter p) {
        boolean first = !state.containsKey("momentum_buffer." + p.name());
        double[] buf = buffer("momentum_buffer." + p.name(), p.size());
        double[] value = p.value();
        double[] grad = p.grad();
        for (int i = 0; i < value.length; i++) {
            buf[i] = first ? grad[i] : momentum * buf[i] + grad[i];
            value[i] -= learningRate * buf[i];
        }
    }

    @Override
    public String name() {
        return "momentum";
    }
}
