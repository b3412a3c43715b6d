package io.gradwatch.monitor.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.TensorRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random mutations of valid records through the topology for a fixed time budget: every
 * record is exactly one of accepted, duplicate, late or dead letter (with a typed reason), nothing
 * escapes the handlers (which would kill the stream thread, and here fails {@code pipeInput}), and
 * a healthy run sent after the garbage is analysed in full.
 */
class MonitorFuzzTest {
    private static final long SEED = Long.getLong("gradwatch.fuzz.seed", 20261201L);
    private static final Duration BUDGET = Duration.ofSeconds(Long.getLong("gradwatch.fuzz.seconds", 20L));
    private static final Set<String> TYPED = Arrays.stream(MalformedRecordException.Reason.values())
            .map(Enum::name).collect(Collectors.toSet());

    static {
        // Thousands of dead letters, each logged by gradwatch and by Kafka Streams (with a stack
        // trace): the books are read from the events instead.
        System.setProperty("org.slf4j.simpleLogger.log." + DeadLetters.class.getName(), "error");
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka.streams.processor.internals.RecordDeserializer",
                "error");
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka.streams.processor.internals.ProcessorNode",
                "error");
    }

    /** The monitor's books, as its events report them. */
    static final class Books implements MonitorEvents {
        final AtomicLong accepted = new AtomicLong();
        final AtomicLong duplicates = new AtomicLong();
        final AtomicLong late = new AtomicLong();
        final AtomicLong steps = new AtomicLong();
        final AtomicLong skipped = new AtomicLong();
        final Map<String, Long> deadLetters = new TreeMap<>();

        @Override
        public void accepted() {
            accepted.incrementAndGet();
        }

        @Override
        public void duplicate() {
            duplicates.incrementAndGet();
        }

        @Override
        public void late() {
            late.incrementAndGet();
        }

        @Override
        public void stepTracked() {
            steps.incrementAndGet();
        }

        @Override
        public void skipped(String topic, String reason) {
            skipped.incrementAndGet();
        }

        @Override
        public synchronized void deadLetter(String reason) {
            deadLetters.merge(reason, 1L, Long::sum);
        }

        synchronized long dlq() {
            return deadLetters.values().stream().mapToLong(Long::longValue).sum();
        }

        long tensors() {
            return accepted.get() + duplicates.get() + late.get();
        }
    }

    @Test
    void garbageNeverStopsTheMonitorAndEveryRecordIsCountedOnce(@TempDir Path state) {
        Books books = new Books();
        MonitorConfig config = MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(),
                Map.of("monitor.grace", "10s")));
        Properties properties = MonitorTopology.streamsProperties(config, books);
        // TopologyTestDriver writes (and fsyncs) the task's checkpoint after every record: in memory
        // where the machine has it, that is ~20 times as many records in the same budget.
        Path shm = Path.of("/dev/shm");
        properties.put(StreamsConfig.STATE_DIR_CONFIG, (Files.isDirectory(shm) && Files.isWritable(shm)
                ? shm.resolve("gradwatch-fuzz-" + ProcessHandle.current().pid()) : state).toString());
        RecordFuzzer fuzzer = new RecordFuzzer(SEED, "fuzz-");
        long tensorsSent = 0;
        long stepsSent = 0;
        StreamsBuilder builder = new StreamsBuilder();
        MonitorTopology.describe(builder, config, books, Stores::inMemoryKeyValueStore);
        try (TopologyTestDriver driver = new TopologyTestDriver(builder.build(), properties,
                Instant.parse("2026-12-01T00:00:00Z"))) {
            TestInputTopic<byte[], byte[]> gradients = driver.createInputTopic(Topics.GRADIENTS,
                    new ByteArraySerializer(), new ByteArraySerializer());
            TestInputTopic<byte[], byte[]> steps = driver.createInputTopic(Topics.STEPS, new ByteArraySerializer(),
                    new ByteArraySerializer());
            TestOutputTopic<String, LayerHealth> health = driver.createOutputTopic(Topics.HEALTH,
                    new StringDeserializer(), GradwatchSerdes.layerHealth().deserializer());
            long deadline = System.nanoTime() + BUDGET.toNanos();
            while (System.nanoTime() < deadline) {
                for (int i = 0; i < 100; i++) {
                    if (i % 5 == 0) {
                        byte[] value = fuzzer.mutantStep();
                        steps.pipeInput(fuzzer.key(value), value);
                        stepsSent++;
                    } else {
                        byte[] value = i % 7 == 0 ? fuzzer.validTensor().toByteArray() : fuzzer.mutantTensor();
                        gradients.pipeInput(fuzzer.key(value), value);
                        tensorsSent++;
                    }
                }
                driver.advanceWallClockTime(Duration.ofMillis(200));
                // The books balance after every batch, not only at the end.
                assertThat(books.tensors() + books.steps.get() + books.dlq())
                        .as("seed %d: accepted + duplicate + late + steps + dead letters", SEED)
                        .isEqualTo(tensorsSent + stepsSent);
            }
            System.err.printf("fuzz (seed %d, %s): %d tensors + %d steps in; %d accepted, %d duplicates, %d late,"
                    + " %d steps tracked, dead letters %s, skipped %d%n", SEED, BUDGET, tensorsSent, stepsSent,
                    books.accepted.get(), books.duplicates.get(), books.late.get(), books.steps.get(),
                    books.deadLetters, books.skipped.get());
            assertThat(books.deadLetters.keySet()).as("seed %d: every rejection has a typed reason", SEED)
                    .isSubsetOf(TYPED);
            assertThat(books.skipped.get()).isZero();
            assertThat(books.dlq()).isPositive();
            assertThat(books.accepted.get()).isPositive();

            // A healthy run after the garbage: every one of its steps analysed, complete.
            health.readRecordsToList();
            int healthySteps = 10;
            RecordFuzzer healthy = new RecordFuzzer(SEED, "unused-");
            for (int s = 0; s < healthySteps; s++) {
                for (int t = 0; t < RecordFuzzer.SEQ_LEN; t++) {
                    TensorRecord record = healthy.validTensor().toBuilder().setRunId("healthy").setStep(s).setLayer(0)
                            .setTimestep(t).setKind(io.gradwatch.protocol.v1.TensorKind.HIDDEN_GRAD).build();
                    gradients.pipeInput("healthy".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                            record.toByteArray());
                }
            }
            List<LayerHealth> results = health.readValuesToList().stream()
                    .filter(h -> h.getRunId().equals("healthy")).toList();
            assertThat(results).extracting(LayerHealth::getStep).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
            assertThat(results).allMatch(LayerHealth::getComplete);
        }
    }

}
