package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.StepRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The rules a StepRecord alone can decide, so a run that publishes nothing but StepRecords (the
 * cheap way a job starts: its loss and the norm {@code clip_grad_norm_} returns) is watched too.
 * Pure: the run's history and a step in, the flags out, and the step recorded into the history.
 * STALLED is not here: it is the absence of records, judged by the wall-clock punctuator.
 */
public final class StepRules {
    /** The layer of a step-level alert: the whole run. */
    public static final int RUN_LAYER = -1;
    private static final double ROUNDING = 1e-9;

    private StepRules() {
    }

    public static List<Flag> evaluate(StepRecord step, RunSteps history, Thresholds th, StepThresholds st, long nowMs) {
        List<Flag> flags = new ArrayList<>();
        double loss = step.getLoss();
        double norm = step.getGradNorm();
        if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
            flags.add(new Flag(AlertType.NON_FINITE, Double.isFinite(loss) ? norm : loss, 0, String.format(Locale.ROOT,
                    "loss %s, global gradient norm %s at step %d", loss, norm, step.getStep()), true));
        }
        Baseline baseline = history.gradNorms();
        double spikeAt = st.gradSpikeFactor() * baseline.mean();
        if (Double.isFinite(norm) && baseline.size() >= th.spikeMinHistory() && norm > spikeAt) {
            flags.add(new Flag(AlertType.EXPLODING, norm, spikeAt, String.format(Locale.ROOT,
                    "global gradient norm %.2e is %.0fx the run's recent mean %.2e", norm, norm / baseline.mean(),
                    baseline.mean()), th.severe(norm, spikeAt)));
        }
        // The spike is judged against the history before this step; the loss windows include it.
        history.record(step.getStep(), loss, norm, nowMs);
        Flag loss10 = lossNotDecreasing(history, loss, st);
        if (loss10 != null) {
            flags.add(loss10);
        }
        Flag ratio = updateRatio(step, st);
        if (ratio != null) {
            flags.add(ratio);
        }
        return flags;
    }

    /**
     * LOSS_NOT_DECREASING: for a whole window of step records, no window mean of the loss (the
     * last window's, this one included) has fallen at least diff_percent below the best window
     * mean so far. Means rather than single losses, because one mini-batch's loss is noisy; the
     * best so far rather than the window before (the patience of Keras' EarlyStopping and
     * PyTorch's ReduceLROnPlateau), because two adjacent windows of a plateau are each lower
     * than the other about half the time, and the alert flapped on every vanishing run.
     */
    static Flag lossNotDecreasing(RunSteps history, double loss, StepThresholds st) {
        double now = history.meanLoss(0);
        if (!Double.isFinite(loss) || Double.isNaN(now)) {
            return null;
        }
        double best = history.bestMeanLoss();
        double improvesBelow = best * (1 - st.lossDiffPercent() / 100);
        // Sliding means of a flat series differ in their last bits: that is no improvement.
        if (Double.isNaN(best) || now < improvesBelow - ROUNDING * Math.abs(best)) {
            history.bestMeanLoss(Double.isNaN(best) ? now : Math.min(best, now), 0);
            return null;
        }
        long since = history.recordsSinceBest() + 1;
        history.bestMeanLoss(Math.min(best, now), since);
        if (since < st.lossWindow()) {
            return null;
        }
        int window = st.lossWindow();
        return new Flag(AlertType.LOSS_NOT_DECREASING, now, improvesBelow, String.format(Locale.ROOT,
                "mean loss of the last %d steps %.4g: no window mean fell below %.4g (the best %.4g, -%.1f%% required)"
                        + " for %d step records", window, now, improvesBelow, best, st.lossDiffPercent(), since));
    }

    /**
     * UPDATE_RATIO: lr * ||grad_p|| / (||w_p|| + eps) per parameter, the size of an SGD update
     * against the weight it changes (SageMaker's WeightUpdateRatio). The worst parameter is
     * reported. Needs param_norms; for adaptive optimizers it is the gradient's share, not the
     * exact update (docs/signals.md).
     */
    static Flag updateRatio(StepRecord step, StepThresholds st) {
        double lr = step.getLearningRate();
        if (!(lr > 0) || step.getParamNormsCount() == 0) {
            return null;
        }
        String worstName = null;
        double worst = Double.NaN;
        double worstDistance = 0;
        for (Map.Entry<String, Double> entry : step.getParamNormsMap().entrySet()) {
            Double grad = step.getParamGradNormsMap().get(entry.getKey());
            if (grad == null || !Double.isFinite(grad) || !Double.isFinite(entry.getValue())) {
                continue;
            }
            double ratio = lr * grad / (entry.getValue() + st.updateRatioEpsilon());
            double distance = ratio > st.updateRatioMax() ? ratio / st.updateRatioMax()
                    : ratio < st.updateRatioMin() ? st.updateRatioMin() / Math.max(ratio, Double.MIN_VALUE) : 0;
            if (distance > worstDistance) {
                worstDistance = distance;
                worst = ratio;
                worstName = entry.getKey();
            }
        }
        if (worstName == null) {
            return null;
        }
        double bound = worst > st.updateRatioMax() ? st.updateRatioMax() : st.updateRatioMin();
        return new Flag(AlertType.UPDATE_RATIO, worst, bound, String.format(Locale.ROOT,
                "update ratio lr*||grad||/||w|| of %s = %.2e, outside [%.0e, %.0e]", worstName, worst,
                st.updateRatioMin(), st.updateRatioMax()));
    }
}
