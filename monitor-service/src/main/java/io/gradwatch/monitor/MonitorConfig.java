package io.gradwatch.monitor;

import io.gradwatch.common.config.Settings;
import io.gradwatch.common.http.HttpSettings;
import io.gradwatch.common.kafka.KafkaDefaults;
import io.gradwatch.monitor.analysis.StepThresholds;
import io.gradwatch.monitor.analysis.Thresholds;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Everything monitor-service reads from its settings, built once at start. Every key, default and
 * reason is in docs/signals.md and docs/configuration.md.
 */
public record MonitorConfig(String applicationId, Thresholds thresholds, StepThresholds stepThresholds,
                            Duration grace, Duration runRetention,
                            boolean closedLoop, double closedLoopClipNorm, Duration punctuateEvery,
                            Properties kafka, HttpSettings http) {

    public static Map<String, String> defaults() {
        Map<String, String> defaults = new LinkedHashMap<>();
        Thresholds th = Thresholds.DEFAULTS;
        defaults.put("monitor.application-id", "gradwatch-monitor");
        defaults.put("monitor.vanishing.step-factor", Double.toString(th.vanishingStepFactor()));
        defaults.put("monitor.vanishing.norm-floor", Double.toString(th.vanishingNormFloor()));
        defaults.put("monitor.exploding.step-factor", Double.toString(th.explodingStepFactor()));
        defaults.put("monitor.exploding.norm-ceiling", Double.toString(th.explodingNormCeiling()));
        defaults.put("monitor.exploding.spike-factor", Double.toString(th.spikeFactor()));
        defaults.put("monitor.exploding.spike-min-history", Integer.toString(th.spikeMinHistory()));
        defaults.put("monitor.baseline.window", Integer.toString(th.baselineWindow()));
        defaults.put("monitor.dead-relu.fraction", Double.toString(th.deadReluFraction()));
        defaults.put("monitor.saturation.fraction", Double.toString(th.saturationFraction()));
        defaults.put("monitor.saturation.margin", Double.toString(th.saturationMargin()));
        defaults.put("monitor.alert.fire-after", Integer.toString(th.fireAfter()));
        defaults.put("monitor.alert.resolve-after", Integer.toString(th.resolveAfter()));
        defaults.put("monitor.alert.severe-factor", Double.toString(th.severeFactor()));
        StepThresholds st = StepThresholds.DEFAULTS;
        defaults.put("monitor.loss.window", Integer.toString(st.lossWindow()));
        defaults.put("monitor.loss.diff-percent", Double.toString(st.lossDiffPercent()));
        defaults.put("monitor.stalled.after", st.stalledAfter().toSeconds() + "s");
        defaults.put("monitor.update-ratio.max", Double.toString(st.updateRatioMax()));
        defaults.put("monitor.update-ratio.min", Double.toString(st.updateRatioMin()));
        defaults.put("monitor.update-ratio.epsilon", Double.toString(st.updateRatioEpsilon()));
        defaults.put("monitor.step.spike-factor", Double.toString(st.gradSpikeFactor()));
        defaults.put("monitor.closed-loop.escalate-after", Integer.toString(st.escalateAfter()));
        defaults.put("monitor.closed-loop.learning-rate-factor", Double.toString(st.learningRateFactor()));
        defaults.put("monitor.grace", "30s");
        defaults.put("monitor.run-retention", "1h");
        defaults.put("monitor.closed-loop", "false");
        defaults.put("monitor.closed-loop.clip-norm", "1.0");
        defaults.put("monitor.punctuate-every", "1s");
        defaults.put("kafka.bootstrap.servers", KafkaDefaults.LOCAL_BOOTSTRAP_SERVERS);
        defaults.put("kafka.processing.guarantee", "exactly_once_v2");
        // Two threads: while one waits for its transaction to commit (every 100 ms), the other processes.
        defaults.put("kafka.num.stream.threads", "2");
        defaults.putAll(HttpSettings.defaults(8081));
        return defaults;
    }

    public static MonitorConfig from(Settings settings) {
        Thresholds thresholds = new Thresholds(
                settings.decimalWithin("monitor.vanishing.step-factor", 1e-9, 0.999999),
                settings.decimalWithin("monitor.vanishing.norm-floor", 0, Double.MAX_VALUE),
                settings.decimalWithin("monitor.exploding.step-factor", 1.000001, 1e9),
                settings.decimalWithin("monitor.exploding.norm-ceiling", 0, Double.MAX_VALUE),
                settings.decimalWithin("monitor.exploding.spike-factor", 1, 1e12),
                settings.integerWithin("monitor.exploding.spike-min-history", 1, 10_000),
                settings.integerWithin("monitor.baseline.window", 1, 10_000),
                settings.decimalWithin("monitor.dead-relu.fraction", 0, 1),
                settings.decimalWithin("monitor.saturation.fraction", 0, 1),
                settings.decimalWithin("monitor.saturation.margin", 0, 0.5),
                settings.integerWithin("monitor.alert.fire-after", 1, 10_000),
                settings.integerWithin("monitor.alert.resolve-after", 1, 10_000),
                settings.decimalWithin("monitor.alert.severe-factor", 1.000001, 1e12));
        StepThresholds stepThresholds = new StepThresholds(
                settings.integerWithin("monitor.loss.window", 1, 10_000),
                settings.decimalWithin("monitor.loss.diff-percent", -1e6, 100),
                settings.duration("monitor.stalled.after"),
                settings.decimalWithin("monitor.update-ratio.max", 0, Double.MAX_VALUE),
                settings.decimalWithin("monitor.update-ratio.min", 0, Double.MAX_VALUE),
                settings.decimalWithin("monitor.update-ratio.epsilon", 0, 1),
                settings.decimalWithin("monitor.step.spike-factor", 1, 1e12),
                settings.integerWithin("monitor.closed-loop.escalate-after", 1, 1_000_000),
                settings.decimalWithin("monitor.closed-loop.learning-rate-factor", 1e-6, 0.999999));
        return new MonitorConfig(settings.string("monitor.application-id"), thresholds, stepThresholds,
                settings.duration("monitor.grace"), settings.duration("monitor.run-retention"),
                settings.bool("monitor.closed-loop"), settings.decimalWithin("monitor.closed-loop.clip-norm", 1e-9, 1e9),
                settings.duration("monitor.punctuate-every"), settings.kafkaProperties(), HttpSettings.from(settings));
    }
}
