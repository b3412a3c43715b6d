package io.gradwatch.alerts;

import io.gradwatch.common.config.Settings;
import io.gradwatch.common.http.HttpSettings;
import io.gradwatch.common.kafka.KafkaDefaults;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * alert-service's settings, built once at start.
 *
 * @param runTtl a run that reported nothing for this long is forgotten, its series removed
 * @param maxRuns runs tracked at most; records of further runs are dropped and counted
 * @param historySize alert events kept for the history API
 * @param positions per-timestep norms exposed per run and layer (evenly spaced from t = 0 to T-1)
 */
public record AlertServiceConfig(Duration runTtl, int maxRuns, int historySize, int positions, Properties kafka,
                                 HttpSettings http) {

    public static Map<String, String> defaults() {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("alerts.run-ttl", "15m");
        defaults.put("alerts.max-runs", "1000");
        defaults.put("alerts.history-size", "500");
        defaults.put("alerts.positions", "8");
        defaults.put("kafka.bootstrap.servers", KafkaDefaults.LOCAL_BOOTSTRAP_SERVERS);
        defaults.putAll(HttpSettings.defaults(8082));
        return defaults;
    }

    public static AlertServiceConfig from(Settings settings) {
        return new AlertServiceConfig(settings.duration("alerts.run-ttl"),
                settings.integerWithin("alerts.max-runs", 1, 1_000_000),
                settings.integerWithin("alerts.history-size", 1, 1_000_000),
                settings.integerWithin("alerts.positions", 2, 64),
                settings.kafkaProperties(), HttpSettings.from(settings));
    }
}
