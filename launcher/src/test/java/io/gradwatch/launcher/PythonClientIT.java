package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.LayerHealth;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PyTorch jobs watched end to end: the local stack as {@code ./gradwatch up} starts it (a real
 * broker, monitor-service and alert-service, each its own process) and
 * examples/pytorch/long_dependency.py run by Debian's /usr/bin/python3 with the checkout's client.
 * A tanh RNN raises VANISHING; an LSTM with its forget gate biased to 1 stays healthy; a NaN fed at
 * step 5 raises NON_FINITE at step 5, and the monitor's closed loop (the run opted in with
 * {@code closed_loop=True}) sends a stop that reaches the script's on_stop callback after its
 * checkpoint hook. And examples/pytorch/exploding_rnn.py, an Adam warm-up that blows a leaky-ReLU
 * IRNN up (StepRecords only): the step-level EXPLODING fires on its global-norm spike, the
 * scale_learning_rate it brings (an Adam run: a clip would not shrink its steps) reaches the script
 * and is applied under its warm-up schedule, the explosion resolves and the run ends its 150 steps
 * with a finite loss, where without the loop its gradient norm is Inf at step 90
 * (test_exploding_example.py).
 */
class PythonClientIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final String PYTHON = "/usr/bin/python3";
    private static final int NAN_STEP = 5;
    private static final int STEPS = 8;
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void pytorchRunsRaiseVanishingStayHealthyAndObeyTheClosedLoopsStopOnNonFinite(@TempDir Path dir) throws Exception {
        if (!Files.isExecutable(Path.of(PYTHON))) {
            fail(PYTHON + " is not installed: install Debian's python3-torch, python3-protobuf and "
                    + "python3-confluent-kafka (./gradwatch test does)");
        }
        StackLayout layout = new StackLayout(ROOT, dir.resolve("stack"), TestPorts.freePortBase(36000));
        try (LocalStack stack = LocalStack.start(layout, message -> { });
             KafkaConsumer<String, byte[]> consumer = consumer(layout.bootstrapServers())) {
            consumer.subscribe(List.of(Topics.HEALTH, Topics.ALERTS));
            Path sideBySide = dir.resolve("side-by-side.json");
            Path closedLoop = dir.resolve("closed-loop.json");
            Process pair = python(dir, layout, "side-by-side", "--cells", "rnn,lstm", "--run-prefix", "py-e2e",
                    "--steps", Integer.toString(STEPS), "--probe-every", "1", "--steps-per-second", "0",
                    "--result", sideBySide.toString());
            // Paced, so the stop has steps left to arrive in; it ends the run long before --steps.
            Process nan = python(dir, layout, "closed-loop", "--cells", "lstm", "--run-prefix", "py-e2e-nan",
                    "--steps", "1200", "--probe-every", "1", "--steps-per-second", "20",
                    "--inject-nan-at", Integer.toString(NAN_STEP), "--closed-loop", "--result", closedLoop.toString());
            try {
                List<LayerHealth> health = new ArrayList<>();
                List<AlertEvent> alerts = new ArrayList<>();
                awaitRecords(consumer, health, alerts, () -> log(dir, "side-by-side") + "\n" + log(dir, "closed-loop"), () ->
                        find(alerts, "py-e2e-rnn", AlertType.VANISHING, AlertState.FIRING) != null
                        && health.stream().filter(h -> h.getRunId().equals("py-e2e-lstm")).count() >= STEPS
                        && find(alerts, "py-e2e-nan-lstm", AlertType.NON_FINITE, AlertState.ACTION_TAKEN) != null);

                AlertEvent vanishing = find(alerts, "py-e2e-rnn", AlertType.VANISHING, AlertState.FIRING);
                assertThat(vanishing.getLayer()).isZero();
                assertThat(vanishing.getStep()).as("fires on the third flagged step (fire-after 3)").isEqualTo(2);
                assertThat(health).filteredOn(h -> h.getRunId().equals("py-e2e-lstm")).hasSize(STEPS)
                        .allSatisfy(h -> {
                            assertThat(h.getComplete()).isTrue();
                            assertThat(h.getFlagsList()).as("LSTM step %d: decay ratio %s", h.getStep(),
                                    h.getDecayRatio()).isEmpty();
                        });
                assertThat(alerts).as("no alert for the healthy LSTM").noneMatch(a -> a.getRunId().equals("py-e2e-lstm"));

                AlertEvent nonFinite = find(alerts, "py-e2e-nan-lstm", AlertType.NON_FINITE, AlertState.FIRING);
                assertThat(nonFinite).isNotNull();
                assertThat(nonFinite.getStep()).as("NON_FINITE at the step the NaN went in").isEqualTo(NAN_STEP);
                assertThat(health).filteredOn(h -> h.getRunId().equals("py-e2e-nan-lstm") && h.getStep() < NAN_STEP)
                        .as("steps before the NaN").allSatisfy(h -> assertThat(h.getNonFiniteCount()).isZero());
                AlertEvent action = find(alerts, "py-e2e-nan-lstm", AlertType.NON_FINITE, AlertState.ACTION_TAKEN);
                assertThat(action.getAction().hasStop()).as("the closed loop's action: %s", action).isTrue();

                assertThat(nan.waitFor(60, TimeUnit.SECONDS)).as("the stopped script exits").isTrue();
                assertThat(nan.exitValue()).as(log(dir, "closed-loop")).isZero();
                JsonNode stopped = json.readTree(closedLoop.toFile()).get(0);
                assertThat(stopped.path("stop").path("command_id").asText()).as(log(dir, "closed-loop"))
                        .isEqualTo(action.getAction().getCommandId());
                assertThat(stopped.path("stop").path("after_checkpoint").asBoolean()).as("checkpoint hook first").isTrue();
                assertThat(stopped.path("stop").path("at_step").asInt()).isGreaterThan(NAN_STEP);
                assertThat(stopped.path("steps").asInt()).as("stopped long before its 1,200 steps").isLessThan(1200);

                assertThat(pair.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(pair.exitValue()).as(log(dir, "side-by-side")).isZero();
                for (JsonNode run : json.readTree(sideBySide.toFile())) {
                    assertThat(run.path("steps").asInt()).isEqualTo(STEPS);
                    assertThat(run.path("stop").isNull()).isTrue();
                }
            } finally {
                pair.destroyForcibly();
                nan.destroyForcibly();
            }
        }
    }

    @Test
    void theClosedLoopLowersTheLearningRateOfAnExplodingAdamWarmUpAndTheRunRecovers(@TempDir Path dir)
            throws Exception {
        if (!Files.isExecutable(Path.of(PYTHON))) {
            fail(PYTHON + " is not installed: install Debian's python3-torch, python3-protobuf and "
                    + "python3-confluent-kafka (./gradwatch test does)");
        }
        StackLayout layout = new StackLayout(ROOT, dir.resolve("stack"), TestPorts.freePortBase(37000));
        try (LocalStack stack = LocalStack.start(layout, message -> { });
             KafkaConsumer<String, byte[]> consumer = consumer(layout.bootstrapServers())) {
            consumer.subscribe(List.of(Topics.ALERTS));
            Path result = dir.resolve("warmup.json");
            String run = "py-e2e-warmup";
            Process script = pythonScript(dir, layout, "exploding_rnn.py", "warmup", "--run-id", run,
                    "--result", result.toString());
            try {
                List<AlertEvent> alerts = new ArrayList<>();
                // Done when the script has ended and every command it applied has been read as an action.
                awaitRecords(consumer, new ArrayList<>(), alerts, () -> log(dir, "warmup"), () ->
                        !script.isAlive() && Files.exists(result)
                        && actionIds(alerts, run).containsAll(appliedIds(result)));
                // What the monitor did and what the script saw, in the test's report.
                alerts.stream().filter(a -> a.getRunId().equals(run)).forEach(a -> System.out.println(
                        a.getType() + " " + a.getState() + " at step " + a.getStep() + ": " + a.getMessage()));
                System.out.println(log(dir, "warmup"));
                assertThat(script.exitValue()).as(log(dir, "warmup")).isZero();
                JsonNode outcome = json.readTree(result.toFile());

                AlertEvent exploding = find(alerts, run, AlertType.EXPLODING, AlertState.FIRING);
                assertThat(exploding).as("EXPLODING fired; alerts: %s", alerts).isNotNull();
                assertThat(exploding.getLayer()).as("the step-level rule (StepRecords only)").isEqualTo(-1);
                AlertEvent action = find(alerts, run, AlertType.EXPLODING, AlertState.ACTION_TAKEN);
                assertThat(action).as("the closed loop acted; alerts: %s", alerts).isNotNull();
                assertThat(action.getAction().getScaleLearningRate().getFactor()).as("Adam's first rung: %s", action)
                        .isEqualTo(0.1);
                assertThat(find(alerts, run, AlertType.EXPLODING, AlertState.RESOLVED)).as("the explosion resolved; "
                        + "alerts: %s", alerts).isNotNull();
                assertThat(find(alerts, run, AlertType.NON_FINITE, AlertState.FIRING)).as("no NaN/Inf").isNull();

                JsonNode commands = outcome.path("commands");
                assertThat(commands.size()).as(log(dir, "warmup")).isPositive();
                assertThat(commands.get(0).path("ids").get(0).asText()).as("the command reached the script")
                        .isEqualTo(action.getAction().getCommandId());
                assertThat(commands.get(0).path("learning_rate_scale").asDouble()).as("and was applied")
                        .isEqualTo(0.1);
                assertThat(commands.get(0).path("step").asLong()).isGreaterThan(exploding.getStep());
                assertThat(outcome.path("stop").isNull()).as("not stopped: %s", outcome.path("stop")).isTrue();
                assertThat(outcome.path("finite").asBoolean()).as(log(dir, "warmup")).isTrue();
                assertThat(outcome.path("final_loss").isNumber()).isTrue();
                assertThat(outcome.path("final_loss").asDouble()).as("a finite loss at the end").isFinite();
                assertThat(outcome.path("steps").asInt()).as("every step ran").isEqualTo(150);
            } finally {
                script.destroyForcibly();
            }
        }
    }

    private static List<String> actionIds(List<AlertEvent> alerts, String run) {
        return alerts.stream().filter(a -> a.getRunId().equals(run) && a.getState() == AlertState.ACTION_TAKEN)
                .map(a -> a.getAction().getCommandId()).toList();
    }

    private List<String> appliedIds(Path result) {
        try {
            List<String> ids = new ArrayList<>();
            json.readTree(result.toFile()).path("commands").forEach(c -> c.path("ids").forEach(id -> ids.add(id.asText())));
            return ids;
        } catch (IOException e) {
            return List.of("(result not readable yet)");
        }
    }

    private static Process python(Path dir, StackLayout layout, String name, String... args) throws IOException {
        return pythonScript(dir, layout, "long_dependency.py", name, args);
    }

    private static Process pythonScript(Path dir, StackLayout layout, String script, String name, String... args)
            throws IOException {
        List<String> command = new ArrayList<>(List.of(PYTHON, ROOT.resolve("examples/pytorch").resolve(script).toString(),
                "--bootstrap-servers", layout.bootstrapServers()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile());
        builder.environment().merge("PYTHONPATH", ROOT.resolve("clients/python").toString(),
                (inherited, client) -> client + File.pathSeparator + inherited);
        return builder.start();
    }

    private static String log(Path dir, String name) {
        try {
            return name + " output:\n" + Files.readString(dir.resolve(name + ".log"));
        } catch (IOException e) {
            return name + ": no output";
        }
    }

    private static KafkaConsumer<String, byte[]> consumer(String bootstrap) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "python-client-it");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        return new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** Reads health and alerts until {@code done} holds; fails after 90 s with what arrived and the scripts' output. */
    private static void awaitRecords(KafkaConsumer<String, byte[]> consumer, List<LayerHealth> health,
                                     List<AlertEvent> alerts, java.util.function.Supplier<String> context,
                                     BooleanSupplier done) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not all expected records within 90 s; alerts: " + alerts.stream()
                        .map(a -> a.getRunId() + " " + a.getType() + " " + a.getState() + " at " + a.getStep()).toList()
                        + "; health records per run: " + health.stream()
                        .collect(java.util.stream.Collectors.groupingBy(LayerHealth::getRunId,
                                java.util.stream.Collectors.counting())) + "\n" + context.get());
            }
            for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                if (record.topic().equals(Topics.HEALTH)) {
                    health.add(LayerHealth.parseFrom(record.value()));
                } else {
                    alerts.add(AlertEvent.parseFrom(record.value()));
                }
            }
        }
    }

    private static AlertEvent find(List<AlertEvent> alerts, String run, AlertType type, AlertState state) {
        return alerts.stream().filter(a -> a.getRunId().equals(run) && a.getType() == type && a.getState() == state)
                .findFirst().orElse(null);
    }
}
