package io.gradwatch.monitor.analysis;

import java.nio.ByteBuffer;

/**
 * What the step-level rules remember of one run between its StepRecords: the last
 * 2 x loss-window losses, the rolling baseline of the global gradient norm, and the closed loop's
 * position on its ladder. Hand-serialised with a version byte, like the other states.
 */
public final class RunSteps {
    private static final byte VERSION = 1;
    private final double[] losses;
    private long lossCount;
    private final Baseline gradNorms;
    private long records;
    private Loop loop = Loop.IDLE;

    /**
     * The closed loop of a run. {@code level}: 0 idle, 1 clipped, 2 learning rate scaled, 3 stopped;
     * {@code sinceAction}: step records since the last action; {@code healthyStreak}: consecutive
     * healthy ones; {@code lossCeiling}: the worst recent loss when the loop engaged (the effect is
     * healthy while the loss stays finite and no higher); {@code layer}: the alert's layer;
     * {@code resolved}: the effect was healthy for the resolve window.
     */
    public record Loop(int level, int sinceAction, int healthyStreak, double lossCeiling, int layer, boolean resolved) {
        public static final Loop IDLE = new Loop(0, 0, 0, Double.NaN, 0, false);

        public boolean engaged() {
            return level > 0;
        }
    }

    public RunSteps(int lossWindow, int baselineWindow) {
        losses = new double[2 * lossWindow];
        gradNorms = new Baseline(baselineWindow);
    }

    public Baseline gradNorms() {
        return gradNorms;
    }

    public long records() {
        return records;
    }

    public Loop loop() {
        return loop;
    }

    public void loop(Loop next) {
        loop = next;
    }

    /** Records one StepRecord's loss and global gradient norm (non-finite values are not kept). */
    public void record(long step, double loss, double gradNorm, long nowMs) {
        if (Double.isFinite(loss)) {
            losses[(int) (lossCount % losses.length)] = loss;
            lossCount++;
        }
        gradNorms.record(step, gradNorm, nowMs);
        records++;
    }

    /** Mean of the {@code window} losses ending {@code back} windows before the newest, NaN when not there yet. */
    public double meanLoss(int back) {
        int window = losses.length / 2;
        if (lossCount < (long) (back + 1) * window) {
            return Double.NaN;
        }
        double sum = 0;
        for (int i = 0; i < window; i++) {
            long index = lossCount - 1 - (long) back * window - i;
            sum += losses[(int) (index % losses.length)];
        }
        return sum / window;
    }

    /** The largest of the kept losses, NaN when none. */
    public double worstLoss() {
        int n = (int) Math.min(lossCount, losses.length);
        double worst = Double.NaN;
        for (int i = 0; i < n; i++) {
            worst = Double.isNaN(worst) ? losses[i] : Math.max(worst, losses[i]);
        }
        return worst;
    }

    public byte[] toBytes() {
        byte[] baseline = gradNorms.toBytes();
        ByteBuffer buffer = ByteBuffer.allocate(1 + 4 + 8 + 8 * losses.length + 8 + 4 + baseline.length
                + 4 * 4 + 8 + 1);
        buffer.put(VERSION).putInt(losses.length).putLong(lossCount);
        for (double loss : losses) {
            buffer.putDouble(loss);
        }
        buffer.putLong(records).putInt(baseline.length).put(baseline);
        buffer.putInt(loop.level()).putInt(loop.sinceAction()).putInt(loop.healthyStreak()).putInt(loop.layer())
                .putDouble(loop.lossCeiling()).put((byte) (loop.resolved() ? 1 : 0));
        return buffer.array();
    }

    public static RunSteps fromBytes(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        byte version = buffer.get();
        if (version != VERSION) {
            throw new IllegalStateException("run-steps state of version " + version + ", this monitor reads " + VERSION);
        }
        int length = buffer.getInt();
        long lossCount = buffer.getLong();
        double[] losses = new double[length];
        for (int i = 0; i < length; i++) {
            losses[i] = buffer.getDouble();
        }
        long records = buffer.getLong();
        byte[] baseline = new byte[buffer.getInt()];
        buffer.get(baseline);
        Baseline gradNorms = Baseline.fromBytes(baseline);
        RunSteps steps = new RunSteps(gradNorms, losses);
        steps.lossCount = lossCount;
        steps.records = records;
        int level = buffer.getInt();
        int since = buffer.getInt();
        int healthy = buffer.getInt();
        int layer = buffer.getInt();
        steps.loop = new Loop(level, since, healthy, buffer.getDouble(), layer, buffer.get() == 1);
        return steps;
    }

    private RunSteps(Baseline gradNorms, double[] losses) {
        this.losses = losses;
        this.gradNorms = gradNorms;
    }
}
