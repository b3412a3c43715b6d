package io.gradwatch.trainer.nn;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Activation#sigmoid} and {@link Activation#tanh} over array ranges on the JDK Vector API:
 * the same formulas, one vector exp (the JDK's SVML stub on x86) per element. Loaded only when
 * {@link Kernels#VECTORISED}.
 */
final class VectorMath {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorMath() {
    }

    /** a[off, off + len) = sigmoid(a[...]). */
    static void sigmoidInPlace(double[] a, int off, int len) {
        int i = 0;
        for (; i + L <= len; i += L) {
            DoubleVector z = DoubleVector.fromArray(S, a, off + i);
            DoubleVector e = z.abs().neg().lanewise(VectorOperators.EXP);
            DoubleVector r = e.add(1.0);
            DoubleVector positive = DoubleVector.broadcast(S, 1.0).div(r);
            DoubleVector negative = e.div(r);
            VectorMask<Double> nonNegative = z.compare(VectorOperators.GE, 0.0);
            negative.blend(positive, nonNegative).intoArray(a, off + i);
        }
        for (; i < len; i++) {
            a[off + i] = Activation.sigmoid(a[off + i]);
        }
    }

    /** out[outOff + i] = tanh(in[inOff + i]) for i in [0, len); in and out may be the same range. */
    static void tanh(double[] in, int inOff, double[] out, int outOff, int len) {
        int i = 0;
        for (; i + L <= len; i += L) {
            DoubleVector x = DoubleVector.fromArray(S, in, inOff + i);
            DoubleVector ax = x.abs();
            DoubleVector e = ax.mul(-2.0).lanewise(VectorOperators.EXP);
            DoubleVector big = e.neg().add(1.0).div(e.add(1.0));
            DoubleVector x2 = x.mul(x);
            // x (1 - x2 (1/3 - x2 (2/15 - x2 17/315))), as Activation.tanh below |x| = 0.02.
            DoubleVector small = x2.mul(-17.0 / 315).add(2.0 / 15).mul(x2).neg().add(1.0 / 3).mul(x2).neg().add(1.0)
                    .mul(x);
            DoubleVector signed = big.blend(big.neg(), x.compare(VectorOperators.LT, 0.0));
            VectorMask<Double> isSmall = ax.compare(VectorOperators.LT, 0.02);
            signed.blend(small, isSmall).intoArray(out, outOff + i);
        }
        for (; i < len; i++) {
            out[outOff + i] = Activation.tanh(in[inOff + i]);
        }
    }
}
