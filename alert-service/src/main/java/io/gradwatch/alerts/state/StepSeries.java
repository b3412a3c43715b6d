package io.gradwatch.alerts.state;

/**
 * The last {@code capacity} step records of a run, as flat columns in a ring: loss, global
 * gradient norm before and after clipping, learning rate. Not thread-safe: {@link FleetState}
 * holds its lock around every call.
 */
final class StepSeries {
    private final long[] steps;
    private final double[] loss;
    private final double[] gradNorm;
    private final double[] gradNormClipped;
    private final double[] learningRate;
    private int next;
    private int size;

    StepSeries(int capacity) {
        steps = new long[capacity];
        loss = new double[capacity];
        gradNorm = new double[capacity];
        gradNormClipped = new double[capacity];
        learningRate = new double[capacity];
    }

    void add(long step, double stepLoss, double norm, double clipped, double rate) {
        steps[next] = step;
        loss[next] = stepLoss;
        gradNorm[next] = norm;
        gradNormClipped[next] = clipped;
        learningRate[next] = rate;
        next = (next + 1) % steps.length;
        size = Math.min(size + 1, steps.length);
    }

    /** A copy, oldest step first. */
    RunSnapshot.Steps snapshot() {
        int capacity = steps.length;
        RunSnapshot.Steps copy = new RunSnapshot.Steps(new long[size], new double[size], new double[size], new double[size],
                new double[size]);
        int first = (next - size + capacity) % capacity;
        for (int i = 0; i < size; i++) {
            int at = (first + i) % capacity;
            copy.steps()[i] = steps[at];
            copy.loss()[i] = loss[at];
            copy.gradNorm()[i] = gradNorm[at];
            copy.gradNormClipped()[i] = gradNormClipped[at];
            copy.learningRate()[i] = learningRate[at];
        }
        return copy;
    }

}
