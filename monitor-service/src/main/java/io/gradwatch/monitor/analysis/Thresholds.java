package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.ActivationStats;

/**
 * When a step's signals raise a flag, and how flags become alerts. Defaults and their reasons are
 * in docs/signals.md.
 *
 * @param vanishingStepFactor VANISHING when the mean per-timestep factor (g_0 / g_{T-1})^(1/(T-1))
 *                            is below this, i.e. the decay ratio is below factor^(T-1)
 * @param vanishingNormFloor VANISHING when every g_t is below this
 * @param explodingStepFactor EXPLODING when the mean per-timestep factor is above this (growth)
 * @param explodingNormCeiling EXPLODING when any g_t is above this
 * @param spikeFactor EXPLODING when max_t g_t exceeds this many times the run's rolling baseline
 * @param spikeMinHistory steps of history a run needs before spikes are judged
 * @param baselineWindow steps in the rolling baseline
 * @param deadReluFraction DEAD_RELU when at least this share of units is dead
 * @param saturationFraction SATURATED when at least this share of activations is saturated
 * @param saturationMargin an activation is saturated within this distance of its bound (1%)
 * @param fireAfter consecutive flagged steps before an alert fires (NON_FINITE fires at once)
 * @param resolveAfter consecutive clear steps before a firing alert resolves
 * @param severeFactor a flag whose value is at least this many times past its threshold (norm,
 *                     growth or spike) is severe: its alert fires on that very step, no debounce
 */
public record Thresholds(double vanishingStepFactor, double vanishingNormFloor, double explodingStepFactor,
                         double explodingNormCeiling, double spikeFactor, int spikeMinHistory, int baselineWindow,
                         double deadReluFraction, double saturationFraction, double saturationMargin, int fireAfter,
                         int resolveAfter, double severeFactor) {

    public static final Thresholds DEFAULTS = new Thresholds(0.7, 1e-10, 1.0 / 0.7, 1e3, 10, 5, 20, 0.5, 0.5,
            ActivationStats.DEFAULT_SATURATION_MARGIN, 3, 5, 100);

    public Thresholds {
        if (!(vanishingStepFactor > 0 && vanishingStepFactor < 1) || !(explodingStepFactor > 1)) {
            throw new IllegalArgumentException("vanishing step factor must be in (0, 1) and exploding step factor > 1");
        }
        if (fireAfter < 1 || resolveAfter < 1 || baselineWindow < 1 || spikeMinHistory < 1) {
            throw new IllegalArgumentException("fire-after, resolve-after, baseline window and spike history must be >= 1");
        }
        if (!(severeFactor > 1)) {
            throw new IllegalArgumentException("the severe factor must be > 1");
        }
    }

    /** Whether {@code value} is so far past {@code threshold} (upwards) that it pages at once. */
    public boolean severe(double value, double threshold) {
        return value >= severeFactor * threshold;
    }

    /** The decay-ratio floor for a sequence of {@code seqLen} timesteps. */
    public double decayFloor(int seqLen) {
        return Math.pow(vanishingStepFactor, Math.max(1, seqLen - 1));
    }

    /** The growth-ratio ceiling for a sequence of {@code seqLen} timesteps. */
    public double growthCeiling(int seqLen) {
        return Math.pow(explodingStepFactor, Math.max(1, seqLen - 1));
    }
}
