package io.gradwatch.bench;

import io.gradwatch.launcher.LocalStack;
import io.gradwatch.launcher.ManagedProcess;
import io.gradwatch.launcher.StackLayout;
import io.gradwatch.localkafka.LocalKafka;
import io.gradwatch.localkafka.LocalKafkaConfig;
import io.gradwatch.protocol.Topics;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A fresh broker per scenario, and the services as the local stack runs them (child JVMs from
 * the module jars), started when the scenario wants them. Everything on 127.0.0.1.
 */
final class BenchStack implements AutoCloseable {
    static final int PARTITIONS = 3;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final StackLayout layout;
    private final LocalKafka kafka;
    private final List<ManagedProcess> services = new ArrayList<>();

    private BenchStack(StackLayout layout, LocalKafka kafka) {
        this.layout = layout;
        this.kafka = kafka;
    }

    static BenchStack start(StackLayout layout) {
        LocalKafka kafka = LocalKafka.start(LocalKafkaConfig.defaults(layout.dataDir().resolve("kafka"))
                .withPorts(layout.kafkaPort(), layout.controllerPort()));
        kafka.createTopics(Topics.ALL, PARTITIONS);
        return new BenchStack(layout, kafka);
    }

    String bootstrap() {
        return kafka.bootstrapServers();
    }

    Path monitorStateDir() {
        return layout.dataDir().resolve("monitor-state");
    }

    /** monitor-service with its defaults (exactly-once on), as the stack starts it. */
    ManagedProcess startMonitor(String heap) throws InterruptedException {
        ManagedProcess monitor = start("monitor-service", LocalStack.MONITOR_MAIN, layout.monitorPort(), heap,
                Map.of("GRADWATCH_KAFKA_STATE_DIR", monitorStateDir().toString()));
        LocalStack.awaitReady(monitor, layout.monitorPort());
        return monitor;
    }

    ManagedProcess startAlertService(String heap, Map<String, String> env) throws InterruptedException {
        ManagedProcess alerts = start("alert-service", LocalStack.ALERTS_MAIN, layout.alertsPort(), heap, env);
        LocalStack.awaitReady(alerts, layout.alertsPort());
        return alerts;
    }

    String monitorUrl() {
        return layout.monitorUrl();
    }

    String alertsUrl() {
        return layout.alertsUrl();
    }

    private ManagedProcess start(String module, String mainClass, int port, String heap, Map<String, String> env) {
        ManagedProcess process = LocalStack.startService(layout, module, module, mainClass, port, env, heap);
        services.add(process);
        return process;
    }

    Properties producerProps() {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
        props.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Long.toString(128L << 20));
        return props;
    }

    /** A consumer of a fresh group from the earliest offset, committed data only. */
    Properties consumerProps(String group) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return props;
    }

    /** GET a service URL: the body and the time it took in milliseconds. */
    static Timed<String> get(String url) throws IOException, InterruptedException {
        long start = System.nanoTime();
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        double millis = (System.nanoTime() - start) / 1e6;
        if (response.statusCode() != 200) {
            throw new IOException(url + " answered " + response.statusCode());
        }
        return new Timed<>(response.body(), millis);
    }

    /** Used heap of a service, from the JVM meters on its /metrics (bytes). */
    static double heapUsed(String baseUrl) throws IOException, InterruptedException {
        return sampleSum(get(baseUrl + "/metrics").value(), "jvm_memory_used_bytes", "area=\"heap\"");
    }

    /** The sum of a metric's samples in a Prometheus exposition, over the series whose line holds {@code labels}. */
    static double sampleSum(String exposition, String metric, String labels) {
        double sum = 0;
        for (String line : exposition.split("\n")) {
            if (line.startsWith(metric) && line.length() > metric.length()
                    && (line.charAt(metric.length()) == '{' || line.charAt(metric.length()) == ' ')
                    && line.contains(labels)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** CPU time a process has used so far, in nanoseconds (0 if the OS does not say). */
    static long cpuNanos(long pid) {
        return ProcessHandle.of(pid).flatMap(handle -> handle.info().totalCpuDuration()).orElse(Duration.ZERO)
                .toNanos();
    }

    /** CPU time of every child process of this JVM except {@code exceptPid}: the broker. */
    static long brokerCpuNanos(long exceptPid) {
        return ProcessHandle.current().children().filter(child -> child.pid() != exceptPid)
                .mapToLong(child -> cpuNanos(child.pid())).sum();
    }

    static long directorySize(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(file -> file.toFile().length()).sum();
        }
    }

    record Timed<T>(T value, double millis) {
    }

    @Override
    public void close() {
        for (int i = services.size() - 1; i >= 0; i--) {
            services.get(i).stop();
        }
        kafka.stop();
    }
}
