package io.gradwatch.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Float16Test {

    @ParameterizedTest(name = "half 0x{0} = {1}")
    @CsvSource({
        "0000, 0.0",
        "8000, -0.0",
        "3c00, 1.0",
        "bc00, -1.0",
        "4000, 2.0",
        "3555, 0.333251953125",
        "3800, 0.5",
        "7bff, 65504.0",            // largest normal
        "0400, 6.103515625E-5",     // smallest normal, 2^-14
        "03ff, 6.097555160522461E-5", // largest subnormal
        "0001, 5.960464477539063E-8", // smallest subnormal, 2^-24
        "8001, -5.960464477539063E-8",
        "7c00, Infinity",
        "fc00, -Infinity",
    })
    void decodesKnownHalfBitPatterns(String hex, double expected) {
        float value = Float16.halfToFloat(Integer.parseInt(hex, 16));
        assertThat(Float.floatToRawIntBits(value)).isEqualTo(Float.floatToRawIntBits((float) expected));
    }

    @Test
    void halfNaNDecodesToNaN() {
        assertThat(Float16.halfToFloat(0x7e00)).isNaN();
        assertThat(Float16.halfToFloat(0xfc01)).isNaN();
        assertThat(Float16.halfToFloat(0x7c01)).isNaN();
    }

    @Test
    void everyHalfRoundTripsThroughFloat() {
        for (int bits = 0; bits <= 0xffff; bits++) {
            float value = Float16.halfToFloat(bits);
            short back = Float16.floatToHalf(value);
            if (Float.isNaN(value)) {
                assertThat(Float16.halfToFloat(back)).isNaN();
            } else {
                assertThat(back & 0xffff).as("bits %04x", bits).isEqualTo(bits);
            }
        }
    }

    @ParameterizedTest(name = "{0} -> half 0x{1}")
    @CsvSource({
        "65520.0, 7c00",          // rounds up past the largest normal: Inf
        "65519.0, 7bff",
        "1.0E-8, 0000",           // below half the smallest subnormal: zero
        "3.0E-8, 0001",           // just above half of 2^-24: rounds up to the smallest subnormal
        "1.00048828125, 3c00",    // exactly halfway between 1 and the next half: ties to even (down)
        "1.00146484375, 3c02",    // halfway between 0x3c01 and 0x3c02: ties to even (up)
        "100000.0, 7c00",
        "-100000.0, fc00",
    })
    void encodesToHalfRoundingToNearestEven(float value, String hex) {
        assertThat(Float16.floatToHalf(value) & 0xffff).isEqualTo(Integer.parseInt(hex, 16));
    }

    @ParameterizedTest(name = "bf16 0x{0} = {1}")
    @CsvSource({
        "0000, 0.0",
        "8000, -0.0",
        "3f80, 1.0",
        "c000, -2.0",
        "7f7f, 3.3895313892515355E38",  // largest finite
        "0080, 1.1754943508222875E-38",  // smallest normal
        "0001, 9.183549615799121E-41",   // smallest subnormal
        "7f80, Infinity",
        "ff80, -Infinity",
    })
    void decodesKnownBfloat16BitPatterns(String hex, double expected) {
        float value = Float16.bfloat16ToFloat(Integer.parseInt(hex, 16));
        assertThat(Float.floatToRawIntBits(value)).isEqualTo(Float.floatToRawIntBits((float) expected));
    }

    @Test
    void bfloat16NaNStaysNaNAndRoundsToNearestEven() {
        assertThat(Float16.bfloat16ToFloat(0x7fc0)).isNaN();
        assertThat(Float16.bfloat16ToFloat(Float16.floatToBfloat16(Float.NaN))).isNaN();
        // 1 + 2^-8 is exactly halfway between bf16 1.0 (0x3f80) and 0x3f81: ties to even, down.
        assertThat(Float16.floatToBfloat16(1.00390625f) & 0xffff).isEqualTo(0x3f80);
        // 1 + 3 * 2^-8 is halfway between 0x3f81 and 0x3f82: ties to even, up.
        assertThat(Float16.floatToBfloat16(1.01171875f) & 0xffff).isEqualTo(0x3f82);
        assertThat(Float16.floatToBfloat16(Float.MAX_VALUE) & 0xffff).isEqualTo(0x7f80);
    }
}
