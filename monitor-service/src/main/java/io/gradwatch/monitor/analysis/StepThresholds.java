package io.gradwatch.monitor.analysis;

import java.time.Duration;

/**
 * The step-level rules read from StepRecords, and the closed loop's ladder. Defaults and their
 * reasons are in docs/signals.md (SageMaker Debugger's defaults where it has the rule).
 *
 * @param lossWindow LOSS_NOT_DECREASING averages the loss over this many step records and flags
 *                   when for this many records no such mean improved on the best one so far
 *                   (SageMaker's num_steps, 10)
 * @param lossDiffPercent ... where improving means falling at least this percentage below it (diff_percent, 0)
 * @param stalledAfter STALLED when a known run sent nothing for this long (StalledTrainingRule: 1,800 s)
 * @param updateRatioMax UPDATE_RATIO when lr * ||grad_p|| / ||w_p|| of a parameter is above this (10)
 * @param updateRatioMin ... or below this (1e-8)
 * @param updateRatioEpsilon added to ||w_p|| so a zero parameter does not divide by zero (1e-9)
 * @param gradSpikeFactor EXPLODING (layer -1) when the global gradient norm exceeds this many times
 *                        the run's rolling mean of it
 * @param escalateAfter the closed loop escalates when an action has not made the run healthy within
 *                      this many step records (clip, then scale the learning rate, then stop)
 * @param learningRateFactor the factor of the closed loop's scale_learning_rate
 */
public record StepThresholds(int lossWindow, double lossDiffPercent, Duration stalledAfter, double updateRatioMax,
                             double updateRatioMin, double updateRatioEpsilon, double gradSpikeFactor,
                             int escalateAfter, double learningRateFactor) {

    public static final StepThresholds DEFAULTS = new StepThresholds(10, 0, Duration.ofSeconds(1800), 10, 1e-8, 1e-9,
            10, 10, 0.1);

    public StepThresholds {
        if (lossWindow < 1 || escalateAfter < 1) {
            throw new IllegalArgumentException("the loss window and escalate-after must be >= 1");
        }
        if (!(updateRatioMin < updateRatioMax)) {
            throw new IllegalArgumentException("the update ratio band must have min < max");
        }
        if (!(learningRateFactor > 0 && learningRateFactor < 1)) {
            throw new IllegalArgumentException("the closed loop's learning-rate factor must be in (0, 1)");
        }
    }
}
