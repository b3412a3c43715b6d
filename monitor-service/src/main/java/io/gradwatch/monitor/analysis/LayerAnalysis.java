package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.LayerHealth;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Turns what arrived of one (run, step, layer) into its health and flags. Pure: the caller
 * passes the run's baseline and records the result into it afterwards.
 */
public final class LayerAnalysis {
    private LayerAnalysis() {
    }

    /** The analysis of one step: the record to publish and the flags it raised. */
    public record Result(LayerHealth health, List<Flag> flags) {
        public double maxNorm() {
            double max = Double.NaN;
            for (double norm : health.getTimestepNormsList()) {
                if (Double.isFinite(norm) && !(norm <= max)) {
                    max = norm;
                }
            }
            return max;
        }
    }

    public static Result analyze(String runId, long step, int layer, StepState state, boolean complete,
                                 Thresholds thresholds, Baseline baseline) {
        double[] norms = state.norms();
        int seqLen = state.seqLen();
        double first = norms[0];
        double last = norms[seqLen - 1];
        double decay = first / last;
        LayerHealth.Builder health = LayerHealth.newBuilder()
                .setRunId(runId).setStep(step).setLayer(layer).setSeqLen(seqLen)
                .setCell(state.cell()).setActivation(state.activation())
                .setDecayRatio(decay)
                .setHorizon(horizon(norms))
                .setNonFiniteCount(state.nonFinite())
                .setComplete(complete)
                .setTimestepsReceived(state.gradientTimesteps())
                .setEventTimeMs(state.eventTimeMs());
        for (int t = 0; t < seqLen; t++) {
            health.addTimestepNorms(norms[t]).addTimestepMaxAbs(state.maxAbs()[t]).addTimestepMeanAbs(state.meanAbs()[t]);
        }
        double dead = isReluFamily(state.activation()) ? state.deadFraction() : Double.NaN;
        double saturation = saturates(state.activation()) ? state.saturationFraction() : Double.NaN;
        if (!Double.isNaN(dead)) {
            health.setDeadFraction(dead);
        }
        if (!Double.isNaN(saturation)) {
            health.setSaturationFraction(saturation);
        }
        List<Flag> flags = flags(norms, decay, seqLen, dead, saturation, state.nonFinite(), thresholds, baseline);
        flags.forEach(flag -> health.addFlags(flag.type()));
        return new Result(health.build(), flags);
    }

    /**
     * How many timesteps back the network can still learn from, read from the recurrence and not
     * from the head: a least-squares line through log g_t over t = 0..T-2 (the timestep nearest
     * the loss is left out, since there the direct gradient of the output head adds to what the
     * recurrence carries: a PyTorch LSTM's profile 1.0, 0.146, 0.022 ... 0.002 is head-dominated),
     * and the horizon is the number of timesteps over which the fitted gradient falls 100x,
     * ln(100) / slope, capped at T-1 (a flat or growing fit reaches the whole sequence, and no
     * sequence has more to give). Timesteps with a zero or non-finite norm are left out of the fit;
     * with fewer than two left it falls back to the head-relative definition.
     */
    public static int horizon(double[] norms) {
        int last = norms.length - 1;
        int n = 0;
        double sumT = 0;
        double sumY = 0;
        double sumTT = 0;
        double sumTY = 0;
        for (int t = 0; t < last; t++) {
            double g = norms[t];
            if (g > 0 && Double.isFinite(g)) {
                double y = Math.log(g);
                n++;
                sumT += t;
                sumY += y;
                sumTT += (double) t * t;
                sumTY += t * y;
            }
        }
        if (n < 2) {
            return headHorizon(norms);
        }
        double slope = (n * sumTY - sumT * sumY) / (n * sumTT - sumT * sumT);
        if (!(slope > 0)) {
            return last;
        }
        double steps = Math.log(100) / slope;
        return (int) Math.min(last, Math.floor(steps));
    }

    /** The largest k with g_{T-1-k} >= 0.01 g_{T-1} (the horizon of the first releases, kept for short sequences). */
    static int headHorizon(double[] norms) {
        int last = norms.length - 1;
        double reference = norms[last];
        if (!(reference > 0) || Double.isInfinite(reference)) {
            return 0;
        }
        int horizon = 0;
        for (int k = 0; k <= last; k++) {
            if (norms[last - k] >= 0.01 * reference) {
                horizon = k;
            }
        }
        return horizon;
    }

    private static List<Flag> flags(double[] norms, double decay, int seqLen, double dead, double saturation,
                                    long nonFinite, Thresholds th, Baseline baseline) {
        List<Flag> flags = new ArrayList<>();
        if (nonFinite > 0) {
            flags.add(new Flag(AlertType.NON_FINITE, nonFinite, 0, nonFinite + " NaN/Inf values"));
        }
        double max = Double.NaN;
        boolean allBelowFloor = true;
        int present = 0;
        for (double norm : norms) {
            if (Double.isNaN(norm)) {
                continue;
            }
            present++;
            max = Double.isNaN(max) ? norm : Math.max(max, norm);
            allBelowFloor &= norm < th.vanishingNormFloor();
        }
        if (present == 0) {
            return flags;
        }
        double floor = th.decayFloor(seqLen);
        double ceiling = th.growthCeiling(seqLen);
        if (seqLen > 1 && decay < floor) {
            flags.add(new Flag(AlertType.VANISHING, decay, floor, String.format(Locale.ROOT,
                    "decay ratio g_0/g_T-1 = %.2e < %.2e (%.2f per timestep over %d)", decay, floor,
                    Math.pow(decay, 1.0 / (seqLen - 1)), seqLen - 1)));
        } else if (allBelowFloor) {
            flags.add(new Flag(AlertType.VANISHING, max, th.vanishingNormFloor(), "every gradient norm below "
                    + th.vanishingNormFloor()));
        }
        Flag exploding = exploding(max, decay, seqLen, ceiling, th, baseline);
        if (exploding != null) {
            flags.add(exploding);
        }
        if (dead >= th.deadReluFraction()) {
            flags.add(new Flag(AlertType.DEAD_RELU, dead, th.deadReluFraction(), String.format(Locale.ROOT,
                    "%.0f%% of units dead", 100 * dead)));
        }
        if (saturation >= th.saturationFraction()) {
            flags.add(new Flag(AlertType.SATURATED, saturation, th.saturationFraction(), String.format(Locale.ROOT,
                    "%.0f%% of activations saturated", 100 * saturation)));
        }
        return flags;
    }

    /**
     * The EXPLODING flag of a step, if any: the first of norm ceiling, growth ceiling and spike
     * that holds, or the first that holds severely (>= severe factor x its threshold), so the
     * alert machine can page it at once.
     */
    private static Flag exploding(double max, double decay, int seqLen, double ceiling, Thresholds th,
                                  Baseline baseline) {
        List<Flag> raised = new ArrayList<>(3);
        if (max > th.explodingNormCeiling()) {
            raised.add(new Flag(AlertType.EXPLODING, max, th.explodingNormCeiling(), String.format(Locale.ROOT,
                    "gradient norm %.2e > %.2e", max, th.explodingNormCeiling()),
                    th.severe(max, th.explodingNormCeiling())));
        }
        if (seqLen > 1 && decay > ceiling) {
            raised.add(new Flag(AlertType.EXPLODING, decay, ceiling, String.format(Locale.ROOT,
                    "growth ratio g_0/g_T-1 = %.2e > %.2e", decay, ceiling), th.severe(decay, ceiling)));
        }
        double spikeAt = th.spikeFactor() * baseline.mean();
        if (baseline.size() >= th.spikeMinHistory() && max > spikeAt) {
            raised.add(new Flag(AlertType.EXPLODING, max, spikeAt, String.format(Locale.ROOT,
                    "gradient norm %.2e is %.0fx the run's recent mean %.2e", max, max / baseline.mean(),
                    baseline.mean()), th.severe(max, spikeAt)));
        }
        return raised.stream().filter(Flag::severe).findFirst().orElse(raised.isEmpty() ? null : raised.get(0));
    }

    static boolean isReluFamily(ActivationFunction activation) {
        return activation == ActivationFunction.RELU || activation == ActivationFunction.LEAKY_RELU
                || activation == ActivationFunction.ELU;
    }

    static boolean saturates(ActivationFunction activation) {
        return activation == ActivationFunction.TANH || activation == ActivationFunction.SIGMOID;
    }
}
