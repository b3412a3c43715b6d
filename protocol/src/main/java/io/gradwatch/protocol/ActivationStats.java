package io.gradwatch.protocol;

import io.gradwatch.protocol.v1.ActivationFunction;
import java.util.BitSet;

/**
 * The unit statistics of one activation tensor h_t [rows, columns]: which units (columns) were
 * non-zero for some row, and how many values sat within a margin of the activation's bounds. The
 * one reduction of activations, applied by the monitor to ACTIVATION TensorRecords and by
 * producers of GradientSummary records at the source, so dead-ReLU and saturation fractions stay
 * exact when only the summary travels.
 *
 * @param saturated values within the margin of a bound (tanh: -1 and 1, sigmoid: 0 and 1; the same
 *                  bounds are applied to every activation, only tanh and sigmoid layers report it)
 * @param nonFinite NaN or infinite values
 * @param values values reduced
 */
public record ActivationStats(long saturated, long nonFinite, long values) {

    /** The monitor's default saturation margin, and the one producers of summaries use unless told. */
    public static final double DEFAULT_SATURATION_MARGIN = 0.01;

    /** Reduces a view; sets the bit of every column that holds a non-zero value in {@code everNonZero}. */
    public static ActivationStats of(TensorView view, ActivationFunction activation, double margin,
                                     BitSet everNonZero) {
        float[] values = TensorStats.scratch(view.size());
        view.copyTo(values, 0);
        return of(values, 0, view.rows(), view.columns(), activation, margin, everNonZero);
    }

    /** Reduces {@code values[offset ..]} read as [rows, columns] row-major. */
    public static ActivationStats of(float[] values, int offset, int rows, int columns,
                                     ActivationFunction activation, double margin, BitSet everNonZero) {
        double low = lowBound(activation, margin);
        double high = 1 - margin;
        long saturated = 0;
        long nonFinite = 0;
        for (int r = 0; r < rows; r++) {
            int row = offset + r * columns;
            for (int c = 0; c < columns; c++) {
                float value = values[row + c];
                if (value != 0f) {
                    everNonZero.set(c);
                }
                if (value <= low || value >= high) {
                    saturated++;
                }
                if (!Float.isFinite(value)) {
                    nonFinite++;
                }
            }
        }
        return new ActivationStats(saturated, nonFinite, (long) rows * columns);
    }

    /** tanh saturates at -1 and 1, sigmoid at 0 and 1: "within margin of a bound". */
    private static double lowBound(ActivationFunction activation, double margin) {
        return activation == ActivationFunction.SIGMOID ? margin : -1 + margin;
    }
}
