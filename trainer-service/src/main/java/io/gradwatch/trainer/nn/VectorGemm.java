package io.gradwatch.trainer.nn;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * C[m x n] += A[m x k] B[k x n] (or A^T B, A given by row and column strides) on the JDK Vector
 * API (incubating in Java 17). Register-blocked: a 4-row by 4-vector tile of C (16 accumulators of
 * {@code SPECIES_PREFERRED}, 8 doubles each with AVX-512) stays in registers while p runs over a
 * cache block of {@link #KC} rows of B; each step broadcasts 4 entries of A and loads 4 vectors of
 * B for 16 fused multiply-adds. For A^T B (weight gradients, A's rows contiguous in i) the tile is
 * 8 rows by 2 vectors, so the 8 broadcasts come from one cache line. Blocks of {@link #MC} rows of
 * A keep A's block in L2 while B's column panels pass. Edges: 4 x 1-vector and 1-row tiles, then
 * scalar columns.
 *
 * <p>Only loaded by {@link Kernels} when the {@code jdk.incubator.vector} module is present
 * ({@code --add-modules jdk.incubator.vector}); otherwise the scalar path runs.
 */
final class VectorGemm {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Rows of B per cache block: a 4-vector panel of B is KC x 4L doubles (64 KiB with AVX-512). */
    static final int KC = 256;
    /** Rows of A (of C) per block, a multiple of 8. */
    static final int MC = 128;

    private VectorGemm() {
    }

    static int lanes() {
        return L;
    }

    /** A(i, p) = a[aOff + i * ars + p * acs]: (ars, acs) = (lda, 1) for A, (1, lda) for a transposed A. */
    static void gemm(double[] a, int aOff, int ars, int acs, double[] b, int bOff, int ldb, double[] c, int cOff,
                     int ldc, int m, int n, int k) {
        for (int p0 = 0; p0 < k; p0 += KC) {
            int p1 = Math.min(k, p0 + KC);
            // MC rows of A at a time: their KC-column block stays in L2 while every column panel of B passes.
            for (int i0 = 0; i0 < m; i0 += MC) {
                panel(a, aOff + i0 * ars, ars, acs, b, bOff, ldb, c, cOff + i0 * ldc, ldc, Math.min(MC, m - i0), n,
                        p0, p1);
            }
        }
    }

    private static void panel(double[] a, int aOff, int ars, int acs, double[] b, int bOff, int ldb, double[] c,
                              int cOff, int ldc, int m, int n, int p0, int p1) {
        // A^T B (weight gradients): 8 consecutive rows of C share one cache line of A per p.
        int m8 = ars == 1 ? m - m % 8 : 0;
        int n2 = n - n % (2 * L);
        if (m8 > 0 && n2 > 0) {
            for (int j = 0; j < n2; j += 2 * L) {
                for (int i = 0; i < m8; i += 8) {
                    tile8x2(a, aOff + i, acs, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, p0, p1);
                }
            }
            block(a, aOff + m8 * ars, ars, acs, b, bOff, ldb, c, cOff + m8 * ldc, ldc, m - m8, n2, p0, p1);
            block(a, aOff, ars, acs, b, bOff + n2, ldb, c, cOff + n2, ldc, m, n - n2, p0, p1);
        } else {
            block(a, aOff, ars, acs, b, bOff, ldb, c, cOff, ldc, m, n, p0, p1);
        }
    }

    /** C[m x n] += A B over p in [p0, p1): 4 x 4-vector tiles, then the edges. */
    private static void block(double[] a, int aOff, int ars, int acs, double[] b, int bOff, int ldb, double[] c,
                              int cOff, int ldc, int m, int n, int p0, int p1) {
        if (m == 0 || n == 0) {
            return;
        }
        int n4 = n - n % (4 * L);
        int n1 = n - n % L;
        int m4 = m - m % 4;
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

    /** 8 rows (A's row stride 1, the transposed case) by 2 vectors: 16 accumulators. */
    private static void tile8x2(double[] a, int a0, int acs, double[] b, int bj, int ldb, double[] c, int c0,
                                int ldc, int p0, int p1) {
        DoubleVector c00 = DoubleVector.fromArray(S, c, c0);
        DoubleVector c01 = DoubleVector.fromArray(S, c, c0 + L);
        DoubleVector c10 = DoubleVector.fromArray(S, c, c0 + ldc);
        DoubleVector c11 = DoubleVector.fromArray(S, c, c0 + ldc + L);
        DoubleVector c20 = DoubleVector.fromArray(S, c, c0 + 2 * ldc);
        DoubleVector c21 = DoubleVector.fromArray(S, c, c0 + 2 * ldc + L);
        DoubleVector c30 = DoubleVector.fromArray(S, c, c0 + 3 * ldc);
        DoubleVector c31 = DoubleVector.fromArray(S, c, c0 + 3 * ldc + L);
        DoubleVector c40 = DoubleVector.fromArray(S, c, c0 + 4 * ldc);
        DoubleVector c41 = DoubleVector.fromArray(S, c, c0 + 4 * ldc + L);
        DoubleVector c50 = DoubleVector.fromArray(S, c, c0 + 5 * ldc);
        DoubleVector c51 = DoubleVector.fromArray(S, c, c0 + 5 * ldc + L);
        DoubleVector c60 = DoubleVector.fromArray(S, c, c0 + 6 * ldc);
        DoubleVector c61 = DoubleVector.fromArray(S, c, c0 + 6 * ldc + L);
        DoubleVector c70 = DoubleVector.fromArray(S, c, c0 + 7 * ldc);
        DoubleVector c71 = DoubleVector.fromArray(S, c, c0 + 7 * ldc + L);
        for (int p = p0; p < p1; p++) {
            int bp = bj + p * ldb;
            int ap = a0 + p * acs;
            DoubleVector b0 = DoubleVector.fromArray(S, b, bp);
            DoubleVector b1 = DoubleVector.fromArray(S, b, bp + L);
            DoubleVector x = DoubleVector.broadcast(S, a[ap]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = DoubleVector.broadcast(S, a[ap + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = DoubleVector.broadcast(S, a[ap + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = DoubleVector.broadcast(S, a[ap + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = DoubleVector.broadcast(S, a[ap + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = DoubleVector.broadcast(S, a[ap + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = DoubleVector.broadcast(S, a[ap + 6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = DoubleVector.broadcast(S, a[ap + 7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
        }
        c00.intoArray(c, c0);
        c01.intoArray(c, c0 + L);
        c10.intoArray(c, c0 + ldc);
        c11.intoArray(c, c0 + ldc + L);
        c20.intoArray(c, c0 + 2 * ldc);
        c21.intoArray(c, c0 + 2 * ldc + L);
        c30.intoArray(c, c0 + 3 * ldc);
        c31.intoArray(c, c0 + 3 * ldc + L);
        c40.intoArray(c, c0 + 4 * ldc);
        c41.intoArray(c, c0 + 4 * ldc + L);
        c50.intoArray(c, c0 + 5 * ldc);
        c51.intoArray(c, c0 + 5 * ldc + L);
        c60.intoArray(c, c0 + 6 * ldc);
        c61.intoArray(c, c0 + 6 * ldc + L);
        c70.intoArray(c, c0 + 7 * ldc);
        c71.intoArray(c, c0 + 7 * ldc + L);
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
