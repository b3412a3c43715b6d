package io.gradwatch.trainer.nn;

/**
 * Dense kernels on flat row-major arrays with explicit offsets and outputs. The caller owns every
 * buffer; nothing here allocates. Loop order keeps the innermost loop on contiguous memory.
 */
public final class Kernels {
    private Kernels() {
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

    /** C[m x n] (+)= A[m x k] * B[k x n], i-k-j order: dX = dZ W. */
    public static void gemm(double[] a, int aOff, double[] b, int bOff, double[] c, int cOff, int m, int n, int k,
                            boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int cRow = cOff + i * n;
            if (!accumulate) {
                java.util.Arrays.fill(c, cRow, cRow + n, 0.0);
            }
            for (int p = 0; p < k; p++) {
                double av = a[aOff + i * k + p];
                int bRow = bOff + p * n;
                for (int j = 0; j < n; j++) {
                    c[cRow + j] += av * b[bRow + j];
                }
            }
        }
    }

    /** C[m x n] += A[k x m]^T * B[k x n]: weight gradients dW += dZ^T X over a batch of k rows. */
    public static void gemmTransAAccumulate(double[] a, int aOff, double[] b, int bOff, double[] c, int cOff, int m,
                                            int n, int k) {
        for (int p = 0; p < k; p++) {
            int aRow = aOff + p * m;
            int bRow = bOff + p * n;
            for (int i = 0; i < m; i++) {
                double av = a[aRow + i];
                int cRow = cOff + i * n;
                for (int j = 0; j < n; j++) {
                    c[cRow + j] += av * b[bRow + j];
                }
            }
        }
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
