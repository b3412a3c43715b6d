package io.gradwatch.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.monitor.topology.DeadLetters;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import io.gradwatch.testkit.Await;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.search.Search;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.ThreadMetadata;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fixed-seed corpus of more than 10,000 malformed gradient records, mixed with good ones, sent to
 * a real broker while the monitor runs. Every record in is accounted for exactly once: accepted
 * (folded into its step), a duplicate or late (dropped and counted), or a dead letter with the
 * reason the protocol names for it. NaN/Inf-only tensors are not garbage: they are accepted and
 * raise NON_FINITE. The monitor is still RUNNING at the end, on its first stream thread.
 */
@ExtendWith(KafkaBrokerExtension.class)
class MalformedCorpusIT {
    private static final long SEED = 20261123L;
    private static final int T = 6;
    private static final int GOOD_RUNS = 12;
    private static final int STEPS = 12;
    private static final int NAN_RUNS = 4;
    private static final int BAD_RECORDS = 10_500;

    /** What the monitor must do with one record. */
    enum Outcome { ACCEPTED, DUPLICATE, LATE, DEAD_LETTER }

    /** One record of the corpus: its bytes, what it is, and what must become of it. */
    record Item(String kind, byte[] key, byte[] value, Outcome outcome, String reason) {
    }

    @BeforeAll
    static void freshTopics(KafkaBroker broker) throws Exception {
        broker.ensureTopics(Topics.ALL, 2);
        // Earlier test classes of this JVM left records on the shared topics: drop them, so this
        // test's monitor (a new application, reading from the earliest offset) sees only the corpus.
        broker.deleteAllRecords(List.of(Topics.GRADIENTS, Topics.SUMMARIES, Topics.STEPS, Topics.DLQ));
        // Ten thousand dead letters are logged one by one, by gradwatch and by Kafka Streams (with a
        // stack trace each); the test reads them from the topic instead.
        System.setProperty("org.slf4j.simpleLogger.log." + DeadLetters.class.getName(), "error");
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka.streams.processor.internals.RecordDeserializer",
                "error");
    }

    @Test
    void everyMalformedRecordIsADeadLetterWithItsReasonAndEveryRecordIsAccountedFor(KafkaBroker broker,
                                                                                 @TempDir Path state)
            throws Exception {
        String prefix = "corpus-" + Long.toString(System.nanoTime(), 36) + "-";
        List<Item> corpus = corpus(prefix, new Random(SEED));
        long bad = corpus.stream().filter(item -> item.outcome() == Outcome.DEAD_LETTER).count();
        assertThat(bad).isGreaterThanOrEqualTo(10_000);

        Map<String, String> overrides = new HashMap<>();
        overrides.put("kafka.bootstrap.servers", broker.bootstrapServers());
        overrides.put("kafka.state.dir", state.toString());
        overrides.put("monitor.application-id", prefix + "monitor");
        overrides.put("http.port", "0");
        MonitorConfig config = MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(), overrides));
        long started = System.nanoTime();
        try (MonitorMain.Running monitor = MonitorMain.start(config)) {
            awaitRunning(monitor.streams());
            List<String> threadsBefore = threadNames(monitor.streams());

            // Send the corpus in order, remembering where each record landed.
            Map<TopicPartition, TreeMap<Long, Item>> sent = new HashMap<>();
            Properties props = broker.clientProperties();
            props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
            props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
            try (var producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
                List<Future<RecordMetadata>> futures = new ArrayList<>(corpus.size());
                for (Item item : corpus) {
                    futures.add(producer.send(new ProducerRecord<>(Topics.GRADIENTS, item.key(), item.value())));
                }
                producer.flush();
                for (int i = 0; i < corpus.size(); i++) {
                    RecordMetadata metadata = futures.get(i).get(30, TimeUnit.SECONDS);
                    sent.computeIfAbsent(new TopicPartition(Topics.GRADIENTS, metadata.partition()),
                            p -> new TreeMap<>()).put(metadata.offset(), corpus.get(i));
                }
            }
            long recordsIn = sent.values().stream().mapToLong(Map::size).sum();
            assertThat(recordsIn).isEqualTo(corpus.size());

            // The monitor's own counters: every record in is accepted, a duplicate, late or a dead letter.
            Await.until("all " + recordsIn + " records counted (processed + dead letters)", Duration.ofSeconds(90),
                    () -> processed(monitor) + dlq(monitor), counted -> counted >= recordsIn);
            Map<String, Long> dlqByReason = dlqByReason(monitor);
            long accepted = count(monitor, "gradwatch.monitor.accepted.records");
            long duplicates = count(monitor, "gradwatch.monitor.duplicate.records");
            long late = count(monitor, "gradwatch.monitor.late.records");
            Map<Outcome, Long> expected = corpus.stream().collect(Collectors.groupingBy(Item::outcome,
                    Collectors.counting()));
            System.err.printf("corpus: %d records in (seed %d): %d accepted + %d duplicates + %d late = %d processed,"
                    + " %d dead letters %s; %.1f s%n", recordsIn, SEED, accepted, duplicates, late,
                    accepted + duplicates + late, dlq(monitor), new TreeMap<>(dlqByReason),
                    (System.nanoTime() - started) / 1e9);
            assertThat(accepted).isEqualTo(expected.getOrDefault(Outcome.ACCEPTED, 0L));
            assertThat(duplicates).isEqualTo(expected.getOrDefault(Outcome.DUPLICATE, 0L));
            assertThat(late).isEqualTo(expected.getOrDefault(Outcome.LATE, 0L));
            assertThat(dlq(monitor)).isEqualTo(bad);
            assertThat(accepted + duplicates + late + dlq(monitor)).isEqualTo(recordsIn);
            assertThat(dlqByReason).isEqualTo(corpus.stream().filter(item -> item.outcome() == Outcome.DEAD_LETTER)
                    .collect(Collectors.groupingBy(Item::reason, Collectors.counting())));

            // The dead-letter topic holds each bad record once, its own bytes, with its reason and origin.
            Map<TopicPartition, Map<Long, ConsumerRecord<byte[], byte[]>>> letters = readDeadLetters(broker, bad);
            long letterCount = letters.values().stream().mapToLong(Map::size).sum();
            assertThat(letterCount).isEqualTo(bad);
            sent.forEach((partition, items) -> items.forEach((offset, item) -> {
                ConsumerRecord<byte[], byte[]> letter = letters.getOrDefault(partition, Map.of()).get(offset);
                if (item.outcome() != Outcome.DEAD_LETTER) {
                    assertThat(letter).as("%s at %s@%d", item.kind(), partition, offset).isNull();
                    return;
                }
                assertThat(letter).as("%s at %s@%d", item.kind(), partition, offset).isNotNull();
                assertThat(header(letter, DeadLetters.HEADER_REASON)).as(item.kind()).isEqualTo(item.reason());
                assertThat(header(letter, DeadLetters.HEADER_ERROR)).as(item.kind()).isNotEmpty();
                assertThat(letter.value()).as(item.kind()).isEqualTo(item.value());
                assertThat(letter.key()).as(item.kind()).isEqualTo(item.key());
            }));

            // Good runs: every step analysed, complete. NaN/Inf runs: NON_FINITE flagged and fired.
            Map<String, List<LayerHealth>> health = new HashMap<>();
            readTopic(broker, Topics.HEALTH, prefix, GOOD_RUNS * STEPS + NAN_RUNS * 2).forEach(record ->
                    health.computeIfAbsent(key(record), k -> new ArrayList<>())
                            .add(GradwatchSerdes.layerHealth().decode(record.value())));
            for (int r = 0; r < GOOD_RUNS; r++) {
                List<LayerHealth> steps = health.get(prefix + "good-" + r);
                assertThat(steps).as("run %d", r).isNotNull().extracting(LayerHealth::getStep)
                        .containsExactlyElementsOf(java.util.stream.LongStream.range(0, STEPS).boxed().toList());
                assertThat(steps).allSatisfy(h -> {
                    assertThat(h.getComplete()).isTrue();
                    assertThat(h.getFlagsList()).doesNotContain(AlertType.NON_FINITE);
                });
            }
            List<AlertEvent> alerts = readTopic(broker, Topics.ALERTS, prefix, NAN_RUNS).stream()
                    .map(record -> GradwatchSerdes.alertEvent().decode(record.value())).toList();
            for (int r = 0; r < NAN_RUNS; r++) {
                String run = prefix + "nan-" + r;
                assertThat(health.get(run)).as(run).isNotEmpty().allSatisfy(h -> {
                    assertThat(h.getFlagsList()).containsExactly(AlertType.NON_FINITE);
                    assertThat(h.getNonFiniteCount()).isPositive();
                });
                assertThat(alerts).as(run).anySatisfy(alert -> {
                    assertThat(alert.getRunId()).isEqualTo(run);
                    assertThat(alert.getType()).isEqualTo(AlertType.NON_FINITE);
                    assertThat(alert.getState()).isEqualTo(AlertState.FIRING);
                });
            }
            assertThat(alerts).filteredOn(alert -> alert.getRunId().contains("good-")).isEmpty();

            // Still running, on the stream thread it started with (none died and was replaced).
            assertThat(monitor.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
            assertThat(threadNames(monitor.streams())).isEqualTo(threadsBefore);
            assertThat(count(monitor, "gradwatch.monitor.punctuation.failures")).isZero();
            System.err.printf("corpus: %d good-run health records, %d NON_FINITE alerts; %.1f s in all%n",
                    health.entrySet().stream().filter(e -> e.getKey().contains("good-"))
                            .mapToLong(e -> e.getValue().size()).sum(),
                    alerts.stream().filter(a -> a.getType() == AlertType.NON_FINITE).count(),
                    (System.nanoTime() - started) / 1e9);
        }
    }

    /**
     * Records that are valid but as large as the protocol allows: the longest seq_len, the most
     * elements that fit in one Kafka record. Whatever the monitor keeps for them (state-store
     * changelog, LayerHealth) must fit in a Kafka record too, or the stream thread dies on every retry.
     */
    @Test
    void recordsAtTheProtocolLimitsDoNotStopTheMonitor(KafkaBroker broker, @TempDir Path state) throws Exception {
        String prefix = "limits-" + Long.toString(System.nanoTime(), 36) + "-";
        Map<String, String> overrides = new HashMap<>();
        overrides.put("kafka.bootstrap.servers", broker.bootstrapServers());
        overrides.put("kafka.state.dir", state.toString());
        overrides.put("monitor.application-id", prefix + "monitor");
        overrides.put("monitor.grace", "3s");
        overrides.put("http.port", "0");
        MonitorConfig config = MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(), overrides));
        try (MonitorMain.Running monitor = MonitorMain.start(config)) {
            awaitRunning(monitor.streams());
            List<String> threadsBefore = threadNames(monitor.streams());
            int maxSeqLen = TensorRecords.DEFAULT_LIMITS.maxSeqLen();
            Random random = new Random(SEED);
            try (var producer = new KafkaProducer<>(broker.clientProperties(), new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                // The longest sequence: one timestep of it opens a step whose state covers every timestep.
                String longRun = prefix + "long";
                producer.send(new ProducerRecord<>(Topics.GRADIENTS, bytes(longRun), tensor(longRun, 0, 0,
                        values(random, 1f)).toBuilder().setSeqLen(maxSeqLen).setTimestep(maxSeqLen - 1).build()
                        .toByteArray())).get();
                // Then a good run on the same partitions, which must still be analysed.
                for (int p = 0; p < 4; p++) {
                    String run = prefix + "after-" + p;
                    for (int t = 0; t < T; t++) {
                        producer.send(new ProducerRecord<>(Topics.GRADIENTS, bytes(run),
                                tensor(run, 0, t, values(random, 0.5f)).toByteArray())).get();
                    }
                }
            }
            List<ConsumerRecord<byte[], byte[]>> health = readTopic(broker, Topics.HEALTH, prefix, 5);
            assertThat(health.stream().map(MalformedCorpusIT::key).distinct().toList())
                    .contains(prefix + "after-0", prefix + "after-1", prefix + "after-2", prefix + "after-3");
            assertThat(health.stream().map(MalformedCorpusIT::key).toList()).as("the long step, expired incomplete")
                    .contains(prefix + "long");
            assertThat(monitor.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
            assertThat(threadNames(monitor.streams())).isEqualTo(threadsBefore);
        }
    }

    // ---------------------------------------------------------------- the corpus

    /**
     * Good runs publish STEPS steps of T timesteps in order; between their records come bad ones,
     * drawn at random from the kinds below, and now and then a repeat of a good record (a duplicate
     * while its step is open, late once it was analysed) or a record whose seq_len contradicts its
     * open step. The expected outcome of a malformed record is what the protocol's own validator
     * says of its bytes, so the test checks the monitor against the documented contract.
     */
    static List<Item> corpus(String prefix, Random random) {
        List<Item> items = new ArrayList<>();
        List<List<Item>> runs = new ArrayList<>();
        for (int r = 0; r < GOOD_RUNS; r++) {
            runs.add(goodRun(prefix + "good-" + r, random));
        }
        for (int r = 0; r < NAN_RUNS; r++) {
            runs.add(nanRun(prefix + "nan-" + r, random));
        }
        int[] next = new int[runs.size()];
        int remaining = runs.stream().mapToInt(List::size).sum();
        int badLeft = BAD_RECORDS;
        while (remaining > 0 || badLeft > 0) {
            boolean sendBad = badLeft > 0 && (remaining == 0 || random.nextInt(remaining + badLeft) < badLeft);
            if (sendBad) {
                items.add(malformed(prefix, random));
                badLeft--;
                continue;
            }
            int run;
            do {
                run = random.nextInt(runs.size());
            } while (next[run] >= runs.get(run).size());
            items.add(runs.get(run).get(next[run]++));
            remaining--;
        }
        return items;
    }

    private static List<Item> goodRun(String run, Random random) {
        List<Item> items = new ArrayList<>();
        TensorRecord previousStepLast = null;
        for (int step = 0; step < STEPS; step++) {
            List<TensorRecord> records = new ArrayList<>();
            for (int t = 0; t < T; t++) {
                records.add(tensor(run, step, t, values(random, 0.5f)));
            }
            java.util.Collections.shuffle(records, random);
            for (int i = 0; i < T; i++) {
                items.add(good(run, records.get(i), Outcome.ACCEPTED, "good"));
                if (i == 1 && random.nextInt(3) == 0) {
                    // Sent twice while the step is still open: the monitor keeps the first.
                    items.add(good(run, records.get(0), Outcome.DUPLICATE, "duplicate timestep"));
                }
                if (i == 2 && random.nextInt(3) == 0) {
                    // Same run, step and layer, another seq_len: contradicts the open step.
                    TensorRecord conflicting = records.get(2).toBuilder().setSeqLen(T + 1 + random.nextInt(5)).build();
                    items.add(new Item("seq_len conflict", bytes(run), conflicting.toByteArray(), Outcome.DEAD_LETTER,
                            "SEQ_LEN_CONFLICT"));
                }
                if (i == 3 && previousStepLast != null && random.nextInt(3) == 0) {
                    // A repeat of the previous step, already analysed.
                    items.add(good(run, previousStepLast, Outcome.LATE, "late repeat"));
                }
            }
            previousStepLast = records.get(T - 1);
        }
        return items;
    }

    /** Two steps whose every value is NaN or an infinity, in F32, F16 and BF16. */
    private static List<Item> nanRun(String run, Random random) {
        List<Item> items = new ArrayList<>();
        float[] nonFinite = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        DType[] dtypes = {DType.F32, DType.F16, DType.BF16};
        for (int step = 0; step < 2; step++) {
            for (int t = 0; t < T; t++) {
                float[] values = new float[8];
                for (int i = 0; i < values.length; i++) {
                    values[i] = nonFinite[random.nextInt(nonFinite.length)];
                }
                DType dtype = dtypes[random.nextInt(dtypes.length)];
                TensorRecord record = tensor(run, step, t, values).toBuilder().setDtype(dtype)
                        .setData(TensorRecords.encode(values, 0, values.length, dtype)).build();
                items.add(good(run, record, Outcome.ACCEPTED, "NaN/Inf only"));
            }
        }
        return items;
    }

    private static Item malformed(String prefix, Random random) {
        String run = prefix + "bad-" + random.nextInt(50);
        TensorRecord base = tensor(run, random.nextInt(1000), random.nextInt(T), values(random, 1f));
        return switch (random.nextInt(16)) {
            case 0 -> {
                byte[] noise = new byte[random.nextInt(300)];
                random.nextBytes(noise);
                yield decodedBad("random bytes", bytes(run), noise);
            }
            case 1 -> {
                byte[] whole = base.toByteArray();
                byte[] cut;
                do {
                    cut = Arrays.copyOf(whole, 1 + random.nextInt(whole.length - 1));
                } while (oracle(cut) == null);
                yield decodedBad("truncated protobuf", bytes(run), cut);
            }
            case 2 -> decodedBad("unknown dtype", bytes(run),
                    base.toBuilder().setDtypeValue(4 + random.nextInt(100)).build().toByteArray());
            case 3 -> decodedBad("unspecified dtype", bytes(run),
                    base.toBuilder().setDtype(DType.DTYPE_UNSPECIFIED).build().toByteArray());
            case 4 -> {
                TensorRecord.Builder builder = base.toBuilder();
                switch (random.nextInt(3)) {
                    case 0 -> builder.setDtype(DType.F16); // F32 bytes claimed as F16: twice too many
                    case 1 -> builder.setShape(1, 3);
                    default -> builder.setData(builder.getData().concat(
                            com.google.protobuf.ByteString.copyFrom(new byte[1 + random.nextInt(7)])));
                }
                yield decodedBad("shape/data mismatch", bytes(run), builder.build().toByteArray());
            }
            case 5 -> decodedBad("negative timestep", bytes(run),
                    base.toBuilder().setTimestep(-1 - random.nextInt(1_000_000)).build().toByteArray());
            case 6 -> decodedBad("timestep >= seq_len", bytes(run),
                    base.toBuilder().setTimestep(T + random.nextInt(1000)).build().toByteArray());
            case 7 -> decodedBad(random.nextBoolean() ? "seq_len 0" : "seq_len 10^9", bytes(run),
                    base.toBuilder().setSeqLen(random.nextBoolean() ? 0 : 1_000_000_000).build().toByteArray());
            case 8 -> {
                // 100 MB of F32 claimed (25M elements), a few bytes sent.
                TensorRecord.Builder builder = base.toBuilder().clearShape();
                if (random.nextBoolean()) {
                    builder.addShape(25_000_000L);
                } else {
                    builder.addShape(5_000).addShape(5_000);
                }
                yield decodedBad("100 MB shape claim", bytes(run), builder.build().toByteArray());
            }
            case 9 -> {
                TensorRecord.Builder builder = base.toBuilder().clearShape();
                switch (random.nextInt(3)) {
                    case 0 -> { }
                    case 1 -> builder.addShape(0).addShape(4);
                    default -> builder.addShape(-2).addShape(-4);
                }
                yield decodedBad("invalid shape", bytes(run), builder.build().toByteArray());
            }
            case 10 -> {
                TensorRecord.Builder builder = base.toBuilder();
                switch (random.nextInt(4)) {
                    case 0 -> builder.clearRunId();
                    case 1 -> builder.clearKind();
                    case 2 -> builder.setStep(-1 - random.nextInt(100));
                    default -> builder.setLayer(-1 - random.nextInt(100));
                }
                yield decodedBad("missing field", bytes(run), builder.build().toByteArray());
            }
            case 11 -> {
                String hostile = random.nextBoolean() ? run + "\u0000" + random.nextInt(10) : run + "\r\nX: y";
                yield decodedBad("run id with a control character", bytes(hostile),
                        base.toBuilder().setRunId(hostile).build().toByteArray());
            }
            case 12 -> new Item("key of another run", bytes(prefix + "good-" + random.nextInt(GOOD_RUNS)),
                    base.toByteArray(), Outcome.DEAD_LETTER, "KEY_MISMATCH");
            case 13 -> new Item("null key", null, base.toByteArray(), Outcome.DEAD_LETTER, "KEY_MISMATCH");
            case 14 -> {
                byte[] garbage = new byte[1 + random.nextInt(40)];
                random.nextBytes(garbage);
                yield new Item("garbage key", garbage, base.toByteArray(), Outcome.DEAD_LETTER, "KEY_MISMATCH");
            }
            default -> random.nextBoolean()
                    ? new Item("tombstone", bytes(run), null, Outcome.DEAD_LETTER, "TOMBSTONE")
                    : decodedBad("empty value", bytes(run), new byte[0]);
        };
    }

    /** A record the reader rejects: its reason is the one the protocol's validator gives. */
    private static Item decodedBad(String kind, byte[] key, byte[] value) {
        String reason = oracle(value);
        if (reason == null) {
            throw new IllegalStateException(kind + " decoded as a valid record; the corpus is wrong");
        }
        return new Item(kind, key, value, Outcome.DEAD_LETTER, reason);
    }

    private static String oracle(byte[] value) {
        try {
            GradwatchSerdes.tensorRecord().decode(value);
            return null;
        } catch (MalformedRecordException e) {
            return e.reason().name();
        }
    }

    private static Item good(String run, TensorRecord record, Outcome outcome, String kind) {
        return new Item(kind, bytes(run), record.toByteArray(), outcome, null);
    }

    private static float[] values(Random random, float scale) {
        float[] values = new float[8];
        for (int i = 0; i < values.length; i++) {
            values[i] = scale * (0.9f + 0.2f * random.nextFloat()) * (random.nextBoolean() ? 1 : -1);
        }
        return values;
    }

    private static TensorRecord tensor(String run, long step, int t, float[] values) {
        return TensorRecord.newBuilder().setRunId(run).setStep(step).setLayer(0).setTimestep(t).setSeqLen(T)
                .setKind(TensorKind.HIDDEN_GRAD).addShape(2).addShape(4).setDtype(DType.F32).setCell(CellType.LSTM)
                .setActivation(ActivationFunction.TANH).setData(TensorRecords.encode(values, 0, values.length, DType.F32))
                .setEventTimeMs(System.currentTimeMillis()).build();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- reading back

    private static long count(MonitorMain.Running monitor, String name) {
        return (long) Search.in(monitor.registry()).name(name).counters().stream().mapToDouble(Counter::count).sum();
    }

    private static long processed(MonitorMain.Running monitor) {
        return count(monitor, "gradwatch.monitor.accepted.records") + count(monitor, "gradwatch.monitor.duplicate.records")
                + count(monitor, "gradwatch.monitor.late.records");
    }

    private static long dlq(MonitorMain.Running monitor) {
        return count(monitor, "gradwatch.monitor.dlq.records");
    }

    private static Map<String, Long> dlqByReason(MonitorMain.Running monitor) {
        Map<String, Long> byReason = new TreeMap<>();
        Search.in(monitor.registry()).name("gradwatch.monitor.dlq.records").counters().forEach(counter -> {
            if (counter.count() > 0) {
                byReason.merge(counter.getId().getTag("reason"), (long) counter.count(), Long::sum);
            }
        });
        return byReason;
    }

    private static Map<TopicPartition, Map<Long, ConsumerRecord<byte[], byte[]>>> readDeadLetters(KafkaBroker broker,
                                                                                               long expected) {
        Map<TopicPartition, Map<Long, ConsumerRecord<byte[], byte[]>>> letters = new HashMap<>();
        long[] duplicates = {0};
        for (ConsumerRecord<byte[], byte[]> letter : readTopic(broker, Topics.DLQ, null, expected)) {
            assertThat(header(letter, DeadLetters.HEADER_TOPIC)).isEqualTo(Topics.GRADIENTS);
            TopicPartition source = new TopicPartition(Topics.GRADIENTS,
                    Integer.parseInt(header(letter, DeadLetters.HEADER_PARTITION)));
            if (letters.computeIfAbsent(source, p -> new HashMap<>())
                    .put(Long.parseLong(header(letter, DeadLetters.HEADER_OFFSET)), letter) != null) {
                duplicates[0]++;
            }
        }
        assertThat(duplicates[0]).as("records dead-lettered twice").isZero();
        return letters;
    }

    /** Reads a topic (read_committed) until {@code expected} records whose key starts with the prefix came. */
    private static List<ConsumerRecord<byte[], byte[]>> readTopic(KafkaBroker broker, String topic, String keyPrefix,
                                                                  long expected) {
        Properties props = broker.clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "corpus-read-" + System.nanoTime());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            Await.until(expected + " records on " + topic, Duration.ofSeconds(60), () -> {
                poll(consumer, Duration.ofMillis(300), keyPrefix, records);
                return records.size();
            }, count -> count >= expected);
            // Then until a longer poll brings nothing: a record beyond the expected ones (a duplicate) shows.
            Await.until("no more records on " + topic, Duration.ofSeconds(60),
                    () -> poll(consumer, Duration.ofMillis(1500), keyPrefix, records), added -> added == 0);
        }
        return records;
    }

    /** One poll; adds the records whose key starts with the prefix (all for a null prefix), returns how many. */
    private static int poll(KafkaConsumer<byte[], byte[]> consumer, Duration timeout, String keyPrefix,
                            List<ConsumerRecord<byte[], byte[]>> records) {
        int before = records.size();
        consumer.poll(timeout).forEach(record -> {
            if (keyPrefix == null || key(record).startsWith(keyPrefix)) {
                records.add(record);
            }
        });
        return records.size() - before;
    }

    private static String key(ConsumerRecord<byte[], byte[]> record) {
        return record.key() == null ? "" : new String(record.key(), StandardCharsets.UTF_8);
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static List<String> threadNames(KafkaStreams streams) {
        return streams.metadataForLocalThreads().stream().map(ThreadMetadata::threadName).sorted().toList();
    }

    private static void awaitRunning(KafkaStreams streams) {
        Await.until("the monitor's streams running", Duration.ofSeconds(60), streams::state,
                KafkaStreams.State.RUNNING::equals);
    }
}
