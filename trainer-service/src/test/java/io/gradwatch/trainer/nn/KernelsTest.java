package io.gradwatch.trainer.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The kernels behave like a real GEMM on IEEE values: a zero times an infinity (or a NaN) is
 * NaN, so no entry may be skipped because it is zero; and they agree with a naive triple loop.
 */
class KernelsTest {
    private static final double INF = Double.POSITIVE_INFINITY;

    @Test
    void gemmDoesNotSkipZeroTimesInfinity() {
        // C[1 x 2] = A[1 x 2] * B[2 x 2], A = [0, 1], B = [[inf, 1], [1, 1]] -> C = [nan, 1].
        double[] a = {0.0, 1.0};
        double[] b = {INF, 1.0, 1.0, 1.0};
        double[] c = new double[2];
        Kernels.gemm(a, 0, b, 0, c, 0, 1, 2, 2, false);
        assertThat(c[0]).isNaN();
        assertThat(c[1]).isEqualTo(1.0);
    }

    @Test
    void gemmTransAAccumulateDoesNotSkipZeroTimesInfinity() {
        // C[2 x 1] += A[1 x 2]^T * B[1 x 1], A = [0, 2], B = [inf] -> C = [nan, inf].
        double[] a = {0.0, 2.0};
        double[] b = {INF};
        double[] c = new double[2];
        Kernels.gemmTransAAccumulate(a, 0, b, 0, c, 0, 2, 1, 1);
        assertThat(c[0]).isNaN();
        assertThat(c[1]).isEqualTo(INF);
    }

    @Test
    void gemmTransBDoesNotSkipZeroTimesNaN() {
        double[] a = {0.0, 0.0};
        double[] b = {Double.NaN, 0.0};
        double[] c = new double[1];
        Kernels.gemmTransB(a, 0, b, 0, c, 0, 1, 1, 2, false);
        assertThat(c[0]).isNaN();
    }

    /** Odd and even shapes, offsets, overwrite and accumulate, against a naive triple loop. */
    @Test
    void kernelsAgreeWithANaiveTripleLoop() {
        SplittableRandom rng = new SplittableRandom(5);
        int[] sizes = {1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64, 70};
        for (int trial = 0; trial < 300; trial++) {
            int m = sizes[rng.nextInt(sizes.length)];
            int n = sizes[rng.nextInt(sizes.length)];
            int k = sizes[rng.nextInt(sizes.length)];
            int aOff = rng.nextInt(4);
            int bOff = rng.nextInt(4);
            int cOff = rng.nextInt(4);
            boolean accumulate = rng.nextBoolean();
            String shape = "m=" + m + " n=" + n + " k=" + k + " accumulate=" + accumulate;

            // gemmTransB: C[m x n] (+)= A[m x k] B[n x k]^T
            double[] a = random(aOff + m * k, rng);
            double[] b = random(bOff + n * k, rng);
            double[] c = random(cOff + m * n, rng);
            double[] expected = c.clone();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        s += a[aOff + i * k + p] * b[bOff + j * k + p];
                    }
                    expected[cOff + i * n + j] = accumulate ? expected[cOff + i * n + j] + s : s;
                }
            }
            Kernels.gemmTransB(a, aOff, b, bOff, c, cOff, m, n, k, accumulate);
            assertClose("gemmTransB " + shape, c, expected, cOff);

            // gemm: C[m x n] (+)= A[m x k] B[k x n]
            b = random(bOff + k * n, rng);
            c = random(cOff + m * n, rng);
            expected = c.clone();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        s += a[aOff + i * k + p] * b[bOff + p * n + j];
                    }
                    expected[cOff + i * n + j] = accumulate ? expected[cOff + i * n + j] + s : s;
                }
            }
            Kernels.gemm(a, aOff, b, bOff, c, cOff, m, n, k, accumulate);
            assertClose("gemm " + shape, c, expected, cOff);

            // gemmTransAAccumulate: C[m x n] += A[k x m]^T B[k x n]
            a = random(aOff + k * m, rng);
            c = random(cOff + m * n, rng);
            expected = c.clone();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        s += a[aOff + p * m + i] * b[bOff + p * n + j];
                    }
                    expected[cOff + i * n + j] += s;
                }
            }
            Kernels.gemmTransAAccumulate(a, aOff, b, bOff, c, cOff, m, n, k);
            assertClose("gemmTransAAccumulate " + shape, c, expected, cOff);
        }
    }

    private static double[] random(int n, SplittableRandom rng) {
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = rng.nextDouble(-1, 1);
        }
        return values;
    }

    private static void assertClose(String what, double[] actual, double[] expected, int off) {
        for (int i = 0; i < off; i++) {
            assertThat(actual[i]).as("%s: untouched prefix [%d]", what, i).isEqualTo(expected[i]);
        }
        for (int i = off; i < actual.length; i++) {
            assertThat(Math.abs(actual[i] - expected[i])).as("%s [%d]", what, i)
                    .isLessThanOrEqualTo(1e-12 * (1 + Math.abs(expected[i])));
        }
    }
}
