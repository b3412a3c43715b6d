package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.state.v1.BaselineState;

/**
 * A run's recent history for one layer: the largest per-timestep gradient norm of each of the
 * last {@code window} steps (for spike detection), and the last step analysed (so late records
 * of a finished step are recognised).
 */
public final class Baseline {
    private final double[] recent;
    private int count;
    private long lastStep = -1;
    private long lastSeenMs;
    private boolean publishesActivations;
    private boolean publishesPreact;

    public Baseline(int window) {
        recent = new double[window];
    }

    /** Mean of the recorded maxima, NaN when empty. */
    public double mean() {
        int n = Math.min(count, recent.length);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += recent[i];
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    public int size() {
        return Math.min(count, recent.length);
    }

    public void record(long step, double maxNorm, long nowMs) {
        if (Double.isFinite(maxNorm)) {
            recent[count % recent.length] = maxNorm;
            count++;
        }
        lastStep = Math.max(lastStep, step);
        lastSeenMs = nowMs;
    }

    public long lastStep() {
        return lastStep;
    }

    public long lastSeenMs() {
        return lastSeenMs;
    }

    /** Whether this layer's publisher sends ACTIVATION tensors, so a step waits for them. */
    public boolean publishesActivations() {
        return publishesActivations;
    }

    /** Whether this layer's publisher sends PREACT_GRAD tensors, so a step waits for them. */
    public boolean publishesPreact() {
        return publishesPreact;
    }

    public void markPublishesPreact(long nowMs) {
        publishesPreact = true;
        lastSeenMs = Math.max(lastSeenMs, nowMs);
    }

    public void markPublishesActivations(long nowMs) {
        publishesActivations = true;
        lastSeenMs = Math.max(lastSeenMs, nowMs);
    }

    public BaselineState toState() {
        BaselineState.Builder state = BaselineState.newBuilder().setWindow(recent.length).setCount(count)
                .setLastStep(lastStep).setLastSeenMs(lastSeenMs).setPublishesActivations(publishesActivations)
                .setPublishesPreact(publishesPreact);
        for (double value : recent) {
            state.addRecent(value);
        }
        return state.build();
    }

    public static Baseline fromState(BaselineState state) {
        Baseline baseline = new Baseline(Math.max(1, state.getWindow()));
        baseline.count = state.getCount();
        baseline.lastStep = state.getLastStep();
        baseline.lastSeenMs = state.getLastSeenMs();
        baseline.publishesActivations = state.getPublishesActivations();
        baseline.publishesPreact = state.getPublishesPreact();
        for (int i = 0; i < Math.min(baseline.recent.length, state.getRecentCount()); i++) {
            baseline.recent[i] = state.getRecent(i);
        }
        return baseline;
    }
}
