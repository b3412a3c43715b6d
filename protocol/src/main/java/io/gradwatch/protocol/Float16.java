package io.gradwatch.protocol;

/**
 * Conversions between binary32 and the two 16-bit float formats on the wire.
 *
 * <p>Java 17 has no {@code Float.float16ToFloat}, so IEEE 754 binary16 is decoded by hand.
 * bfloat16 is the upper half of a binary32, so it decodes with a shift. Encoding rounds to
 * nearest, ties to even, as PyTorch's {@code tensor.half()} and {@code tensor.bfloat16()} do.
 */
public final class Float16 {
    private Float16() {
    }

    /** Decodes IEEE 754 binary16 bits (in the low 16 bits of {@code bits}). */
    public static float halfToFloat(int bits) {
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) {
            // Inf or NaN: keep the payload so a NaN stays a NaN.
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            if (mantissa == 0) {
                return Float.intBitsToFloat(sign);
            }
            // Subnormal: value = mantissa * 2^-24, exact in binary32.
            float magnitude = mantissa * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /** Encodes to IEEE 754 binary16, round to nearest even; overflow gives Inf. */
    public static short floatToHalf(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exponent = (bits >>> 23) & 0xff;
        int mantissa = bits & 0x7fffff;
        if (exponent == 0xff) {
            int nanPayload = mantissa == 0 ? 0 : (0x200 | (mantissa >>> 13));
            return (short) (sign | 0x7c00 | nanPayload);
        }
        int halfExponent = exponent - 112;
        if (halfExponent >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (halfExponent <= 0) {
            if (halfExponent < -10) {
                return (short) sign;
            }
            // Subnormal half: shift the mantissa (with its implicit 1) into place, then round.
            int full = mantissa | 0x800000;
            int shift = 14 - halfExponent;
            int half = full >>> shift;
            int remainder = full & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (remainder > halfway || (remainder == halfway && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (halfExponent << 10) | (mantissa >>> 13);
        int remainder = mantissa & 0x1fff;
        if (remainder > 0x1000 || (remainder == 0x1000 && (half & 1) == 1)) {
            half++; // may carry into the exponent, up to Inf, which is the right result
        }
        return (short) (sign | half);
    }

    /** Decodes bfloat16 bits (in the low 16 bits of {@code bits}). */
    public static float bfloat16ToFloat(int bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Encodes to bfloat16, round to nearest even; NaN stays a (quiet) NaN. */
    public static short floatToBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int roundingBias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }
}
