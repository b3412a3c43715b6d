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

    /** Both GEMM paths, with leading dimensions, edges of every tile and k beyond one cache block. */
    @Test
    void bothGemmPathsAgreeWithANaiveLoop() {
        boolean vectorModule = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        SplittableRandom rng = new SplittableRandom(9);
        int[][] shapes = {{1, 1, 1}, {4, 32, 16}, {5, 33, 7}, {7, 41, 300}, {32, 128, 512}, {12, 64, 600},
                {3, 9, 257}, {8, 512, 128}};
        for (int[] shape : shapes) {
            int m = shape[0];
            int n = shape[1];
            int k = shape[2];
            int lda = k + rng.nextInt(3);
            int ldb = n + rng.nextInt(3);
            int ldc = n + rng.nextInt(3);
            double[] a = random(2 + m * lda, rng);
            double[] b = random(3 + k * ldb, rng);
            double[] c = random(1 + m * ldc, rng);
            double[] expected = c.clone();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        s += a[2 + i * lda + p] * b[3 + p * ldb + j];
                    }
                    expected[1 + i * ldc + j] += s;
                }
            }
            double[] scalar = c.clone();
            Kernels.scalarGemm(a, 2, lda, 1, b, 3, ldb, scalar, 1, ldc, m, n, k);
            assertClose("scalar m=" + m + " n=" + n + " k=" + k, scalar, expected, 1);
            if (vectorModule) {
                double[] vector = c.clone();
                VectorGemm.gemm(a, 2, lda, 1, b, 3, ldb, vector, 1, ldc, m, n, k);
                assertClose("vector m=" + m + " n=" + n + " k=" + k, vector, expected, 1);
            }
            // The same product with A stored transposed, [k x m] with row stride m + 1: the A^T B path.
            double[] at = random(2 + k * (m + 1), rng);
            for (int i = 0; i < m; i++) {
                for (int p = 0; p < k; p++) {
                    at[2 + p * (m + 1) + i] = a[2 + i * lda + p];
                }
            }
            double[] viaTranspose = c.clone();
            Kernels.gemmTransAAccumulate(at, 2, m + 1, b, 3, ldb, viaTranspose, 1, ldc, m, n, k);
            assertClose("A^T B m=" + m + " n=" + n + " k=" + k, viaTranspose, expected, 1);
            double[] scalarT = c.clone();
            Kernels.scalarGemm(at, 2, 1, m + 1, b, 3, ldb, scalarT, 1, ldc, m, n, k);
            assertClose("scalar A^T B m=" + m + " n=" + n + " k=" + k, scalarT, expected, 1);
        }
    }

    /** Surefire runs the nn tests twice: with the Vector API module and with -Dgradwatch.scalarKernels=true. */
    @Test
    void theExpectedGemmPathRuns() {
        boolean scalarRequested = Boolean.getBoolean("gradwatch.scalarKernels");
        boolean vectorModule = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        assertThat(Kernels.VECTORISED).as(Kernels.describe()).isEqualTo(vectorModule && !scalarRequested);
    }

    @Test
    void rangeActivationsAgreeWithTheScalarOnes() {
        SplittableRandom rng = new SplittableRandom(4);
        double[] x = new double[1003];
        for (int i = 0; i < x.length; i++) {
            x[i] = rng.nextDouble(-1, 1) * Math.pow(10, rng.nextInt(-6, 3));
        }
        x[5] = Double.NaN;
        x[6] = Double.POSITIVE_INFINITY;
        x[7] = Double.NEGATIVE_INFINITY;
        x[8] = -0.0;
        double[] tanh = new double[x.length];
        Kernels.tanh(x, 0, tanh, 0, x.length);
        double[] sigmoid = x.clone();
        Kernels.sigmoidInPlace(sigmoid, 0, x.length);
        for (int i = 0; i < x.length; i++) {
            double t = Activation.tanh(x[i]);
            double s = Activation.sigmoid(x[i]);
            if (Double.isNaN(t)) {
                assertThat(tanh[i]).isNaN();
                assertThat(sigmoid[i]).isNaN();
                continue;
            }
            assertThat(Math.abs(tanh[i] - t)).as("tanh(%s)", x[i]).isLessThanOrEqualTo(4e-16 * Math.abs(t));
            assertThat(Math.abs(sigmoid[i] - s)).as("sigmoid(%s)", x[i]).isLessThanOrEqualTo(4e-16 * s);
        }
        assertThat(1 / tanh[8]).isNegative();
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
