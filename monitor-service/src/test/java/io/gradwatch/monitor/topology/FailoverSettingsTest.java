package io.gradwatch.monitor.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.monitor.MonitorConfig;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

/**
 * The settings that bound a failover (docs/scaling.md) reach the clients Kafka Streams builds,
 * and an operator's {@code kafka.*} keys still win over them.
 */
class FailoverSettingsTest {

    private static StreamsConfig streamsConfig(Map<String, String> overrides) {
        MonitorConfig config = MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(), overrides));
        Properties properties = MonitorTopology.streamsProperties(config, MonitorEvents.NONE);
        return new StreamsConfig(properties);
    }

    @Test
    void aKilledInstanceIsDetectedWithinSixSecondsAndItsOpenTransactionAbortedAfterFive() {
        StreamsConfig streams = streamsConfig(Map.of());
        Map<String, Object> consumer = streams.getMainConsumerConfigs("monitor", "monitor-consumer", 0);
        assertThat(consumer).containsEntry(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000")
                .containsEntry(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
        assertThat(streams.getProducerConfigs("monitor-producer"))
                .containsEntry(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "5000");
    }

    @Test
    void theOperatorsKafkaSettingsOverrideTheFailoverDefaults() {
        StreamsConfig streams = streamsConfig(Map.of("kafka.session.timeout.ms", "30000",
                "kafka.transaction.timeout.ms", "10000"));
        assertThat(streams.getMainConsumerConfigs("monitor", "monitor-consumer", 0))
                .containsEntry(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "30000");
        assertThat(streams.getProducerConfigs("monitor-producer"))
                .containsEntry(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "10000");
    }
}
