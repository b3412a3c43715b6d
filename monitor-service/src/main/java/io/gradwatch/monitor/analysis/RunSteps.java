package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.state.v1.LoopState;
import io.gradwatch.protocol.state.v1.RunStepsState;

/**
 * What the step-level rules remember of one run between its StepRecords: the last
 * 2 x loss-window losses, the best window mean of the loss and the records since it improved, the rolling baseline of the global gradient norm, and the closed loop's
 * position on its ladder. Stored as {@code gradwatch.state.v1.RunStepsState} (StateSerdes.RUN_STEPS).
 */
public final class RunSteps {
    private final double[] losses;
    private long lossCount;
    private final Baseline gradNorms;
    private long records;
    private double bestMeanLoss = Double.NaN;
    private long recordsSinceBest;
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

    /** The lowest window mean of the loss so far, NaN before the first full window. */
    public double bestMeanLoss() {
        return bestMeanLoss;
    }

    /** Step records with a finite loss since a window mean last improved on the best one. */
    public long recordsSinceBest() {
        return recordsSinceBest;
    }

    public void bestMeanLoss(double best, long sinceImproved) {
        bestMeanLoss = best;
        recordsSinceBest = sinceImproved;
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

    public RunStepsState toState() {
        RunStepsState.Builder state = RunStepsState.newBuilder().setLossCount(lossCount).setRecords(records)
                .setGradNorms(gradNorms.toState())
                .setLoop(LoopState.newBuilder().setLevel(loop.level()).setSinceAction(loop.sinceAction())
                        .setHealthyStreak(loop.healthyStreak()).setLossCeiling(loop.lossCeiling())
                        .setLayer(loop.layer()).setResolved(loop.resolved()))
                .setRecordsSinceBest(recordsSinceBest);
        if (!Double.isNaN(bestMeanLoss)) {
            state.setBestMeanLoss(bestMeanLoss);
        }
        for (double loss : losses) {
            state.addLosses(loss);
        }
        return state.build();
    }

    public static RunSteps fromState(RunStepsState state) {
        double[] losses = new double[state.getLossesCount()];
        for (int i = 0; i < losses.length; i++) {
            losses[i] = state.getLosses(i);
        }
        RunSteps steps = new RunSteps(Baseline.fromState(state.getGradNorms()), losses);
        steps.lossCount = state.getLossCount();
        steps.records = state.getRecords();
        steps.bestMeanLoss = state.hasBestMeanLoss() ? state.getBestMeanLoss() : Double.NaN;
        steps.recordsSinceBest = state.getRecordsSinceBest();
        LoopState loop = state.getLoop();
        steps.loop = state.hasLoop() ? new Loop(loop.getLevel(), loop.getSinceAction(), loop.getHealthyStreak(),
                loop.getLossCeiling(), loop.getLayer(), loop.getResolved()) : Loop.IDLE;
        return steps;
    }

    /** A state as the pre-protobuf format held it (StateSerdes' version 0 decoder). */
    public static RunSteps restore(Baseline gradNorms, double[] losses, long lossCount, long records, Loop loop) {
        RunSteps steps = new RunSteps(gradNorms, losses);
        steps.lossCount = lossCount;
        steps.records = records;
        steps.loop = loop;
        return steps;
    }

    private RunSteps(Baseline gradNorms, double[] losses) {
        this.losses = losses;
        this.gradNorms = gradNorms;
    }
}
