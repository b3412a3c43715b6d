package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.ActivationStats;
import io.gradwatch.protocol.TensorStats;
import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.v1.ActivationSummary;
import io.gradwatch.protocol.v1.GradientSummary;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * What one timestep of one (run, step, layer) contributes to the analysis, whatever carried it (a
 * full tensor here; a source-side summary can build the same values). The one unit the monitor's
 * state is updated by: {@link StepState#apply} and {@code StepAccumulator#addTimestep}.
 */
public sealed interface TimestepStats {
    int timestep();

    TensorKind kind();

    /**
     * dL/dh_t of one timestep.
     *
     * @param norm Frobenius norm of the finite values, NaN when none was finite
     * @param hidden the tensor's width (columns)
     */
    record Gradient(int timestep, double norm, double maxAbs, double meanAbs, long nonFinite, int hidden)
            implements TimestepStats {
        @Override
        public TensorKind kind() {
            return TensorKind.HIDDEN_GRAD;
        }
    }

    /**
     * h_t of one timestep.
     *
     * @param aliveUnits units non-zero for some sample
     * @param saturated values within the saturation margin of a bound of the activation
     * @param values values seen
     */
    record Activation(int timestep, BitSet aliveUnits, long saturated, long values, long nonFinite, int hidden)
            implements TimestepStats {
        @Override
        public TensorKind kind() {
            return TensorKind.ACTIVATION;
        }
    }

    /** dL/dz_t: counted for non-finite values only; the signals are defined on dL/dh_t. */
    record PreactGradient(int timestep, long nonFinite) implements TimestepStats {
        @Override
        public TensorKind kind() {
            return TensorKind.PREACT_GRAD;
        }
    }

    /**
     * The statistics of one tensor record; null for a kind the monitor does not analyse.
     *
     * @param activation the step's activation function (its first record's), which sets the bounds
     */
    public static TimestepStats of(TensorRecord record, TensorView view, ActivationFunction activation,
                                   double saturationMargin) {
        int t = record.getTimestep();
        return switch (record.getKind()) {
            case HIDDEN_GRAD -> gradient(t, view);
            case ACTIVATION -> activation(t, view, activation, saturationMargin);
            case PREACT_GRAD -> new PreactGradient(t, TensorStats.of(view).nonFinite());
            default -> null;
        };
    }

    public static Gradient gradient(int t, TensorView view) {
        TensorStats stats = TensorStats.of(view);
        // Nothing finite to measure: the norms stay NaN (unknown), not 0, which would read as a
        // vanished gradient. The NaN/Inf values themselves raise NON_FINITE.
        boolean anyFinite = stats.nonFinite() < stats.count();
        return new Gradient(t, anyFinite ? stats.norm() : Double.NaN, anyFinite ? stats.maxAbs() : Double.NaN,
                anyFinite ? stats.meanAbs() : Double.NaN, stats.nonFinite(), view.columns());
    }

    /** h_t through the shared {@link ActivationStats} reduction (the one producers of summaries apply). */
    public static Activation activation(int t, TensorView view, ActivationFunction activation, double margin) {
        BitSet alive = new BitSet(view.columns());
        ActivationStats stats = ActivationStats.of(view, activation, margin, alive);
        return new Activation(t, alive, stats.saturated(), stats.values(), stats.nonFinite(), view.columns());
    }

    /**
     * The timesteps of a summary (validated by the serde), as its tensors would have given them: a
     * Gradient per timestep carrying that timestep's non-finite count (of every kind), and, with
     * activations, their totals on timestep 0 and empty Activation entries for the others (the
     * header sums them, so where they sit changes nothing).
     */
    static List<TimestepStats> of(GradientSummary summary) {
        int seqLen = summary.getSeqLen();
        List<TimestepStats> stats = new ArrayList<>(seqLen * 2);
        for (int t = 0; t < seqLen; t++) {
            stats.add(new Gradient(t, summary.getNorm(t), summary.getMaxAbs(t), summary.getMeanAbs(t),
                    summary.getNonFinite(t), summary.getUnits()));
        }
        if (summary.hasActivations()) {
            ActivationSummary activations = summary.getActivations();
            stats.add(new Activation(0, BitSet.valueOf(activations.getEverNonzero().asReadOnlyByteBuffer()),
                    activations.getSaturated(), activations.getValues(), 0, activations.getUnits()));
            for (int t = 1; t < seqLen; t++) {
                stats.add(new Activation(t, new BitSet(), 0, 0, 0, activations.getUnits()));
            }
        }
        return stats;
    }
}
