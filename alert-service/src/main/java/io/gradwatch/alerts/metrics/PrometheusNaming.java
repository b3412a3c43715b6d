package io.gradwatch.alerts.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;
import java.util.regex.Pattern;

/**
 * Keeps the Kafka client's own meters (bridged as Kafka names them) acceptable to
 * {@code promtool check metrics}: meters the client reports in nanoseconds or milliseconds
 * ({@code io-time-ns-total}, {@code start-time-ms}) are left out, since Prometheus wants seconds
 * and a filter can rename a meter but not rescale its value; and {@code connection-count} style
 * gauges lose the {@code _count} suffix Prometheus reserves for histograms and summaries.
 */
public final class PrometheusNaming {
    private static final Pattern SUBSECOND_UNIT = Pattern.compile("(^|\\.)(ns|ms)(\\.|$)");

    private PrometheusNaming() {
    }

    public static MeterFilter kafkaClientNames() {
        return new MeterFilter() {
            @Override
            public MeterFilterReply accept(Meter.Id id) {
                return id.getName().startsWith("kafka.") && SUBSECOND_UNIT.matcher(id.getName()).find()
                        ? MeterFilterReply.DENY : MeterFilterReply.NEUTRAL;
            }

            @Override
            public Meter.Id map(Meter.Id id) {
                String name = id.getName();
                if (name.startsWith("kafka.") && name.endsWith(".count") && id.getType() != Meter.Type.TIMER
                        && id.getType() != Meter.Type.DISTRIBUTION_SUMMARY) {
                    return id.withName(name.substring(0, name.length() - ".count".length()) + ".current");
                }
                return id;
            }
        };
    }
}
