package io.gradwatch.alerts;

import io.gradwatch.alerts.http.AlertApi;
import io.gradwatch.alerts.http.Dashboard;
import io.gradwatch.alerts.ingest.FleetConsumer;
import io.gradwatch.alerts.metrics.FleetMetrics;
import io.gradwatch.alerts.state.FleetState;
import io.gradwatch.common.config.ServiceStartup;
import io.gradwatch.common.http.HttpService;
import io.gradwatch.common.metrics.ServiceMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.Optional;

/**
 * alert-service: the fleet state from Kafka, exposed as Prometheus metrics and a JSON API.
 * Usage: {@code AlertServiceMain [--config FILE]}; settings also from GRADWATCH_* variables.
 */
public final class AlertServiceMain {
    private static final Logger LOG = LoggerFactory.getLogger(AlertServiceMain.class);

    private AlertServiceMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        AlertServiceConfig config = ServiceStartup.config("alert-service", args, AlertServiceConfig.defaults(), AlertServiceConfig::from);
        ServiceStartup.requireKafkaAccess("alert-service", config.kafka());
        Running running = start(config);
        ServiceStartup.runUntilShutdown("alert-service", running, running.consumer().fatal());
    }

    /** A started alert-service. */
    public record Running(FleetConsumer consumer, HttpService http, FleetState state) implements AutoCloseable {
        @Override
        public void close() {
            http.close();
            consumer.close();
        }
    }

    public static Running start(AlertServiceConfig config) {
        PrometheusMeterRegistry registry = ServiceMetrics.prometheusRegistry();
        FleetMetrics metrics = new FleetMetrics(registry, config.positions(), System::currentTimeMillis);
        FleetState state = new FleetState(config.maxRuns(), config.runTtl().toMillis(), config.historySize(),
                System::currentTimeMillis, metrics);
        metrics.bindRunsTracked(state);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        FleetConsumer consumer = new FleetConsumer(config.kafka(), state, registry);
        HttpService http = new HttpService(config.http())
                .probes(() -> consumer.caughtUp() ? Optional.empty() : Optional.of("catching up with Kafka"),
                        registry::scrape);
        Dashboard.routes(new AlertApi(state).routes(http)).start("alert-service-http");
        consumer.start();
        LOG.info("alert-service started: Kafka {}, HTTP {}", config.kafka().getProperty("bootstrap.servers"),
                http.baseUri());
        return new Running(consumer, http, state);
    }
}
