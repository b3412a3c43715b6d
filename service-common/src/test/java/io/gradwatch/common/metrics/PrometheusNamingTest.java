package io.gradwatch.common.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

class PrometheusNamingTest {
    private final PrometheusMeterRegistry registry = ServiceMetrics.prometheusRegistry();

    @Test
    void kafkaMetersWithoutADescriptionGetOneEvenWhenBoundAfterTheFirstScrape() {
        registry.scrape();
        Tags node = Tags.of("client.id", "c1", "node.id", "node-1");
        Gauge.builder("kafka.consumer.node.request.latency.avg", () -> 3.0).tags(node).register(registry);
        Gauge.builder("kafka.consumer.node.request.latency.max", () -> 7.0).tags(node).register(registry);
        Gauge.builder("kafka.consumer.some.future.metric", () -> 1.0).tags(node).register(registry);
        String scrape = registry.scrape();
        assertThat(scrape).contains("# HELP kafka_consumer_node_request_latency_avg The average latency of requests"
                        + " to this broker node, in milliseconds")
                .contains("# HELP kafka_consumer_node_request_latency_max The longest latency")
                .contains("# HELP kafka_consumer_some_future_metric Kafka client metric")
                .contains("kafka_consumer_node_request_latency_avg{client_id=\"c1\",node_id=\"node-1\"} 3.0");
    }

    @Test
    void subSecondMetersAreLeftOutAndCountGaugesLoseTheirCountSuffix() {
        Gauge.builder("kafka.consumer.io.wait.time.ns.avg", () -> 1.0).description("ns").register(registry);
        FunctionCounter.builder("kafka.producer.txn.commit.time.ns.total", this, x -> 1.0).description("ns")
                .register(registry);
        Gauge.builder("kafka.app.info.start.time.ms", () -> 1.0).description("ms").register(registry);
        Gauge.builder("kafka.consumer.io.wait.ratio", () -> 0.5).description("share of time waiting").register(registry);
        Gauge.builder("kafka.consumer.connection.count", () -> 2.0).description("connections").register(registry);
        new ProcessorMetrics().bindTo(registry);
        ServiceMetrics.bindProcessCpuSeconds(registry);
        String scrape = registry.scrape();
        assertThat(scrape).doesNotContain("_ns").doesNotContain("_ms").doesNotContain("process_cpu_time")
                .doesNotContain("_count ").doesNotContain("_count{")
                .contains("kafka_consumer_io_wait_ratio 0.5")
                .contains("kafka_consumer_connection_current 2.0")
                .contains("# TYPE system_cpus gauge")
                .contains("# HELP process_cpu_seconds_total CPU time used by the Java virtual machine process");
    }
}
