package io.gradwatch.common.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/** The Prometheus registry every service scrapes, set up the same way in each. */
public final class ServiceMetrics {
    private ServiceMetrics() {
    }

    /**
     * A registry whose every meter, bound now or later, passes {@code promtool check metrics}
     * ({@link PrometheusNaming}).
     */
    public static PrometheusMeterRegistry prometheusRegistry() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().meterFilter(PrometheusNaming.filter());
        return registry;
    }

    /**
     * The process' CPU time in seconds ({@code process_cpu_seconds_total}, Prometheus' usual name), in
     * place of Micrometer's {@code process.cpu.time} in nanoseconds, which {@link PrometheusNaming} leaves out.
     */
    public static void bindProcessCpuSeconds(MeterRegistry registry) {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean hotspot) {
            FunctionCounter.builder("process.cpu", hotspot, bean -> bean.getProcessCpuTime() / 1e9)
                    .baseUnit("seconds").description("CPU time used by the Java virtual machine process")
                    .register(registry);
        }
    }
}
