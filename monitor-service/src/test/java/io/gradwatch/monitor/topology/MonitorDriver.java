package io.gradwatch.monitor.topology;

import io.gradwatch.common.config.Settings;
import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.protocol.v1.TensorRecord;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * The monitor's topology in a TopologyTestDriver, configured as the service is (defaults plus the
 * test's overrides, a 10 s grace unless it sets one), with its own state directory (test JVMs of
 * other checkouts may run at the same time), and the topics the step-level tests use.
 */
final class MonitorDriver implements AutoCloseable {
    final TopologyTestDriver driver;
    final TestInputTopic<String, TensorRecord> gradients;
    final TestInputTopic<String, StepRecord> steps;
    final TestOutputTopic<String, AlertEvent> alerts;
    final TestOutputTopic<String, ControlCommand> control;

    MonitorDriver(Path stateDir, Map<String, String> overrides) {
        Map<String, String> settings = new HashMap<>(overrides);
        settings.putIfAbsent("monitor.grace", "10s");
        MonitorConfig config = MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(), settings));
        Properties properties = MonitorTopology.streamsProperties(config, MonitorEvents.NONE);
        properties.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(MonitorTopology.build(config, MonitorEvents.NONE), properties,
                Instant.parse("2026-11-23T00:00:00Z"));
        gradients = driver.createInputTopic(Topics.GRADIENTS, new StringSerializer(),
                GradwatchSerdes.tensorRecord().serializer());
        steps = driver.createInputTopic(Topics.STEPS, new StringSerializer(), GradwatchSerdes.stepRecord().serializer());
        alerts = driver.createOutputTopic(Topics.ALERTS, new StringDeserializer(),
                GradwatchSerdes.alertEvent().deserializer());
        control = driver.createOutputTopic(Topics.CONTROL, new StringDeserializer(),
                GradwatchSerdes.controlCommand().deserializer());
    }

    @Override
    public void close() {
        driver.close();
    }
}
