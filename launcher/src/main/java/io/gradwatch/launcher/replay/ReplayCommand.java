package io.gradwatch.launcher.replay;

import io.gradwatch.common.config.Settings;
import io.gradwatch.common.kafka.KafkaDefaults;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.TensorRecord;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./gradwatch replay FILE}: NDJSON gradient records to Kafka, and {@code --from-kafka} back. */
@Command(name = "replay", mixinStandardHelpOptions = true, description = {
    "Publish gradient records from an NDJSON file (one record per line, format in docs/replay.md) to Kafka,",
    "so captured gradients or hand-made ones can be fed to the monitor without a trainer.",
    "Bad lines are reported with their line number; good lines are still sent.",
    "Exit code: 0 all sent, 1 bad lines or records Kafka did not acknowledge, 2 bad flags or no such file.",
    "With --from-kafka, export one run's records from Kafka to NDJSON instead."})
public final class ReplayCommand implements Callable<Integer> {
    private static final int EXIT_BAD_LINES = 1;

    @Parameters(arity = "0..1", paramLabel = "FILE", description = "NDJSON file to publish ('-' for standard input)")
    String file;

    @Option(names = "--bootstrap-servers", defaultValue = KafkaDefaults.LOCAL_BOOTSTRAP_SERVERS, paramLabel = "HOST:PORT",
            description = "Kafka to talk to (default: ${DEFAULT-VALUE})")
    String bootstrapServers;

    @Option(names = "--config", paramLabel = "FILE",
            description = "properties file with kafka.* client settings (security, etc.)")
    Path config;

    @Option(names = "--topic", defaultValue = Topics.GRADIENTS, description = "topic (default: ${DEFAULT-VALUE})")
    String topic;

    @Option(names = "--from-kafka", description = "export a run from Kafka to NDJSON instead of publishing")
    boolean fromKafka;

    @Option(names = "--run", paramLabel = "RUN_ID", description = "with --from-kafka: the run to export")
    String run;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "with --from-kafka: write here instead of standard output")
    Path output;

    @Option(names = "--max-errors-shown", defaultValue = "50", description = "bad lines reported one by one")
    int maxErrorsShown;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        checkFlags();
        Properties kafka = Settings.fromEnvironment(Map.of(), config,
                Map.of("kafka.bootstrap.servers", bootstrapServers)).kafkaProperties();
        return fromKafka ? export(kafka) : publish(kafka);
    }

    /** Everything that can be told wrong before talking to Kafka: a usage error (exit 2) saying what to do. */
    private void checkFlags() {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw usage("--bootstrap-servers must not be empty (e.g. " + KafkaDefaults.LOCAL_BOOTSTRAP_SERVERS + ")");
        }
        if (topic == null || topic.isBlank()) {
            throw usage("--topic must not be empty");
        }
        if (config != null && !Files.isRegularFile(config)) {
            throw usage("--config: no such file: " + config);
        }
        if (fromKafka) {
            if (run == null || run.isBlank()) {
                throw usage("--from-kafka needs --run RUN_ID");
            }
            if (file != null) {
                throw usage("--from-kafka exports from Kafka: give --output FILE, not an input FILE ('" + file + "')");
            }
            return;
        }
        if (run != null || output != null) {
            throw usage((run != null ? "--run" : "--output") + " only goes with --from-kafka");
        }
        if (maxErrorsShown < 0) {
            throw usage("--max-errors-shown must be >= 0, got " + maxErrorsShown);
        }
        if (file == null) {
            throw usage("give the NDJSON FILE to publish (or '-' for standard input)");
        }
        if (!"-".equals(file)) {
            Path path = Path.of(file);
            if (!Files.exists(path)) {
                throw usage("no such file: " + file);
            }
            if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
                throw usage("not a readable file: " + file);
            }
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    private int publish(Properties kafka) throws IOException {
        PrintStream err = System.err;
        Properties properties = new Properties();
        properties.putAll(kafka);
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        properties.put(ProducerConfig.LINGER_MS_CONFIG, "10");
        AtomicLong failed = new AtomicLong();
        String source = "-".equals(file) ? "stdin" : file;
        long[] counts = new long[3]; // sent, bad, lines
        try (InputStream in = "-".equals(file) ? System.in : Files.newInputStream(Path.of(file));
             var producer = new KafkaProducer<>(properties, new StringSerializer(), new ByteArraySerializer())) {
            counts[2] = NdjsonLines.read(in, NdjsonLines.MAX_LINE_BYTES, (lineNumber, line, error) -> {
                if (error == null && line.isBlank()) {
                    return;
                }
                TensorRecord record;
                try {
                    if (error != null) {
                        throw new IllegalArgumentException(error);
                    }
                    record = NdjsonTensors.parse(line);
                } catch (IllegalArgumentException e) {
                    counts[1]++;
                    if (counts[1] <= maxErrorsShown) {
                        err.println(source + ":" + lineNumber + ": " + e.getMessage());
                    }
                    return;
                }
                producer.send(new ProducerRecord<>(topic, record.getRunId(), record.toByteArray()),
                        (metadata, exception) -> {
                            if (exception != null) {
                                failed.incrementAndGet();
                            }
                        });
                counts[0]++;
                if (counts[0] % 10_000 == 0) {
                    err.println("replay: " + counts[0] + " records sent...");
                }
            });
            producer.flush();
        }
        long sent = counts[0];
        long bad = counts[1];
        long lineNumber = counts[2];
        if (bad > maxErrorsShown) {
            err.println("(" + (bad - maxErrorsShown) + " more bad lines not shown)");
        }
        long delivered = sent - failed.get();
        err.println("replay: " + delivered + " records sent to " + topic + ", " + bad + " bad lines skipped"
                + (failed.get() > 0 ? ", " + failed.get() + " not acknowledged by Kafka" : "") + " (" + lineNumber
                + " lines read)");
        return bad > 0 || failed.get() > 0 ? EXIT_BAD_LINES : 0;
    }

    private int export(Properties kafka) throws IOException {
        Properties properties = new Properties();
        properties.putAll(kafka);
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        properties.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(8 << 20));
        long exported = 0;
        long skipped = 0;
        try (var consumer = new KafkaConsumer<>(properties, new StringDeserializer(), new ByteArrayDeserializer());
             Writer writer = output == null ? new PrintWriter(System.out, false, StandardCharsets.UTF_8)
                     : Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(info -> new TopicPartition(topic, info.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (!run.equals(record.key())) {
                        continue;
                    }
                    try {
                        writer.write(NdjsonTensors.format(GradwatchSerdes.tensorRecord().decode(record.value())));
                        writer.write('\n');
                        exported++;
                    } catch (MalformedRecordException e) {
                        skipped++;
                    }
                }
            }
        }
        System.err.println("replay: exported " + exported + " records of run " + run + " from " + topic
                + (skipped > 0 ? " (" + skipped + " malformed records skipped)" : ""));
        return 0;
    }
}
