package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.BitSet;

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

    public static Activation activation(int t, TensorView view, ActivationFunction activation, double margin) {
        int columns = view.columns();
        int rows = view.rows();
        // tanh saturates at -1 and 1, sigmoid at 0 and 1: "within margin of a bound".
        double low = activation == ActivationFunction.SIGMOID ? margin : -1 + margin;
        double high = 1 - margin;
        BitSet alive = new BitSet(columns);
        long saturated = 0;
        long nonFinite = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < columns; c++) {
                float value = view.get(r * columns + c);
                if (value != 0f) {
                    alive.set(c);
                }
                if (value <= low || value >= high) {
                    saturated++;
                }
                if (!Float.isFinite(value)) {
                    nonFinite++;
                }
            }
        }
        return new Activation(t, alive, saturated, (long) rows * columns, nonFinite, columns);
    }
}
