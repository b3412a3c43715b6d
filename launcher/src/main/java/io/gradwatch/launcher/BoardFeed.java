package io.gradwatch.launcher;

import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Reads steps, health and alerts from the beginning into a {@link RunBoard}; no consumer group. */
final class BoardFeed implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> consumer;
    private final RunBoard board;

    BoardFeed(String bootstrapServers, RunBoard board) {
        this.board = board;
        Properties properties = new Properties();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        properties.put(ConsumerConfig.CLIENT_ID_CONFIG, "gradwatch-launcher-board");
        consumer = new KafkaConsumer<>(properties, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> partitions = List.of(Topics.STEPS, Topics.HEALTH, Topics.ALERTS).stream()
                .flatMap(topic -> consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                        .map(info -> new TopicPartition(topic, info.partition())))
                .toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
    }

    /** Applies whatever arrived within {@code timeout}. */
    void pollOnce(Duration timeout) {
        for (ConsumerRecord<String, byte[]> record : consumer.poll(timeout)) {
            try {
                switch (record.topic()) {
                    case Topics.STEPS -> board.apply(GradwatchSerdes.stepRecord().decode(record.value()));
                    case Topics.HEALTH -> board.apply(GradwatchSerdes.layerHealth().decode(record.value()));
                    default -> board.apply(GradwatchSerdes.alertEvent().decode(record.value()));
                }
            } catch (MalformedRecordException e) {
                // The board is a view; the monitor's DLQ is where bad records are accounted for.
            }
        }
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
