package io.gradwatch.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Scenario 6: what the Python client costs a PyTorch job. Runs bench/src/main/python/pytorch_overhead.py
 * with Debian's /usr/bin/python3 and the checkout's clients/python against the scenario's broker,
 * and reads the JSON object it prints last (the script's docstring defines every figure).
 */
final class PyTorchOverhead {
    static final String PYTHON = "/usr/bin/python3";

    /** The script's figures; times in ms, shares as fractions. */
    record Result(String model, int stepsPerMode, int probeEvery, double unprobedStepMillis, double watchedStepMillis,
                  double overhead, double probedStepMillis, double publishMillisPerProbedStep,
                  double publishShareOfStep, double recordsPerStep, double bytesPerStep, double recordsPerProbedStep,
                  double bytesPerProbedStep, double droppedRecords, double unprobedCpuMillis,
                  double watchedCpuMillis, double overheadCpu) {
        static Result of(JsonNode json) {
            return new Result(json.path("model").asText(), json.path("steps_per_mode").asInt(),
                    json.path("probe_every").asInt(), json.path("unprobed_step_ms").asDouble(),
                    json.path("watched_step_ms").asDouble(), json.path("overhead").asDouble(),
                    json.path("probed_step_ms").asDouble(), json.path("publish_ms_per_probed_step").asDouble(),
                    json.path("publish_share_of_step").asDouble(), json.path("records_per_step").asDouble(),
                    json.path("bytes_per_step").asDouble(), json.path("records_per_probed_step").asDouble(),
                    json.path("bytes_per_probed_step").asDouble(), json.path("dropped_records").asDouble(0),
                    json.path("unprobed_cpu_ms").asDouble(), json.path("watched_cpu_ms").asDouble(),
                    json.path("overhead_cpu").asDouble());
        }
    }

    private PyTorchOverhead() {
    }

    static Result run(Path home, Path dataDir, String bootstrap, int steps, int rounds, int probeEvery,
                      Consumer<String> progress)
            throws IOException, InterruptedException {
        if (!Files.isExecutable(Path.of(PYTHON))) {
            throw new IllegalStateException(PYTHON + " is not installed: the PyTorch scenario needs Debian's python3, "
                    + "python3-torch, python3-protobuf and python3-confluent-kafka (or run with --only without PYTORCH)");
        }
        progress.accept("PyTorch client: LSTM H 128 T 100 B 32, " + rounds + " rounds of a probed step and " + steps
                + " watched and unprobed steps each (probes every " + probeEvery + ")");
        Files.createDirectories(dataDir);
        Path log = dataDir.resolve("pytorch_overhead.log");
        List<String> command = new ArrayList<>(List.of(PYTHON,
                home.resolve("bench/src/main/python/pytorch_overhead.py").toString(), "--bootstrap-servers", bootstrap,
                "--steps", Integer.toString(steps), "--rounds", Integer.toString(rounds),
                "--probe-every", Integer.toString(probeEvery), "--warmup", steps < 5 ? "0" : "3"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().merge("PYTHONPATH", home.resolve("clients/python").toString(),
                (inherited, client) -> client + File.pathSeparator + inherited);
        Process process = builder.start();
        if (!process.waitFor(30, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IllegalStateException("pytorch_overhead.py did not finish within 30 minutes; see " + log);
        }
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        if (process.exitValue() != 0 || lines.isEmpty() || !lines.get(lines.size() - 1).startsWith("{")) {
            throw new IllegalStateException("pytorch_overhead.py failed (exit " + process.exitValue() + "); last lines of "
                    + log + ":\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size())));
        }
        return Result.of(new ObjectMapper().readTree(lines.get(lines.size() - 1)));
    }
}
