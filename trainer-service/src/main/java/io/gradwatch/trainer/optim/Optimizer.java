package io.gradwatch.trainer.optim;

import io.gradwatch.trainer.nn.Parameter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Parameter updates with torch.optim's exact semantics. State (momentum buffers, moment
 * estimates, step count) is exportable for checkpoints, keyed {@code <buffer>.<parameter name>}.
 */
public abstract sealed class Optimizer permits Sgd, Momentum, RmsProp, Adam {
    protected final List<Parameter> parameters;
    protected double learningRate;
    protected long steps;
    protected final Map<String, double[]> state = new HashMap<>();

    protected Optimizer(List<Parameter> parameters, double learningRate) {
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be a positive number, got " + learningRate);
        }
        this.parameters = parameters;
        this.learningRate = learningRate;
    }

    public static Optimizer create(String name, List<Parameter> parameters, double learningRate, double momentum) {
        return switch (name) {
            case "sgd" -> new Sgd(parameters, learningRate);
            case "momentum" -> new Momentum(parameters, learningRate, momentum);
            case "rmsprop" -> new RmsProp(parameters, learningRate);
            case "adam" -> new Adam(parameters, learningRate);
            default -> throw new IllegalArgumentException("unknown optimizer '" + name
                    + "' (sgd, momentum, rmsprop, adam)");
        };
    }

    /** Applies one update from the parameters' current gradients. */
    public final void step() {
        steps++;
        for (Parameter p : parameters) {
            update(p);
        }
    }

    protected abstract void update(Parameter parameter);

    public abstract String name();

    public double learningRate() {
        return learningRate;
    }

    public void setLearningRate(double learningRate) {
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be a positive number, got " + learningRate);
        }
        this.learningRate = learningRate;
    }

    public long steps() {
        return steps;
    }

    /** Buffers by {@code <buffer>.<parameter name>}; live arrays, copy before keeping. */
    public Map<String, double[]> state() {
        return state;
    }

    /** Restores buffers and the step count from a checkpoint. */
    public void restore(Map<String, double[]> saved, long savedSteps) {
        for (var entry : saved.entrySet()) {
            double[] buffer = buffer(entry.getKey(), entry.getValue().length);
            System.arraycopy(entry.getValue(), 0, buffer, 0, buffer.length);
        }
        steps = savedSteps;
    }

    protected final double[] buffer(String key, int size) {
        return state.computeIfAbsent(key, k -> new double[size]);
    }
}
