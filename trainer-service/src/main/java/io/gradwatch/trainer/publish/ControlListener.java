package io.gradwatch.trainer.publish;

import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.ControlCommand;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens on {@code gradwatch.control} for commands to this run. Every trainer reads the whole
 * topic in a consumer group of its own, starting from the end (old commands are for old runs),
 * and keeps the commands keyed with its run id. The training loop drains them between steps.
 */
public final class ControlListener implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlListener.class);

    private final String runId;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Queue<ControlCommand> pending = new ConcurrentLinkedQueue<>();
    private final CountDownLatch assigned = new CountDownLatch(1);
    private volatile Throwable refused;
    private final Thread thread;
    private volatile boolean running = true;

    public ControlListener(String runId, Properties kafka) {
        this.runId = runId;
        Properties properties = new Properties();
        properties.putAll(kafka);
        properties.put(ConsumerConfig.GROUP_ID_CONFIG, "gradwatch-trainer-" + runId + "-" + UUID.randomUUID());
        properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        properties.put(ConsumerConfig.CLIENT_ID_CONFIG, "gradwatch-trainer-control");
        this.consumer = new KafkaConsumer<>(properties, new StringDeserializer(), new ByteArrayDeserializer());
        this.thread = new Thread(this::pollLoop, "gradwatch-control");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /**
     * Waits until the listener has its partitions, so a command sent after this is not missed.
     * Returns false on timeout, and at once when Kafka refused the client (see {@link #refusal()}).
     */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        return assigned.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && refused == null;
    }

    /** The error with which Kafka refused this client's credentials or ACLs, if it did. */
    public Optional<Throwable> refusal() {
        return Optional.ofNullable(refused);
    }

    /** The commands received since the last call, oldest first. */
    public List<ControlCommand> drain() {
        List<ControlCommand> commands = new ArrayList<>();
        for (ControlCommand command; (command = pending.poll()) != null; ) {
            commands.add(command);
        }
        return commands;
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
    }

    private void pollLoop() {
        try {
            consumer.subscribe(List.of(Topics.CONTROL), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    // Resolve the starting offsets now, so "ready" really means "will see what comes next".
                    partitions.forEach(consumer::position);
                    assigned.countDown();
                }
            });
            while (running) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    accept(record);
                }
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } catch (AuthenticationException | AuthorizationException e) {
            refused = e;
            assigned.countDown();
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private void accept(ConsumerRecord<String, byte[]> record) {
        if (!runId.equals(record.key())) {
            return;
        }
        try {
            ControlCommand command = GradwatchSerdes.controlCommand().decode(record.value());
            if (runId.equals(command.getRunId())) {
                pending.add(command);
            } else {
                LOG.warn("ignoring control command {} keyed {} but addressed to run {}", command.getCommandId(),
                        record.key(), command.getRunId());
            }
        } catch (MalformedRecordException e) {
            LOG.warn("ignoring malformed control command at {}-{}@{}: {}", record.topic(), record.partition(),
                    record.offset(), e.getMessage());
        }
    }
}
