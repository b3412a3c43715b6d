package io.gradwatch.common.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Makes the meters that other libraries bind (the Kafka clients' own metrics, bridged by
 * Micrometer's {@code KafkaClientMetrics} and {@code KafkaStreamsMetrics}, and Micrometer's JVM and
 * processor binders) acceptable to {@code promtool check metrics}, whenever they are bound: the
 * Kafka binders add meters up to a minute after start (per broker node, per task), so fixing
 * a scrape taken before that is not enough.
 *
 * <ul>
 *   <li>Meters measured in nanoseconds or milliseconds by name ({@code io-wait-time-ns-avg},
 *       {@code txn-commit-time-ns-total}, {@code start-time-ms}) or by base unit ({@code process.cpu.time})
 *       are left out: Prometheus wants seconds, and a filter can rename a meter but not rescale its
 *       value. Where Kafka has the same fact as a ratio it stays ({@code io-wait-ratio},
 *       {@code io-ratio}); the process' CPU time is registered again in seconds by
 *       {@link ServiceMetrics#bindProcessCpuSeconds}.</li>
 *   <li>Gauges named {@code ...count} ({@code connection-count}, {@code system.cpu.count}) lose the
 *       {@code _count} suffix Prometheus reserves for histograms and summaries:
 *       {@code kafka_consumer_connection_current}, {@code system_cpus}.</li>
 *   <li>Kafka metrics declared without a description (the per-node {@code request-latency-avg} and
 *       {@code -max}, for one) get one, so every family has its HELP line.</li>
 * </ul>
 */
public final class PrometheusNaming {
    private static final Pattern SUBSECOND_NAME = Pattern.compile("(^|\\.)(ns|ms)(\\.|$)");
    private static final Map<String, String> RENAMED = Map.of("system.cpu.count", "system.cpus");
    /** Descriptions for the Kafka metrics that the clients register without one. */
    private static final Map<String, String> KAFKA_DESCRIPTIONS = Map.of(
            "request.latency.avg", "The average latency of requests to this broker node, in milliseconds",
            "request.latency.max", "The longest latency of a request to this broker node, in milliseconds");

    private PrometheusNaming() {
    }

    public static MeterFilter filter() {
        return new MeterFilter() {
            @Override
            public MeterFilterReply accept(Meter.Id id) {
                return subsecond(id) ? MeterFilterReply.DENY : MeterFilterReply.NEUTRAL;
            }

            @Override
            public Meter.Id map(Meter.Id id) {
                return describe(rename(id));
            }
        };
    }

    private static boolean subsecond(Meter.Id id) {
        String unit = id.getBaseUnit();
        return "ns".equals(unit) || "nanoseconds".equals(unit) || "ms".equals(unit) || "milliseconds".equals(unit)
                || id.getName().startsWith("kafka.") && SUBSECOND_NAME.matcher(id.getName()).find();
    }

    private static Meter.Id rename(Meter.Id id) {
        String name = id.getName();
        if (RENAMED.containsKey(name)) {
            return id.withName(RENAMED.get(name));
        }
        if (name.startsWith("kafka.") && name.endsWith(".count") && id.getType() != Meter.Type.TIMER
                && id.getType() != Meter.Type.DISTRIBUTION_SUMMARY) {
            return id.withName(name.substring(0, name.length() - ".count".length()) + ".current");
        }
        return id;
    }

    private static Meter.Id describe(Meter.Id id) {
        String name = id.getName();
        if (!name.startsWith("kafka.") || id.getDescription() != null && !id.getDescription().isBlank()) {
            return id;
        }
        String description = KAFKA_DESCRIPTIONS.entrySet().stream().filter(e -> name.endsWith("." + e.getKey()))
                .map(Map.Entry::getValue).findFirst()
                .orElse("Kafka client metric " + name + " (see Kafka's monitoring documentation)");
        return new Meter.Id(id.getName(), Tags.of(id.getTagsAsIterable()), id.getBaseUnit(), description, id.getType());
    }
}
