package io.gradwatch.monitor.analysis;

import java.nio.ByteBuffer;

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

    public void markPublishesActivations(long nowMs) {
        publishesActivations = true;
        lastSeenMs = Math.max(lastSeenMs, nowMs);
    }

    public byte[] toBytes() {
        ByteBuffer buffer = ByteBuffer.allocate(4 + 4 + 8 + 8 + 1 + 8 * recent.length);
        buffer.putInt(recent.length).putInt(count).putLong(lastStep).putLong(lastSeenMs)
                .put((byte) (publishesActivations ? 1 : 0));
        for (double value : recent) {
            buffer.putDouble(value);
        }
        return buffer.array();
    }

    public static Baseline fromBytes(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        Baseline baseline = new Baseline(buffer.getInt());
        baseline.count = buffer.getInt();
        baseline.lastStep = buffer.getLong();
        baseline.lastSeenMs = buffer.getLong();
        baseline.publishesActivations = buffer.get() == 1;
        for (int i = 0; i < baseline.recent.length; i++) {
            baseline.recent[i] = buffer.getDouble();
        }
        return baseline;
    }
}
