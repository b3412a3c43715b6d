package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.TensorView;

/**
 * Statistics of one tensor, read in one pass straight from its bytes. Norms and means are over
 * the finite values; NaN and infinities are counted apart.
 *
 * @param norm Frobenius norm of the finite values
 * @param maxAbs largest absolute finite value
 * @param meanAbs mean absolute finite value
 * @param zeros values exactly 0
 * @param nonFinite NaN or infinite values
 */
public record TensorStats(double norm, double maxAbs, double meanAbs, long zeros, long nonFinite, int count) {

    public static TensorStats of(TensorView view) {
        double sumSquares = 0;
        double sumAbs = 0;
        double maxAbs = 0;
        long zeros = 0;
        long nonFinite = 0;
        int size = view.size();
        for (int i = 0; i < size; i++) {
            float value = view.get(i);
            if (!Float.isFinite(value)) {
                nonFinite++;
                continue;
            }
            double abs = Math.abs(value);
            sumSquares += abs * abs;
            sumAbs += abs;
            if (abs > maxAbs) {
                maxAbs = abs;
            }
            if (value == 0f) {
                zeros++;
            }
        }
        long finite = size - nonFinite;
        return new TensorStats(Math.sqrt(sumSquares), maxAbs, finite == 0 ? 0 : sumAbs / finite, zeros, nonFinite,
                size);
    }
}
