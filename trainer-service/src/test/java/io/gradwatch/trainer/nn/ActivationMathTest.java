package io.gradwatch.trainer.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The exp-based tanh and sigmoid the LSTM and GRU use, against Math.tanh and the textbook sigmoid. */
class ActivationMathTest {
    @Test
    void tanhAgreesWithMathTanh() {
        SplittableRandom rng = new SplittableRandom(3);
        for (int i = 0; i < 200_000; i++) {
            double x = rng.nextDouble(-1, 1) * Math.pow(10, rng.nextInt(-12, 3));
            double expected = Math.tanh(x);
            assertThat(Math.abs(Activation.tanh(x) - expected)).as("tanh(%s)", x)
                    .isLessThanOrEqualTo(5e-15 * Math.abs(expected));
        }
        assertThat(Activation.tanh(0.0)).isEqualTo(0.0);
        assertThat(Activation.tanh(Double.POSITIVE_INFINITY)).isEqualTo(1.0);
        assertThat(Activation.tanh(Double.NEGATIVE_INFINITY)).isEqualTo(-1.0);
        assertThat(Activation.tanh(Double.NaN)).isNaN();
        assertThat(Activation.tanh(800)).isEqualTo(1.0);
    }

    @Test
    void sigmoidIsStableAndPropagatesNaN() {
        for (double z : new double[] {-800, -30, -1, 0, 1, 30, 800}) {
            assertThat(Activation.sigmoid(z)).isCloseTo(1 / (1 + Math.exp(-z)),
                    org.assertj.core.api.Assertions.within(1e-15));
        }
        assertThat(Activation.sigmoid(Double.NaN)).isNaN();
    }
}
