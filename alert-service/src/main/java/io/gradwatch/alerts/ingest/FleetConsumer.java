package io.gradwatch.alerts.ingest;

import io.gradwatch.alerts.state.FleetState;
import io.gradwatch.common.kafka.KafkaAccessFailure;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads gradwatch.health, gradwatch.alerts and gradwatch.steps from the beginning (committed
 * transactions only) into the {@link FleetState}, so a restarted alert-service rebuilds its
 * metrics and active alerts from Kafka. Undecodable records are counted and skipped.
 */
public final class FleetConsumer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FleetConsumer.class);
    private static final List<String> TOPICS = List.of(Topics.STEPS, Topics.HEALTH, Topics.ALERTS);

    private final KafkaConsumer<String, byte[]> consumer;
    private final FleetState state;
    private final Counter malformed;
    private final Thread thread;
    private final KafkaClientMetrics clientMetrics;
    private volatile boolean running = true;
    private volatile boolean caughtUp;
    private final CompletableFuture<Throwable> fatal = new CompletableFuture<>();

    public FleetConsumer(Properties kafka, FleetState state, MeterRegistry registry) {
        Properties properties = new Properties();
        properties.putAll(kafka);
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        properties.put(ConsumerConfig.CLIENT_ID_CONFIG, "gradwatch-alert-service");
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        this.consumer = new KafkaConsumer<>(properties, new StringDeserializer(), new ByteArrayDeserializer());
        this.state = state;
        this.malformed = Counter.builder("gradwatch.alert.service.malformed.records")
                .description("records on the input topics that could not be decoded").register(registry);
        this.clientMetrics = new KafkaClientMetrics(consumer);
        clientMetrics.bindTo(registry);
        this.thread = new Thread(this::run, "alert-service-consumer");
        this.thread.setDaemon(true);
    }

    public FleetConsumer start() {
        thread.start();
        return this;
    }

    /** Completes when Kafka refused this consumer's credentials or ACLs; it has stopped reading then. */
    public CompletableFuture<Throwable> fatal() {
        return fatal;
    }

    /** True once the records that existed at start-up have been applied. */
    public boolean caughtUp() {
        return caughtUp;
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        clientMetrics.close();
    }

    private void run() {
        try {
            List<TopicPartition> partitions = assign();
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long lastExpiry = System.nanoTime();
            while (running) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    apply(record);
                }
                if (!caughtUp && partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p))) {
                    caughtUp = true;
                    LOG.info("caught up with {}: {} runs", TOPICS, state.size());
                }
                if (System.nanoTime() - lastExpiry > Duration.ofSeconds(5).toNanos()) {
                    List<String> expired = state.expire();
                    if (!expired.isEmpty()) {
                        LOG.info("forgot {} silent runs: {}", expired.size(), expired);
                    }
                    lastExpiry = System.nanoTime();
                }
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } catch (AuthenticationException | AuthorizationException e) {
            // Retrying cannot help: say why in one line and let the service end.
            LOG.error("alert-service: {}", KafkaAccessFailure.explain(e).orElseThrow());
            fatal.complete(e);
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private List<TopicPartition> assign() {
        // Every instance reads everything: the fleet view is small and must be complete on each.
        while (running) {
            try {
                List<TopicPartition> partitions = TOPICS.stream()
                        .flatMap(topic -> consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                                .map(info -> new TopicPartition(topic, info.partition())))
                        .toList();
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                return partitions;
            } catch (TimeoutException e) {
                LOG.warn("Kafka not reachable yet ({}); retrying", e.getMessage());
            }
        }
        throw new WakeupException();
    }

    private void apply(ConsumerRecord<String, byte[]> record) {
        try {
            switch (record.topic()) {
                case Topics.STEPS -> state.apply(GradwatchSerdes.stepRecord().decode(record.value()));
                case Topics.HEALTH -> state.apply(GradwatchSerdes.layerHealth().decode(record.value()));
                default -> state.apply(GradwatchSerdes.alertEvent().decode(record.value()));
            }
        } catch (MalformedRecordException e) {
            malformed.increment();
            LOG.warn("skipping {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), e.getMessage());
        }
    }
}
