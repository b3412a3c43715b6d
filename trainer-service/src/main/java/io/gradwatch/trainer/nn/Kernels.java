package io.gradwatch.trainer.nn;

import java.util.Arrays;

/**
 * Dense kernels on flat row-major arrays with explicit offsets and outputs. The caller owns every
 * buffer; nothing here allocates. Loop order keeps the innermost loop on contiguous memory.
 */
public final class Kernels {
    /**
     * Whether the GEMM runs on the JDK Vector API ({@link VectorGemm}): the JVM was started with
     * {@code --add-modules jdk.incubator.vector} and {@code -Dgradwatch.scalarKernels=true} was not
     * given. Otherwise the scalar loops below run (same results up to rounding).
     */
    public static final boolean VECTORISED = !Boolean.getBoolean("gradwatch.scalarKernels")
            && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private Kernels() {
    }

    /** A one-line description of the GEMM path in use, for logs and benchmarks. */
    public static String describe() {
        return VECTORISED ? "Vector API, " + VectorGemm.lanes() + " doubles per vector" : "scalar";
    }

    /**
     * C[m x n] += A[m x k] B[k x n] with leading dimensions (row strides) lda, ldb, ldc: the one
     * GEMM the recurrent layers use (weights pre-transposed where needed, so B's rows are
     * contiguous). Every product is computed: 0 x Inf gives NaN, as in any BLAS.
     */
    public static void gemmAccumulate(double[] a, int aOff, int lda, double[] b, int bOff, int ldb, double[] c,
                                      int cOff, int ldc, int m, int n, int k) {
        gemmStrided(a, aOff, lda, 1, b, bOff, ldb, c, cOff, ldc, m, n, k);
    }

    /**
     * C[m x n] += A[k x m]^T B[k x n], A's rows lda apart: weight gradients dW += dZ^T X over k
     * rows, one pass over C.
     */
    public static void gemmTransAAccumulate(double[] a, int aOff, int lda, double[] b, int bOff, int ldb,
                                            double[] c, int cOff, int ldc, int m, int n, int k) {
        gemmStrided(a, aOff, 1, lda, b, bOff, ldb, c, cOff, ldc, m, n, k);
    }

    private static void gemmStrided(double[] a, int aOff, int ars, int acs, double[] b, int bOff, int ldb,
                                    double[] c, int cOff, int ldc, int m, int n, int k) {
        if (m == 0 || n == 0 || k == 0) {
            return;
        }
        if (VECTORISED) {
            VectorGemm.gemm(a, aOff, ars, acs, b, bOff, ldb, c, cOff, ldc, m, n, k);
        } else {
            for (int p0 = 0; p0 < k; p0 += SCALAR_KC) {
                scalarGemm(a, aOff + p0 * acs, ars, acs, b, bOff + p0 * ldb, ldb, c, cOff, ldc, m, n,
                        Math.min(SCALAR_KC, k - p0));
            }
        }
    }

    /** Rows of B per block on the scalar path, so the block stays in cache while the rows of C pass. */
    private static final int SCALAR_KC = 128;

    /**
     * The scalar path: C += A B with A(i, p) = a[aOff + i * ars + p * acs]; i-p-j order, four rows
     * of C per pass over a row of B (a quarter of the B traffic), the j loop contiguous
     * (auto-vectorised by C2).
     */
    static void scalarGemm(double[] a, int aOff, int ars, int acs, double[] b, int bOff, int ldb, double[] c,
                           int cOff, int ldc, int m, int n, int k) {
        int i = 0;
        for (; i + 3 < m; i += 4) {
            int a0 = aOff + i * ars;
            int c0 = cOff + i * ldc;
            for (int p = 0; p < k; p++) {
                int ap = a0 + p * acs;
                double x0 = a[ap];
                double x1 = a[ap + ars];
                double x2 = a[ap + 2 * ars];
                double x3 = a[ap + 3 * ars];
                int bRow = bOff + p * ldb;
                for (int j = 0; j < n; j++) {
                    double bv = b[bRow + j];
                    c[c0 + j] += x0 * bv;
                    c[c0 + ldc + j] += x1 * bv;
                    c[c0 + 2 * ldc + j] += x2 * bv;
                    c[c0 + 3 * ldc + j] += x3 * bv;
                }
            }
        }
        for (; i < m; i++) {
            int aRow = aOff + i * ars;
            int cRow = cOff + i * ldc;
            for (int p = 0; p < k; p++) {
                double av = a[aRow + p * acs];
                int bRow = bOff + p * ldb;
                for (int j = 0; j < n; j++) {
                    c[cRow + j] += av * b[bRow + j];
                }
            }
        }
    }

    /** a[off, off + len) = sigmoid(a[...]), as {@link Activation#sigmoid}. */
    public static void sigmoidInPlace(double[] a, int off, int len) {
        if (VECTORISED) {
            VectorMath.sigmoidInPlace(a, off, len);
        } else {
            for (int i = off; i < off + len; i++) {
                a[i] = Activation.sigmoid(a[i]);
            }
        }
    }

    /** out[outOff + i] = tanh(in[inOff + i]), i in [0, len), as {@link Activation#tanh}; may be in place. */
    public static void tanh(double[] in, int inOff, double[] out, int outOff, int len) {
        if (VECTORISED) {
            VectorMath.tanh(in, inOff, out, outOff, len);
        } else {
            for (int i = 0; i < len; i++) {
                out[outOff + i] = Activation.tanh(in[inOff + i]);
            }
        }
    }

    /** out[cols x rows] = in[rows x cols]^T (packing weights so a product's inner loop is contiguous). */
    public static void transpose(double[] in, int rows, int cols, double[] out) {
        // 8 x 8 blocks: both sides touch a few cache lines at a time.
        for (int r0 = 0; r0 < rows; r0 += 8) {
            int r1 = Math.min(rows, r0 + 8);
            for (int j0 = 0; j0 < cols; j0 += 8) {
                int j1 = Math.min(cols, j0 + 8);
                for (int j = j0; j < j1; j++) {
                    for (int r = r0; r < r1; r++) {
                        out[j * rows + r] = in[r * cols + j];
                    }
                }
            }
        }
    }

    /**
     * C[m x n] (+)= A[m x k] * B[n x k]^T: rows of A against rows of B, as x W^T in a linear layer.
     *
     * @param accumulate add to C instead of overwriting it
     */
    public static void gemmTransB(double[] a, int aOff, double[] b, int bOff, double[] c, int cOff, int m, int n,
                                  int k, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int aRow = aOff + i * k;
            int cRow = cOff + i * n;
            int j = 0;
            // Four rows of B at a time: four independent accumulators share each load of A.
            for (; j + 3 < n; j += 4) {
                int b0 = bOff + j * k;
                int b1 = b0 + k;
                int b2 = b1 + k;
                int b3 = b2 + k;
                double s0 = 0;
                double s1 = 0;
                double s2 = 0;
                double s3 = 0;
                for (int p = 0; p < k; p++) {
                    double av = a[aRow + p];
                    s0 += av * b[b0 + p];
                    s1 += av * b[b1 + p];
                    s2 += av * b[b2 + p];
                    s3 += av * b[b3 + p];
                }
                if (accumulate) {
                    c[cRow + j] += s0;
                    c[cRow + j + 1] += s1;
                    c[cRow + j + 2] += s2;
                    c[cRow + j + 3] += s3;
                } else {
                    c[cRow + j] = s0;
                    c[cRow + j + 1] = s1;
                    c[cRow + j + 2] = s2;
                    c[cRow + j + 3] = s3;
                }
            }
            for (; j < n; j++) {
                int bRow = bOff + j * k;
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    sum += a[aRow + p] * b[bRow + p];
                }
                c[cRow + j] = accumulate ? c[cRow + j] + sum : sum;
            }
        }
    }

    /** C[m x n] (+)= A[m x k] * B[k x n]: dX = dZ W. */
    public static void gemm(double[] a, int aOff, double[] b, int bOff, double[] c, int cOff, int m, int n, int k,
                            boolean accumulate) {
        if (!accumulate) {
            Arrays.fill(c, cOff, cOff + m * n, 0.0);
        }
        gemmAccumulate(a, aOff, k, b, bOff, n, c, cOff, n, m, n, k);
    }

    /** C[m x n] += A[k x m]^T * B[k x n]: weight gradients dW += dZ^T X over a batch of k rows. */
    public static void gemmTransAAccumulate(double[] a, int aOff, double[] b, int bOff, double[] c, int cOff, int m,
                                            int n, int k) {
        gemmTransAAccumulate(a, aOff, m, b, bOff, n, c, cOff, n, m, n, k);
    }

    /** out[r * n + j] += bias[j] for every row r. */
    public static void addBias(double[] out, int off, double[] bias, int rows, int n) {
        for (int r = 0; r < rows; r++) {
            int row = off + r * n;
            for (int j = 0; j < n; j++) {
                out[row + j] += bias[j];
            }
        }
    }

    /** grad[j] += sum over rows of d[r * n + j]: bias gradients. */
    public static void sumRowsInto(double[] d, int off, double[] grad, int rows, int n) {
        for (int r = 0; r < rows; r++) {
            int row = off + r * n;
            for (int j = 0; j < n; j++) {
                grad[j] += d[row + j];
            }
        }
    }
}
