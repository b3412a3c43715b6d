package io.gradwatch.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.monitor.topology.DeadLetters;
import io.gradwatch.monitor.topology.RecordFuzzer;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.ActivationFunction;
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
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.ThreadMetadata;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 12 against a real broker, with one monitor: dead letters at the exact limits (a value one
 * byte under the broker's maximum, a shape of 300,000 dimensions and one of the most allowed,
 * error texts far over the cut), a 30 s fuzz of mutated records whose books balance, and /readyz
 * while a stream thread is missing. After each, the monitor is still on its first stream thread
 * and a healthy run sent after the garbage is analysed in full.
 */
@ExtendWith(KafkaBrokerExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MonitorHardeningIT {
    private static final long SEED = Long.getLong("gradwatch.fuzz.seed", 20261201L);
    private static final Duration FUZZ = Duration.ofSeconds(Long.getLong("gradwatch.fuzz.broker-seconds", 30L));
    private static final int T = 4;
    private static final Set<String> TYPED = Arrays.stream(MalformedRecordException.Reason.values())
            .map(Enum::name).collect(Collectors.toSet());
    private static KafkaBroker broker;
    private static Path state;
    private static MonitorMain.Running monitor;
    private static List<String> firstThreads;
    private static String prefix;

    @BeforeAll
    static void startMonitor(KafkaBroker kafka) throws Exception {
        broker = kafka;
        broker.ensureTopics(Topics.ALL, 2);
        // A new application reads from the earliest offset: drop what earlier test classes left, so
        // the monitor's counters count this test's records only.
        broker.deleteAllRecords(List.of(Topics.GRADIENTS, Topics.SUMMARIES, Topics.STEPS, Topics.DLQ));
        System.setProperty("org.slf4j.simpleLogger.log." + DeadLetters.class.getName(), "error");
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka.streams.processor.internals.RecordDeserializer",
                "error");
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka.streams.processor.internals.ProcessorNode",
                "error");
        prefix = "harden-" + Long.toString(System.nanoTime(), 36) + "-";
        state = Files.createTempDirectory("gradwatch-hardening-");
        Map<String, String> overrides = new HashMap<>();
        overrides.put("kafka.bootstrap.servers", broker.bootstrapServers());
        overrides.put("kafka.state.dir", state.toString());
        overrides.put("monitor.application-id", prefix + "monitor");
        overrides.put("http.port", "0");
        monitor = MonitorMain.start(MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(),
                overrides)));
        Await.until("the monitor RUNNING", Duration.ofSeconds(90),
                () -> monitor.streams().state() == KafkaStreams.State.RUNNING);
        firstThreads = threadNames();
    }

    @AfterAll
    static void stopMonitor() {
        if (monitor != null) {
            monitor.close();
        }
    }

    @Test
    @Order(1)
    void deadLettersFitAtTheExactLimitsAndTheMonitorGoesOn() throws Exception {
        int brokerMax = maxMessageBytes();
        String run = prefix + "limits";
        byte[] key = bytes(run);
        int valueSize = largestValue(brokerMax - 1, key.length);
        TensorRecord base = tensor(run, 0, 0);
        byte[] huge = ofSize(base.toBuilder().setShape(0, 1).setShape(1, 1), valueSize); // SHAPE_DATA_MISMATCH
        assertThat(huge).hasSize(valueSize);
        TensorRecord.Builder wide = base.toBuilder().clearShape();
        for (int i = 0; i < 300_000; i++) {
            wide.addShape(1);
        }
        TensorRecord.Builder widest = base.toBuilder().clearShape();
        for (int i = 0; i < TensorRecords.MAX_DIMENSIONS; i++) {
            widest.addShape(i == 0 ? 0 : 7); // INVALID_SHAPE at the first dimension, described by 8 of 64
        }
        String longRun = "\u4e00".repeat(TensorRecords.MAX_RUN_ID_LENGTH); // 3 kB of UTF-8 in the error text
        byte[] hugeKey = new byte[700_000];
        Arrays.fill(hugeKey, (byte) 0xff);
        byte[] bigValue = new byte[300_000];
        Arrays.fill(bigValue, (byte) 3);

        List<ProducerRecord<byte[], byte[]>> bad = List.of(
                new ProducerRecord<>(Topics.GRADIENTS, key, huge),
                new ProducerRecord<>(Topics.GRADIENTS, key, wide.build().toByteArray()),
                new ProducerRecord<>(Topics.GRADIENTS, key, widest.build().toByteArray()),
                new ProducerRecord<>(Topics.GRADIENTS, key, base.toBuilder().setRunId(longRun).build().toByteArray()),
                new ProducerRecord<>(Topics.GRADIENTS, hugeKey, bigValue));
        List<String> reasons = List.of("SHAPE_DATA_MISMATCH", "INVALID_SHAPE", "INVALID_SHAPE", "KEY_MISMATCH",
                "KEY_MISMATCH");
        long dlqBefore = count("gradwatch.monitor.dlq.records");
        Map<String, ProducerRecord<byte[], byte[]>> sent = new HashMap<>();
        Properties props = broker.clientProperties();
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(brokerMax + 64 * 1024));
        try (var producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (ProducerRecord<byte[], byte[]> record : bad) {
                RecordMetadata at = producer.send(record).get(30, TimeUnit.SECONDS);
                sent.put(at.partition() + "@" + at.offset(), record);
            }
        }
        sendHealthyRun(prefix + "after-limits", 3);

        List<ConsumerRecord<byte[], byte[]>> letters = read(Topics.DLQ, bad.size(), r -> sent.containsKey(
                header(r, DeadLetters.HEADER_PARTITION) + "@" + header(r, DeadLetters.HEADER_OFFSET)));
        assertThat(letters).hasSize(bad.size());
        for (ConsumerRecord<byte[], byte[]> letter : letters) {
            ProducerRecord<byte[], byte[]> original = sent.get(header(letter, DeadLetters.HEADER_PARTITION) + "@"
                    + header(letter, DeadLetters.HEADER_OFFSET));
            String reason = reasons.get(bad.indexOf(original));
            assertThat(header(letter, DeadLetters.HEADER_REASON)).isEqualTo(reason);
            assertThat(letter.headers().lastHeader(DeadLetters.HEADER_ERROR).value().length)
                    .isLessThanOrEqualTo(DeadLetters.ERROR_LIMIT);
            assertThat(letter.serializedKeySize() + letter.serializedValueSize() + headerBytes(letter))
                    .isLessThan(1_048_576);
            boolean reference = "true".equals(header(letter, DeadLetters.HEADER_REFERENCE));
            if (original.value() == huge || original.key() == hugeKey) {
                assertThat(reference).as(reason).isTrue();
                assertThat(header(letter, DeadLetters.HEADER_VALUE_SIZE))
                        .isEqualTo(Integer.toString(original.value().length));
                assertThat(header(letter, DeadLetters.HEADER_VALUE_SHA256)).isEqualTo(sha256(original.value()));
                assertThat(letter.value()).isEqualTo(Arrays.copyOf(original.value(), DeadLetters.PREFIX_LIMIT));
            } else {
                assertThat(reference).as(reason).isFalse();
                assertThat(letter.value()).isEqualTo(original.value());
            }
        }
        System.err.printf("limits: broker max.message.bytes %d, largest value %d bytes; letters %s%n", brokerMax,
                valueSize, letters.stream().map(l -> header(l, DeadLetters.HEADER_REASON) + ":"
                        + (l.serializedKeySize() + l.serializedValueSize() + headerBytes(l))).toList());
        assertThat(count("gradwatch.monitor.dlq.records") - dlqBefore).isEqualTo(bad.size());
        assertThat(count("gradwatch.monitor.skipped.records")).isZero();
        assertThat(threadNames()).isEqualTo(firstThreads);
    }

    @Test
    @Order(2)
    void thirtySecondsOfMutatedRecordsBalanceTheBooksAndAHealthyRunIsAnalysedAfterwards() throws Exception {
        long before = books();
        RecordFuzzer fuzzer = new RecordFuzzer(SEED, prefix + "fuzz-");
        long sentCount = 0;
        Properties props = broker.clientProperties();
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        try (var producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            long deadline = System.nanoTime() + FUZZ.toNanos();
            while (System.nanoTime() < deadline) {
                for (int i = 0; i < 200; i++) {
                    boolean step = i % 5 == 0;
                    byte[] value = step ? fuzzer.mutantStep()
                            : i % 7 == 0 ? fuzzer.validTensor().toByteArray() : fuzzer.mutantTensor();
                    producer.send(new ProducerRecord<>(step ? Topics.STEPS : Topics.GRADIENTS, fuzzer.key(value),
                            value));
                    sentCount++;
                }
                producer.flush();
                // Keep the monitor near: what is sent in the budget is also processed in it.
                long sentSoFar = sentCount;
                Await.until("the monitor to catch up", Duration.ofSeconds(60),
                        () -> books() - before >= sentSoFar - 2_000);
            }
        }
        long sent = sentCount;
        Await.until("every fuzzed record counted", Duration.ofSeconds(90), () -> books() - before >= sent);
        long counted = books() - before;
        Map<String, Long> reasons = dlqByReason();
        System.err.printf("broker fuzz (seed %d, %s): %d records in, %d counted; dead letters %s%n", SEED, FUZZ, sent,
                counted, reasons);
        assertThat(counted).as("seed %d: accepted + duplicate + late + steps + dead letters", SEED).isEqualTo(sent);
        sendHealthyRun(prefix + "after-fuzz", 10);
        assertThat(reasons.keySet()).isSubsetOf(TYPED);
        assertThat(count("gradwatch.monitor.skipped.records")).isZero();
        assertThat(threadNames()).isEqualTo(firstThreads);
        assertThat(monitor.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
    }

    @Test
    @Order(3)
    void readyzAnswers503WhileAStreamThreadIsMissingAnd200OnceItIsBack() throws Exception {
        URI readyz = monitor.http().baseUri().resolve("/readyz");
        Await.until("/readyz 200", Duration.ofSeconds(60), () -> status(readyz) == 200);
        assertThat(monitor.streams().removeStreamThread(Duration.ofSeconds(30))).isPresent();
        Await.until("/readyz 503 without a stream thread", Duration.ofSeconds(30), () -> status(readyz) == 503);
        System.err.println("readyz without its stream thread: " + body(readyz).trim());
        assertThat(monitor.streams().addStreamThread()).isPresent();
        Await.until("/readyz 200 with the thread back", Duration.ofSeconds(90), () -> status(readyz) == 200);
    }

    // ---------------------------------------------------------------- helpers

    private static void sendHealthyRun(String run, int steps) throws Exception {
        Properties props = broker.clientProperties();
        try (var producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int s = 0; s < steps; s++) {
                for (int t = 0; t < T; t++) {
                    producer.send(new ProducerRecord<>(Topics.GRADIENTS, bytes(run), tensor(run, s, t).toByteArray()));
                }
            }
            producer.flush();
        }
        List<ConsumerRecord<byte[], byte[]>> health = read(Topics.HEALTH, steps,
                r -> r.key() != null && run.equals(new String(r.key(), StandardCharsets.UTF_8)));
        List<LayerHealth> results = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : health) {
            results.add(LayerHealth.parseFrom(record.value()));
        }
        assertThat(results).as("health of the healthy run " + run).hasSize(steps).allMatch(LayerHealth::getComplete);
    }

    private static TensorRecord tensor(String run, long step, int t) {
        float[] values = {0.5f, -0.5f, 0.25f, -0.25f, 0.5f, -0.5f, 0.25f, -0.25f};
        return TensorRecord.newBuilder().setRunId(run).setStep(step).setLayer(0).setTimestep(t).setSeqLen(T)
                .setKind(TensorKind.HIDDEN_GRAD).addShape(2).addShape(4).setDtype(DType.F32).setCell(CellType.LSTM)
                .setActivation(ActivationFunction.TANH).setData(TensorRecords.encode(values, 0, values.length, DType.F32))
                .setEventTimeMs(System.currentTimeMillis()).build();
    }

    /** A record of exactly {@code size} bytes: its data grown until the encoding is that long. */
    private static byte[] ofSize(TensorRecord.Builder builder, int size) {
        int data = size - builder.clearData().build().getSerializedSize();
        while (data > 0) {
            byte[] bytes = builder.setData(com.google.protobuf.ByteString.copyFrom(new byte[data])).build().toByteArray();
            if (bytes.length == size) {
                return bytes;
            }
            data -= bytes.length - size;
        }
        throw new IllegalStateException("no record of " + size + " bytes");
    }

    /**
     * The largest value whose record batch (61 bytes of batch header, the record's varints,
     * attributes and key, no headers, one record per batch) is at most {@code batchLimit} bytes.
     */
    private static int largestValue(int batchLimit, int keySize) {
        for (int value = batchLimit; value > 0; value--) {
            int body = 1 + 1 + 1 + zigzagSize(keySize) + keySize + zigzagSize(value) + value + 1;
            if (61 + zigzagSize(body) + body <= batchLimit) {
                return value;
            }
        }
        throw new IllegalStateException("no value fits in " + batchLimit);
    }

    private static int zigzagSize(int value) {
        long zigzag = ((long) value << 1) ^ (value >> 31);
        int bytes = 1;
        while ((zigzag & ~0x7FL) != 0) {
            bytes++;
            zigzag >>>= 7;
        }
        return bytes;
    }

    private static int maxMessageBytes() throws Exception {
        try (Admin admin = Admin.create(broker.clientProperties())) {
            ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, Topics.GRADIENTS);
            return Integer.parseInt(admin.describeConfigs(List.of(topic)).all().get(30, TimeUnit.SECONDS).get(topic)
                    .get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG).value());
        }
    }

    private static long books() {
        return count("gradwatch.monitor.accepted.records") + count("gradwatch.monitor.duplicate.records")
                + count("gradwatch.monitor.late.records") + count("gradwatch.monitor.step.records")
                + count("gradwatch.monitor.dlq.records");
    }

    private static long count(String name) {
        return (long) Search.in(monitor.registry()).name(name).counters().stream().mapToDouble(Counter::count).sum();
    }

    private static Map<String, Long> dlqByReason() {
        Map<String, Long> byReason = new java.util.TreeMap<>();
        Search.in(monitor.registry()).name("gradwatch.monitor.dlq.records").counters().forEach(counter -> {
            if (counter.count() > 0) {
                byReason.merge(counter.getId().getTag("reason"), (long) counter.count(), Long::sum);
            }
        });
        return byReason;
    }

    private static List<ConsumerRecord<byte[], byte[]>> read(String topic, int expected,
                                                             Predicate<ConsumerRecord<byte[], byte[]>> wanted) {
        Properties props = broker.clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "hardening-read-" + System.nanoTime());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            Await.until(expected + " wanted records on " + topic, Duration.ofSeconds(90), () -> {
                consumer.poll(Duration.ofMillis(300)).forEach(record -> {
                    if (wanted.test(record)) {
                        records.add(record);
                    }
                });
                return records.size();
            }, count -> count >= expected);
        }
        return records;
    }

    private static int headerBytes(ConsumerRecord<byte[], byte[]> record) {
        int total = 0;
        for (Header header : record.headers()) {
            total += header.key().length() + header.value().length;
        }
        return total;
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static List<String> threadNames() {
        return monitor.streams().metadataForLocalThreads().stream().map(ThreadMetadata::threadName).sorted().toList();
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private static int status(URI uri) {
        try {
            return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static String body(URI uri) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

}
