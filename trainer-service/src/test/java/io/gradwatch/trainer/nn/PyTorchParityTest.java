package io.gradwatch.trainer.nn;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradwatch.trainer.tasks.Batch;
import io.gradwatch.trainer.tasks.Targets;
import java.io.IOException;
import java.io.InputStream;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Same weights and inputs as PyTorch autograd (golden files written by
 * src/test/python/make_golden.py with Debian's python3-torch): loss, every parameter gradient and
 * every per-timestep dL/dh_t agree to 1e-5 relative.
 */
class PyTorchParityTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({"rnn_tanh, RNN, TANH", "rnn_relu, RNN, RELU", "lstm, LSTM, TANH", "gru, GRU, TANH"})
    void matchesPyTorchAutograd(String golden, CellKind cell, Activation activation) throws IOException {
        JsonNode g = read(golden);
        int seqLen = g.get("seq_len").asInt();
        int batchSize = g.get("batch").asInt();
        int inputSize = g.get("input_size").asInt();
        ModelConfig config = new ModelConfig(cell, activation, inputSize, g.get("hidden").asInt(),
                g.get("layers").asInt(), g.get("classes").asInt(), Init.DEFAULT, 1.0);
        Network network = Network.create(config, new SplittableRandom(0));
        for (Parameter p : network.parameters()) {
            JsonNode saved = g.get("params").get(p.name());
            assertThat(saved).as("golden file has " + p.name()).isNotNull();
            assertThat(doubles(saved.get("shape"))).containsExactly(java.util.Arrays.stream(p.shape())
                    .asDoubleStream().toArray());
            System.arraycopy(doubles(saved.get("values")), 0, p.value(), 0, p.size());
        }
        int[] labels = new int[batchSize];
        for (int i = 0; i < batchSize; i++) {
            labels[i] = g.get("labels").get(i).asInt();
        }
        Batch batch = new Batch(seqLen, batchSize, inputSize, doubles(g.get("inputs")),
                new Targets.Classes(labels, config.outputs(), false));

        StepResult result = network.forwardBackward(batch, Tbptt.full(seqLen));

        assertRelative("loss", result.loss(), g.get("loss").asDouble());
        for (Parameter p : network.parameters()) {
            double[] expected = doubles(g.get("grads").get(p.name()));
            for (int i = 0; i < expected.length; i++) {
                assertRelative(p.name() + "[" + i + "]", p.grad()[i], expected[i]);
            }
        }
        for (LayerTrace trace : network.traces()) {
            double[] expected = doubles(g.get("hidden_grads").get(trace.layer()));
            assertThat(expected).hasSize(seqLen * batchSize * trace.hidden());
            for (int i = 0; i < expected.length; i++) {
                assertRelative("dL/dh layer " + trace.layer() + " [" + i + "]", trace.hiddenGrads()[i], expected[i]);
            }
        }
    }

    private static void assertRelative(String what, double actual, double expected) {
        double tolerance = 1e-5 * Math.max(Math.abs(actual), Math.abs(expected)) + 1e-12;
        assertThat(Math.abs(actual - expected)).as("%s: %s vs PyTorch %s", what, actual, expected)
                .isLessThanOrEqualTo(tolerance);
    }

    private static JsonNode read(String name) throws IOException {
        try (InputStream in = PyTorchParityTest.class.getResourceAsStream("/golden/" + name + ".json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    private static double[] doubles(JsonNode array) {
        double[] values = new double[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asDouble();
        }
        return values;
    }
}
