package io.gradwatch.protocol;

/**
 * Statistics of one tensor, read in one pass. Norms and means are over the finite values; NaN and
 * infinities are counted apart. The one reduction of a gradient tensor: the monitor applies it to
 * each TensorRecord, and producers of {@code GradientSummary} records (the trainer, the Python
 * client's {@code gradwatch.summaries}, tested on the same fixtures) apply it at the source, so a
 * step gives the same LayerHealth either way. The summation order is part of the contract (two
 * running sums, even and odd indices, each in index order): it makes the results bit-exact
 * across producers.
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
        float[] values = scratch(view.size());
        view.copyTo(values, 0);
        return of(values, 0, view.size());
    }

    /** A per-thread buffer of at least {@code size} floats, for decoding one tensor at a time. */
    static float[] scratch(int size) {
        float[] values = SCRATCH.get();
        if (values.length < size) {
            values = new float[size];
            SCRATCH.set(values);
        }
        return values;
    }

    /** The statistics of {@code values[offset .. offset + size)}. */
    public static TensorStats of(float[] values, int offset, int size) {
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
            float a = Math.abs(values[offset + i]);
            float b = Math.abs(values[offset + i + 1]);
            squares0 += (double) a * a;
            squares1 += (double) b * b;
            abs0 += a;
            abs1 += b;
            maxAbs = Math.max(maxAbs, Math.max(a, b));
            zeros += (a == 0f ? 1 : 0) + (b == 0f ? 1 : 0);
        }
        for (; i < size; i++) {
            float a = Math.abs(values[offset + i]);
            squares0 += (double) a * a;
            abs0 += a;
            maxAbs = Math.max(maxAbs, a);
            zeros += a == 0f ? 1 : 0;
        }
        double sumSquares = squares0 + squares1;
        double sumAbs = abs0 + abs1;
        if (!Double.isFinite(sumSquares) || !Double.isFinite(sumAbs)) {
            return withNonFinite(values, offset, size);
        }
        return new TensorStats(Math.sqrt(sumSquares), maxAbs, size == 0 ? 0 : sumAbs / size, zeros, 0, size);
    }

    private static TensorStats withNonFinite(float[] values, int offset, int size) {
        double sumSquares = 0;
        double sumAbs = 0;
        double maxAbs = 0;
        long zeros = 0;
        long nonFinite = 0;
        for (int i = 0; i < size; i++) {
            float value = values[offset + i];
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
