package io.gradwatch.trainer.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradwatch.trainer.checkpoint.Safetensors;
import io.gradwatch.trainer.tasks.Batch;
import io.gradwatch.trainer.tasks.Targets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Cross-language: the Python client's probe (clients/python, run by Debian's /usr/bin/python3
 * through src/test/python/probe_parity.py) and this trainer, given the same weights in a
 * safetensors file in PyTorch's layout and the same inputs, measure the same per-timestep norms
 * ||dL/dh_t|| of every layer to 1e-5 relative.
 */
class PythonProbeParityIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final String PYTHON = "/usr/bin/python3";

    @TempDir
    static Path out;

    @BeforeAll
    static void runThePythonProbe() throws Exception {
        if (!Files.isExecutable(Path.of(PYTHON))) {
            fail(PYTHON + " is not installed: install Debian's python3, python3-torch and python3-protobuf "
                    + "(./gradwatch test does)");
        }
        Path log = out.resolve("probe_parity.log");
        ProcessBuilder builder = new ProcessBuilder(PYTHON,
                ROOT.resolve("trainer-service/src/test/python/probe_parity.py").toString(), out.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        // The checkout's client first; an inherited PYTHONPATH stays behind it.
        builder.environment().merge("PYTHONPATH", ROOT.resolve("clients/python").toString(),
                (inherited, client) -> client + java.io.File.pathSeparator + inherited);
        Process process = builder.start();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("probe_parity.py did not finish within 120 s; output:\n" + Files.readString(log));
        }
        assertThat(process.exitValue()).as("probe_parity.py exit code; output:\n%s",
                Files.readString(log, StandardCharsets.UTF_8)).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"rnn_tanh", "rnn_relu", "lstm", "gru"})
    void pythonProbeAndTrainerMeasureTheSamePerTimestepNorms(String name) throws IOException {
        Safetensors.Contents file = Safetensors.read(out.resolve(name + ".safetensors"));
        Map<String, String> meta = file.metadata();
        int seqLen = Integer.parseInt(meta.get("seq_len"));
        int batchSize = Integer.parseInt(meta.get("batch"));
        int inputSize = Integer.parseInt(meta.get("input_size"));
        ModelConfig config = new ModelConfig(CellKind.valueOf(meta.get("cell")), Activation.valueOf(meta.get("activation")),
                inputSize, Integer.parseInt(meta.get("hidden")), Integer.parseInt(meta.get("layers")),
                Integer.parseInt(meta.get("classes")), Init.DEFAULT, 1.0);
        Network network = Network.create(config, new SplittableRandom(0));
        for (Parameter p : network.parameters()) {
            Safetensors.Tensor saved = file.tensors().get(p.name());
            assertThat(saved).as("the file has %s (PyTorch's state_dict name)", p.name()).isNotNull();
            assertThat(saved.shape()).as(p.name() + " shape").containsExactly(p.shape());
            System.arraycopy(saved.values(), 0, p.value(), 0, p.size());
        }
        double[] labelValues = file.tensors().get("input.labels").values();
        int[] labels = Arrays.stream(labelValues).mapToInt(v -> (int) v).toArray();
        Batch batch = new Batch(seqLen, batchSize, inputSize, file.tensors().get("input.x").values(),
                new Targets.Classes(labels, config.outputs(), false));

        network.forwardBackward(batch, Tbptt.full(seqLen));

        JsonNode python = new ObjectMapper().readTree(out.resolve(name + ".norms.json").toFile()).get("norms");
        assertThat(python).as("layers measured by the Python probe").hasSize(config.layers());
        for (LayerTrace trace : network.traces()) {
            double[] java = perTimestepNorms(trace);
            JsonNode expected = python.get(trace.layer());
            assertThat(expected).as("timesteps of layer " + trace.layer()).hasSize(seqLen);
            for (int t = 0; t < seqLen; t++) {
                double p = expected.get(t).asDouble();
                double tolerance = 1e-5 * Math.max(Math.abs(java[t]), Math.abs(p)) + 1e-300;
                assertThat(Math.abs(java[t] - p)).as("%s layer %d g_%d: trainer %s vs Python probe %s", name,
                        trace.layer(), t, java[t], p).isLessThanOrEqualTo(tolerance);
            }
            assertThat(java[seqLen - 1]).as("a real gradient reaches the last timestep").isPositive();
        }
    }

    /** g_t = ||dL/dh_t||, the Frobenius norm over the batch, as the monitor computes it. */
    private static double[] perTimestepNorms(LayerTrace trace) {
        int width = trace.batch() * trace.hidden();
        double[] norms = new double[trace.seqLen()];
        for (int t = 0; t < trace.seqLen(); t++) {
            double sum = 0;
            for (int i = t * width; i < (t + 1) * width; i++) {
                sum += trace.hiddenGrads()[i] * trace.hiddenGrads()[i];
            }
            norms[t] = Math.sqrt(sum);
        }
        return norms;
    }
}
