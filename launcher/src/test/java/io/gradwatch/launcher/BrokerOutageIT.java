package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.testkit.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local stack's broker stops for 20 s in the middle of a run and comes back: the trainer keeps
 * training and says what it dropped, monitor-service and alert-service reconnect on their own, and
 * the run's alert transitions are neither lost nor repeated.
 */
class BrokerOutageIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final String RUN = "outage-rnn";
    private static final Duration OUTAGE = Duration.ofSeconds(20);
    private static final Pattern PROGRESS_STEP = Pattern.compile(RUN + " step (\\d+) ");

    @Test
    void aTwentySecondOutageLosesNoTransitionAndEverythingReconnects(@TempDir Path dir) throws Exception {
        StackLayout layout = new StackLayout(ROOT, dir, TestPorts.freePortBase(35000));
        try (LocalStack stack = LocalStack.start(layout, message -> { })) {
            ManagedProcess trainer = stack.startTrainer(RUN, List.of("--preset", "vanishing-rnn", "--steps", "100000",
                    "--max-steps-per-second", "10", "--bootstrap-servers", layout.bootstrapServers(),
                    "--progress-every", "1s"));
            long healthBefore;
            try (Results before = new Results(layout.bootstrapServers())) {
                Await.until("VANISHING fires before the outage", Duration.ofSeconds(120),
                        () -> before.poll().transitions.contains("VANISHING FIRING"));
                healthBefore = before.lastHealthStep;
            }

            stack.kafka().stop();
            long trainerStepAtStop = lastProgressStep(trainer.log());
            keepTheBrokerDown(OUTAGE);
            assertThat(trainer.isAlive()).as("trainer survives the outage").isTrue();
            assertThat(lastProgressStep(trainer.log())).as("trainer kept training while the broker was down")
                    .isGreaterThan(trainerStepAtStop + 50);
            stack.kafka().restart();
            long restartedAt = System.nanoTime();

            long trainerStepAtRestart = lastProgressStep(trainer.log());
            try (Results after = new Results(layout.bootstrapServers())) {
                Await.until("health of steps after the outage", Duration.ofSeconds(120),
                        () -> after.poll().lastHealthStep > trainerStepAtRestart);
                double healthResumedSeconds = (System.nanoTime() - restartedAt) / 1e9;
                Await.until("monitor-service ready again", Duration.ofSeconds(60), () -> ready(layout.monitorPort()));
                Await.until("alert-service shows steps after the outage", Duration.ofSeconds(60),
                        () -> exposedStep(layout.alertsPort()) > trainerStepAtRestart);
                assertThat(after.lastHealthStep).isGreaterThan(healthBefore);
                assertThat(after.droppedRecords).as("the trainer reports what it could not deliver").isPositive();
                assertThat(Files.readString(trainer.log())).contains("dropped");
                assertThat(after.transitions).as("the run's alert transitions, read_committed")
                        .filteredOn(t -> t.startsWith("VANISHING ")).containsExactly("VANISHING FIRING");
                assertNeitherLostNorRepeated(after.transitions);
                System.out.printf(java.util.Locale.ROOT, "outage figures: trainer steps %d -> %d during the 20 s outage; "
                        + "health of new steps %.1f s after the restart; %d records reported dropped%n",
                        trainerStepAtStop, trainerStepAtRestart, healthResumedSeconds, after.droppedRecords);
            }
        }
    }

    /**
     * Each alert type's transitions alternate FIRING, RESOLVED, FIRING...: a transition lost or
     * replayed across the outage would put two of the same state in a row. (Step-level rules such
     * as LOSS_NOT_DECREASING may fire and resolve on a vanishing run's plateau; that is allowed.)
     */
    private static void assertNeitherLostNorRepeated(List<String> transitions) {
        Map<String, String> lastByType = new HashMap<>();
        for (String transition : transitions) {
            String[] typeAndState = transition.split(" ");
            String previous = lastByType.put(typeAndState[0], typeAndState[1]);
            String expected = previous == null || previous.equals("RESOLVED") ? "FIRING" : "RESOLVED";
            assertThat(typeAndState[1]).as("%s after %s in %s", transition, previous, transitions)
                    .isEqualTo(expected);
        }
    }

    private static long lastProgressStep(Path log) throws Exception {
        long step = -1;
        Matcher matcher = PROGRESS_STEP.matcher(Files.readString(log, StandardCharsets.UTF_8));
        while (matcher.find()) {
            step = Long.parseLong(matcher.group(1));
        }
        return step;
    }

    private static boolean ready(int port) {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/readyz")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode() == 200;
        } catch (Exception e) {
            return false;
        }
    }

    private static long exposedStep(int port) {
        try {
            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + port + "/metrics")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString())
                    .body();
            Matcher matcher = Pattern.compile("gradwatch_training_step\\{run=\"" + RUN + "\"[^}]*} (\\S+)")
                    .matcher(metrics);
            return matcher.find() ? (long) Double.parseDouble(matcher.group(1)) : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    /** The fault itself: the broker stays down for a fixed span, whatever happens meanwhile. */
    private static void keepTheBrokerDown(Duration outage) {
        Await.hold(outage, "the outage under test is " + outage + " without a broker");
    }

    /** The run's results from the start of each topic, committed data only. */
    private static final class Results implements AutoCloseable {
        final List<String> transitions = new ArrayList<>();
        long lastHealthStep = -1;
        long droppedRecords;
        private final KafkaConsumer<String, byte[]> consumer;

        Results(String bootstrap) {
            Properties props = new Properties();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            props.put(ConsumerConfig.GROUP_ID_CONFIG, "outage-check-" + System.nanoTime());
            props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
            consumer.subscribe(List.of(Topics.HEALTH, Topics.ALERTS, Topics.STEPS));
        }

        Results poll() {
            try {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (!RUN.equals(record.key())) {
                        continue;
                    }
                    switch (record.topic()) {
                        case Topics.HEALTH -> lastHealthStep = Math.max(lastHealthStep,
                                LayerHealth.parseFrom(record.value()).getStep());
                        case Topics.ALERTS -> {
                            AlertEvent alert = AlertEvent.parseFrom(record.value());
                            transitions.add(alert.getType() + " " + alert.getState());
                        }
                        default -> droppedRecords = Math.max(droppedRecords,
                                StepRecord.parseFrom(record.value()).getDroppedRecordsTotal());
                    }
                }
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new AssertionError(e);
            }
            return this;
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
