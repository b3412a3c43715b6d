package io.gradwatch.trainer.optim;

import io.gradwatch.trainer.nn.Parameter;
import java.util.List;

/** p -= lr * g. */
public final class Sgd extends Optimizer {
    public Sgd(List<Parameter> parameters, double learningRate) {
        super(parameters, learningRate);
    }

    @Override
    protected void update(Parameter p) {
        double[] value = p.value();
        double[] grad = p.grad();
        for (int i = 0; i < value.length; i++) {
            value[i] -= learningRate * grad[i];
        }
    }

    @Override
    public String name() {
        return "sgd";
    }
}
