package io.gradwatch.trainer.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradwatch.trainer.tasks.Batch;
import io.gradwatch.trainer.tasks.Targets;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The lecture notes' worked examples, on the trainer's own deep MLP (one unit per layer, w as given, x = 1). */
class SeedExamplesTest {

    @Test
    void sigmoidChainOfThreeLayersShrinksTheGradientToAbout0_0138() {
        LayerTrace trace = chain(Activation.SIGMOID, 0.5);
        // Forward: a1 = sigma(0.5) = 0.62, a2 = sigma(0.31) = 0.58, a3 = sigma(0.29) = 0.57.
        assertThat(trace.activations()[0]).isCloseTo(0.62, within(0.005));
        assertThat(trace.activations()[1]).isCloseTo(0.58, within(0.005));
        assertThat(trace.activations()[2]).isCloseTo(0.57, within(0.005));
        // sigma'(z) = a (1 - a): 0.23, 0.24, 0.25 from the first layer to the third.
        double[] derivatives = new double[3];
        for (int k = 0; k < 3; k++) {
            derivatives[k] = trace.preactGrads()[k] / trace.hiddenGrads()[k];
        }
        assertThat(derivatives[0]).isCloseTo(0.23, within(0.006));
        assertThat(derivatives[1]).isCloseTo(0.24, within(0.005));
        assertThat(derivatives[2]).isCloseTo(0.25, within(0.006));
        double product = derivatives[0] * derivatives[1] * derivatives[2];
        // The notes round each factor first (0.25 x 0.24 x 0.23 = 0.0138); unrounded it is 0.01406.
        assertThat(product).isBetween(0.0138, 0.0141);
    }

    @Test
    void reluChainWithWeight3GrowsActivationsAndGradients() {
        LayerTrace trace = chain(Activation.RELU, 3.0);
        assertThat(Arrays.copyOf(trace.activations(), 3)).containsExactly(3.0, 9.0, 27.0);
        double last = trace.preactGrads()[2];
        // With dL/dz_3 = 1: dL/dz_2 = w * 1 = 3 and dL/dz_1 = w * 3 = 9.
        assertThat(trace.preactGrads()[1] / last).isCloseTo(3.0, within(1e-12));
        assertThat(trace.preactGrads()[0] / last).isCloseTo(9.0, within(1e-12));
    }

    private static LayerTrace chain(Activation activation, double weight) {
        MlpModel mlp = (MlpModel) Network.create(new ModelConfig(CellKind.MLP, activation, 1, 1, 3, 1, Init.DEFAULT,
                1.0), new SplittableRandom(1));
        for (int k = 0; k < 3; k++) {
            mlp.weights().get(k).value()[0] = weight;
            mlp.biases().get(k).value()[0] = 0;
        }
        Batch x = new Batch(1, 1, 1, new double[] {1.0}, new Targets.Values(new double[] {0.0}, 1, false));
        mlp.forwardBackward(x, Tbptt.full(1));
        return mlp.traces().get(0);
    }
}
