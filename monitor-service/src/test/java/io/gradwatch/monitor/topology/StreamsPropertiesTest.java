package io.gradwatch.monitor.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.monitor.MonitorConfig;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

class StreamsPropertiesTest {
    @Test
    void theMonitorRunsExactlyOnceByDefaultAndAUserSettingOverridesIt() {
        Properties defaults = MonitorTopology.streamsProperties(config(Map.of()), MonitorEvents.NONE);
        assertThat(defaults.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG)).isEqualTo(StreamsConfig.EXACTLY_ONCE_V2);
        assertThat(defaults.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG)).isEqualTo("127.0.0.1:9092");

        Properties atLeastOnce = MonitorTopology.streamsProperties(
                config(Map.of("kafka.processing.guarantee", "at_least_once")), MonitorEvents.NONE);
        assertThat(atLeastOnce.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG)).isEqualTo(StreamsConfig.AT_LEAST_ONCE);
    }

    private static MonitorConfig config(Map<String, String> overrides) {
        return MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(), overrides));
    }
}
