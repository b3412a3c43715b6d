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

    /** Per-thread scratch for the decoded values: a stream thread analyses one tensor at a time. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    public static TensorStats of(TensorView view) {
        int size = view.size();
        float[] values = SCRATCH.get();
        if (values.length < size) {
            values = new float[size];
            SCRATCH.set(values);
        }
        view.copyTo(values, 0);
        // Fast path without a branch per value: any NaN or infinity makes the sums non-finite,
        // and only then is the tensor read again value by value.
        double squares0 = 0;
        double squares1 = 0;
        double abs0 = 0;
        double abs1 = 0;
        float maxAbs = 0;
        int zeros = 0;
        int i = 0;
        for (; i + 1 < size; i += 2) {
            float a = Math.abs(values[i]);
            float b = Math.abs(values[i + 1]);
            squares0 += (double) a * a;
            squares1 += (double) b * b;
            abs0 += a;
            abs1 += b;
            maxAbs = Math.max(maxAbs, Math.max(a, b));
            zeros += (a == 0f ? 1 : 0) + (b == 0f ? 1 : 0);
        }
        for (; i < size; i++) {
            float a = Math.abs(values[i]);
            squares0 += (double) a * a;
            abs0 += a;
            maxAbs = Math.max(maxAbs, a);
            zeros += a == 0f ? 1 : 0;
        }
        double sumSquares = squares0 + squares1;
        double sumAbs = abs0 + abs1;
        if (!Double.isFinite(sumSquares) || !Double.isFinite(sumAbs)) {
            return withNonFinite(values, size);
        }
        return new TensorStats(Math.sqrt(sumSquares), maxAbs, size == 0 ? 0 : sumAbs / size, zeros, 0, size);
    }

    private static TensorStats withNonFinite(float[] values, int size) {
        double sumSquares = 0;
        double sumAbs = 0;
        double maxAbs = 0;
        long zeros = 0;
        long nonFinite = 0;
        for (int i = 0; i < size; i++) {
            float value = values[i];
            if (!Float.isFinite(value)) {
                nonFinite++;
                continue;
            }
            double abs = Math.abs(value);
            sumSquares += abs * abs;
            sumAbs += abs;
            maxAbs = Math.max(maxAbs, abs);
            if (value == 0f) {
                zeros++;
            }
        }
        long finite = size - nonFinite;
        return new TensorStats(Math.sqrt(sumSquares), maxAbs, finite == 0 ? 0 : sumAbs / finite, zeros, nonFinite,
                size);
    }
}
