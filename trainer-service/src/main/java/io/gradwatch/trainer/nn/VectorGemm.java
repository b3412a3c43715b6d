package io.gradwatch.trainer.nn;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * C[m x n] += A[m x k] B[k x n] (or A^T B, A given by row and column strides) on the JDK Vector API (incubating in Java 17), with leading
 * dimensions. Register-blocked: a 4-row by 4-vector tile of C (16 accumulators of
 * {@code SPECIES_PREFERRED}, 8 doubles each with AVX-512) stays in registers while p runs over a
 * cache block of {@link #KC} rows of B; each step broadcasts 4 entries of A and loads 4 vectors
 * of B for 16 fused multiply-adds. Edges: 4 x 1-vector and 1-row tiles, then scalar columns.
 *
 * <p>Only loaded by {@link Kernels} when the {@code jdk.incubator.vector} module is present
 * ({@code --add-modules jdk.incubator.vector}); otherwise the scalar path runs.
 */
final class VectorGemm {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Rows of B per cache block: a 4-vector panel of B is KC x 4L doubles (64 KiB with AVX-512). */
    static final int KC = 256;

    private VectorGemm() {
    }

    static int lanes() {
        return L;
    }

    /** A(i, p) = a[aOff + i * ars + p * acs]: (ars, acs) = (lda, 1) for A, (1, lda) for a transposed A. */
    static void gemm(double[] a, int aOff, int ars, int acs, double[] b, int bOff, int ldb, double[] c, int cOff,
                     int ldc, int m, int n, int k) {
        int n4 = n - n % (4 * L);
        int n1 = n - n % L;
        int m4 = m - m % 4;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int p1 = Math.min(k, p0 + KC);
            int j = 0;
            for (; j < n4; j += 4 * L) {
                int i = 0;
                for (; i < m4; i += 4) {
                    tile4x4(a, aOff + i * ars, ars, acs, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, p0, p1);
                }
                for (; i < m; i++) {
                    tile1x4(a, aOff + i * ars, acs, b, bOff + j, ldb, c, cOff + i * ldc + j, p0, p1);
                }
            }
            for (; j < n1; j += L) {
                int i = 0;
                for (; i < m4; i += 4) {
                    tile4x1(a, aOff + i * ars, ars, acs, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, p0, p1);
                }
                for (; i < m; i++) {
                    tile1x1(a, aOff + i * ars, acs, b, bOff + j, ldb, c, cOff + i * ldc + j, p0, p1);
                }
            }
            if (j < n) {
                Kernels.scalarGemm(a, aOff + p0 * acs, ars, acs, b, bOff + p0 * ldb + j, ldb, c, cOff + j, ldc, m,
                        n - j, p1 - p0);
            }
        }
    }

    private static void tile4x4(double[] a, int a0, int ars, int acs, double[] b, int bj, int ldb, double[] c,
                                int c0, int ldc, int p0, int p1) {
        int c1 = c0 + ldc;
        int c2 = c1 + ldc;
        int c3 = c2 + ldc;
        DoubleVector c00 = DoubleVector.fromArray(S, c, c0);
        DoubleVector c01 = DoubleVector.fromArray(S, c, c0 + L);
        DoubleVector c02 = DoubleVector.fromArray(S, c, c0 + 2 * L);
        DoubleVector c03 = DoubleVector.fromArray(S, c, c0 + 3 * L);
        DoubleVector c10 = DoubleVector.fromArray(S, c, c1);
        DoubleVector c11 = DoubleVector.fromArray(S, c, c1 + L);
        DoubleVector c12 = DoubleVector.fromArray(S, c, c1 + 2 * L);
        DoubleVector c13 = DoubleVector.fromArray(S, c, c1 + 3 * L);
        DoubleVector c20 = DoubleVector.fromArray(S, c, c2);
        DoubleVector c21 = DoubleVector.fromArray(S, c, c2 + L);
        DoubleVector c22 = DoubleVector.fromArray(S, c, c2 + 2 * L);
        DoubleVector c23 = DoubleVector.fromArray(S, c, c2 + 3 * L);
        DoubleVector c30 = DoubleVector.fromArray(S, c, c3);
        DoubleVector c31 = DoubleVector.fromArray(S, c, c3 + L);
        DoubleVector c32 = DoubleVector.fromArray(S, c, c3 + 2 * L);
        DoubleVector c33 = DoubleVector.fromArray(S, c, c3 + 3 * L);
        for (int p = p0; p < p1; p++) {
            int bp = bj + p * ldb;
            DoubleVector b0 = DoubleVector.fromArray(S, b, bp);
            DoubleVector b1 = DoubleVector.fromArray(S, b, bp + L);
            DoubleVector b2 = DoubleVector.fromArray(S, b, bp + 2 * L);
            DoubleVector b3 = DoubleVector.fromArray(S, b, bp + 3 * L);
            int ap = a0 + p * acs;
            DoubleVector x = DoubleVector.broadcast(S, a[ap]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            c02 = x.fma(b2, c02);
            c03 = x.fma(b3, c03);
            x = DoubleVector.broadcast(S, a[ap + ars]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            c12 = x.fma(b2, c12);
            c13 = x.fma(b3, c13);
            x = DoubleVector.broadcast(S, a[ap + 2 * ars]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            c22 = x.fma(b2, c22);
            c23 = x.fma(b3, c23);
            x = DoubleVector.broadcast(S, a[ap + 3 * ars]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            c32 = x.fma(b2, c32);
            c33 = x.fma(b3, c33);
        }
        c00.intoArray(c, c0);
        c01.intoArray(c, c0 + L);
        c02.intoArray(c, c0 + 2 * L);
        c03.intoArray(c, c0 + 3 * L);
        c10.intoArray(c, c1);
        c11.intoArray(c, c1 + L);
        c12.intoArray(c, c1 + 2 * L);
        c13.intoArray(c, c1 + 3 * L);
        c20.intoArray(c, c2);
        c21.intoArray(c, c2 + L);
        c22.intoArray(c, c2 + 2 * L);
        c23.intoArray(c, c2 + 3 * L);
        c30.intoArray(c, c3);
        c31.intoArray(c, c3 + L);
        c32.intoArray(c, c3 + 2 * L);
        c33.intoArray(c, c3 + 3 * L);
    }

    private static void tile1x4(double[] a, int a0, int acs, double[] b, int bj, int ldb, double[] c, int c0, int p0,
                                int p1) {
        DoubleVector c00 = DoubleVector.fromArray(S, c, c0);
        DoubleVector c01 = DoubleVector.fromArray(S, c, c0 + L);
        DoubleVector c02 = DoubleVector.fromArray(S, c, c0 + 2 * L);
        DoubleVector c03 = DoubleVector.fromArray(S, c, c0 + 3 * L);
        for (int p = p0; p < p1; p++) {
            int bp = bj + p * ldb;
            DoubleVector x = DoubleVector.broadcast(S, a[a0 + p * acs]);
            c00 = x.fma(DoubleVector.fromArray(S, b, bp), c00);
            c01 = x.fma(DoubleVector.fromArray(S, b, bp + L), c01);
            c02 = x.fma(DoubleVector.fromArray(S, b, bp + 2 * L), c02);
            c03 = x.fma(DoubleVector.fromArray(S, b, bp + 3 * L), c03);
        }
        c00.intoArray(c, c0);
        c01.intoArray(c, c0 + L);
        c02.intoArray(c, c0 + 2 * L);
        c03.intoArray(c, c0 + 3 * L);
    }

    private static void tile4x1(double[] a, int a0, int ars, int acs, double[] b, int bj, int ldb, double[] c,
                                int c0, int ldc, int p0, int p1) {
        DoubleVector c00 = DoubleVector.fromArray(S, c, c0);
        DoubleVector c10 = DoubleVector.fromArray(S, c, c0 + ldc);
        DoubleVector c20 = DoubleVector.fromArray(S, c, c0 + 2 * ldc);
        DoubleVector c30 = DoubleVector.fromArray(S, c, c0 + 3 * ldc);
        for (int p = p0; p < p1; p++) {
            DoubleVector b0 = DoubleVector.fromArray(S, b, bj + p * ldb);
            int ap = a0 + p * acs;
            c00 = DoubleVector.broadcast(S, a[ap]).fma(b0, c00);
            c10 = DoubleVector.broadcast(S, a[ap + ars]).fma(b0, c10);
            c20 = DoubleVector.broadcast(S, a[ap + 2 * ars]).fma(b0, c20);
            c30 = DoubleVector.broadcast(S, a[ap + 3 * ars]).fma(b0, c30);
        }
        c00.intoArray(c, c0);
        c10.intoArray(c, c0 + ldc);
        c20.intoArray(c, c0 + 2 * ldc);
        c30.intoArray(c, c0 + 3 * ldc);
    }

    private static void tile1x1(double[] a, int a0, int acs, double[] b, int bj, int ldb, double[] c, int c0, int p0,
                                int p1) {
        DoubleVector c00 = DoubleVector.fromArray(S, c, c0);
        for (int p = p0; p < p1; p++) {
            c00 = DoubleVector.broadcast(S, a[a0 + p * acs]).fma(DoubleVector.fromArray(S, b, bj + p * ldb), c00);
        }
        c00.intoArray(c, c0);
    }
}
