package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.localkafka.LocalKafka;
import io.gradwatch.localkafka.LocalKafkaConfig;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.LayerHealth;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * monitor-service, a child process, is SIGKILLed five times at random points while runs stream
 * through it, and restarted each time. With exactly-once, a read_committed reader then sees one
 * LayerHealth per (run, step, layer) and each alert transition once, exactly as an uninterrupted
 * monitor would produce them. This test starts its own broker (from the same {@code LocalKafka}
 * the broker fixture uses) so the monitor can be placed beside it as the local stack does.
 */
class MonitorCrashIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final int RUNS = 4;
    private static final int STEPS = 60;
    private static final int SEQ_LEN = 20;

    @Test
    void fiveKillsLoseNothingAndDuplicateNothing(@TempDir Path dir) throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        StackLayout layout = new StackLayout(ROOT, dir, TestPorts.freePortBase(34000));
        try (LocalKafka kafka = LocalKafka.start(LocalKafkaConfig.defaults(dir.resolve("kafka"))
                .withPorts(layout.kafkaPort(), layout.controllerPort()))) {
            kafka.createTopics(Topics.ALL, 3);
            Map<String, String> env = Map.of("GRADWATCH_KAFKA_STATE_DIR", dir.resolve("monitor-state").toString());
            ManagedProcess monitor = startMonitor(layout, env, 0);
            AtomicBoolean producing = new AtomicBoolean(true);
            Thread producer = new Thread(() -> produce(kafka.bootstrapServers(), producing), "crash-producer");
            producer.start();
            List<String> kills = new ArrayList<>();
            for (int kill = 1; kill <= 5; kill++) {
                Thread.sleep(1500 + random.nextInt(3000));
                monitor.kill();
                kills.add("kill " + kill + " while producing=" + producing.get());
                Thread.sleep(random.nextInt(1500));
                monitor = startMonitor(layout, env, kill);
            }
            producer.join();
            try {
                Map<String, Integer> health = new TreeMap<>();
                Map<String, List<String>> transitions = new TreeMap<>();
                readResults(kafka.bootstrapServers(), health, transitions);
                String context = "seed " + seed + ", " + kills;
                assertThat(health).as(context).hasSize(RUNS * STEPS);
                assertThat(health.values()).as("LayerHealth per (run, step, layer); " + context).containsOnly(1);
                for (int run = 0; run < RUNS; run++) {
                    assertThat(transitions.get("crash-" + run)).as("alert transitions of crash-" + run + "; " + context)
                            .isEqualTo(expectedTransitions());
                }
            } finally {
                monitor.stop();
            }
        }
    }

    private static List<String> expectedTransitions() {
        return VanishingBlocks.expectedTransitions(STEPS);
    }

    private static ManagedProcess startMonitor(StackLayout layout, Map<String, String> env, int generation)
            throws InterruptedException {
        ManagedProcess monitor = LocalStack.startService(layout, "monitor-" + generation, "monitor-service",
                LocalStack.MONITOR_MAIN, layout.monitorPort(), env, "512m");
        LocalStack.awaitReady(monitor, layout.monitorPort());
        return monitor;
    }

    /** About 25 s of records: every run's steps in order, timesteps interleaved across runs. */
    private static void produce(String bootstrap, AtomicBoolean producing) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        SyntheticGradients gradients = new SyntheticGradients(8, 32);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props, new StringSerializer(),
                new ByteArraySerializer())) {
            for (int step = 0; step < STEPS; step++) {
                double factor = VanishingBlocks.factor(step);
                for (int t = 0; t < SEQ_LEN; t++) {
                    for (int run = 0; run < RUNS; run++) {
                        String runId = "crash-" + run;
                        producer.send(new ProducerRecord<>(Topics.GRADIENTS, runId,
                                gradients.record(runId, step, 0, t, SEQ_LEN, factor)));
                    }
                }
                Thread.sleep(400);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            producing.set(false);
        }
    }

    /** Reads health and alerts with read_committed until every step's health arrived or 3 minutes pass. */
    private static void readResults(String bootstrap, Map<String, Integer> health, Map<String, List<String>> transitions)
            throws Exception {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "crash-check");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        long quietSince = System.nanoTime();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(Topics.HEALTH, Topics.ALERTS));
            // Keep reading 5 s past the last expected health record, so a duplicate would still show.
            while (System.nanoTime() < deadline
                    && (health.size() < RUNS * STEPS || System.nanoTime() - quietSince < 5e9)) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.topic().equals(Topics.HEALTH)) {
                        LayerHealth h = LayerHealth.parseFrom(record.value());
                        health.merge(h.getRunId() + "/" + h.getStep() + "/" + h.getLayer(), 1, Integer::sum);
                    } else {
                        AlertEvent a = AlertEvent.parseFrom(record.value());
                        transitions.computeIfAbsent(a.getRunId(), run -> new ArrayList<>())
                                .add(a.getType() + " " + a.getState() + " at " + a.getStep());
                    }
                    if (health.size() < RUNS * STEPS) {
                        quietSince = System.nanoTime();
                    }
                }
            }
        }
    }
}
