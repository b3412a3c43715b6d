package io.gradwatch.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsTest {
    private static final Map<String, String> DEFAULTS = Map.of(
            "monitor.vanishing.decay-floor", "1e-3",
            "monitor.grace", "30s",
            "monitor.closed-loop", "false");

    @Test
    void laterSourcesOverrideEarlierOnes(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("gradwatch.properties");
        Files.writeString(file, "monitor.grace=10s\nmonitor.closed-loop=true\n");
        Settings settings = Settings.load(DEFAULTS, file,
                Map.of("GRADWATCH_MONITOR_GRACE", "5s", "PATH", "/bin"),
                Map.of("monitor.closed-loop", "false"));
        assertThat(settings.decimal("monitor.vanishing.decay-floor")).isEqualTo(1e-3);
        assertThat(settings.duration("monitor.grace")).isEqualTo(Duration.ofSeconds(5));
        assertThat(settings.bool("monitor.closed-loop")).isFalse();
        assertThat(settings.describe()).contains("monitor.grace = 5s  (env GRADWATCH_MONITOR_GRACE)");
    }

    @Test
    void kafkaSettingsPassThroughFromFileAndEnvironment(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("client.properties");
        Files.writeString(file, "kafka.security.protocol=SASL_SSL\nkafka.sasl.mechanism=SCRAM-SHA-512\n");
        Settings settings = Settings.load(DEFAULTS, file,
                Map.of("GRADWATCH_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092",
                        "GRADWATCH_KAFKA_SASL_JAAS_CONFIG", "org.apache... password=\"hunter2\";"), Map.of());
        assertThat(settings.kafkaProperties())
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("bootstrap.servers", "127.0.0.1:9092")
                .containsKey("sasl.jaas.config");
        assertThat(settings.describe()).doesNotContain("hunter2").contains("kafka.sasl.jaas.config = ******");
    }

    @Test
    void unknownKeysAndBadValuesAreClearErrors(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("typo.properties");
        Files.writeString(file, "monitor.gracee=10s\n");
        assertThatThrownBy(() -> Settings.load(DEFAULTS, file, Map.of(), Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("unknown setting 'monitor.gracee'")
                .hasMessageContaining("monitor.grace");
        Settings bad = Settings.load(DEFAULTS, null, Map.of(), Map.of("monitor.grace", "soon"));
        assertThatThrownBy(() -> bad.duration("monitor.grace"))
                .hasMessageContaining("'monitor.grace' must be a duration").hasMessageContaining("command line");
        assertThatThrownBy(() -> Settings.load(DEFAULTS, dir.resolve("missing"), Map.of(), Map.of()))
                .hasMessageContaining("does not exist");
    }

    @Test
    void boundsAreChecked() {
        Settings settings = Settings.load(DEFAULTS, null, Map.of(), Map.of("monitor.vanishing.decay-floor", "2"));
        assertThatThrownBy(() -> settings.decimalWithin("monitor.vanishing.decay-floor", 0, 1))
                .hasMessageContaining("must be between 0.0 and 1.0");
    }

    @Test
    void environmentVariableNamesFollowTheKey() {
        assertThat(Settings.environmentVariableFor("monitor.vanishing.decay-floor"))
                .isEqualTo("GRADWATCH_MONITOR_VANISHING_DECAY_FLOOR");
    }
}
