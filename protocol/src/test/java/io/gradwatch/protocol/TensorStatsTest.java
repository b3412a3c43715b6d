package io.gradwatch.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradwatch.protocol.v1.DType;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TensorStatsTest {

    @Test
    void normMaxMeanAndZerosOfAKnownTensor() {
        TensorStats stats = TensorStats.of(view(new float[] {3, -4, 0, 0, 12}, DType.F32));
        assertThat(stats.norm()).isEqualTo(13.0);
        assertThat(stats.maxAbs()).isEqualTo(12.0);
        assertThat(stats.meanAbs()).isEqualTo(19.0 / 5);
        assertThat(stats.zeros()).isEqualTo(2);
        assertThat(stats.nonFinite()).isZero();
    }

    @Test
    void nanAndInfinityAreCountedApartFromTheFiniteValues() {
        TensorStats stats = TensorStats.of(view(new float[] {Float.NaN, 3, Float.POSITIVE_INFINITY, -4,
            Float.NEGATIVE_INFINITY}, DType.F32));
        assertThat(stats.nonFinite()).isEqualTo(3);
        assertThat(stats.norm()).isEqualTo(5.0);
        assertThat(stats.maxAbs()).isEqualTo(4.0);
        assertThat(stats.meanAbs()).isEqualTo(3.5);
        assertThat(TensorStats.of(view(new float[] {Float.NaN, Float.NaN}, DType.F32)).meanAbs()).isZero();
    }

    @Test
    void agreesWithTheDefinitionOnRandomTensorsOfEveryDtype() {
        Random random = new Random(5);
        for (DType dtype : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            for (int size : new int[] {1, 2, 7, 4096}) {
                float[] values = new float[size];
                for (int i = 0; i < size; i++) {
                    values[i] = random.nextInt(10) == 0 ? 0f : (float) (random.nextGaussian() * 1e-3);
                }
                TensorView view = view(values, dtype);
                double squares = 0;
                double abs = 0;
                double max = 0;
                long zeros = 0;
                for (int i = 0; i < size; i++) {
                    double value = view.get(i);
                    squares += value * value;
                    abs += Math.abs(value);
                    max = Math.max(max, Math.abs(value));
                    zeros += value == 0 ? 1 : 0;
                }
                TensorStats stats = TensorStats.of(view);
                assertThat(stats.norm()).isCloseTo(Math.sqrt(squares), within(1e-12 + 1e-12 * Math.sqrt(squares)));
                assertThat(stats.meanAbs()).isCloseTo(abs / size, within(1e-15 + 1e-12 * abs / size));
                assertThat(stats.maxAbs()).isEqualTo(max);
                assertThat(stats.zeros()).isEqualTo(zeros);
                assertThat(stats.count()).isEqualTo(size);
            }
        }
    }

    private static TensorView view(float[] values, DType dtype) {
        return TensorView.of(TensorRecords.encode(values, 0, values.length, dtype), dtype, values.length, 1);
    }
}
