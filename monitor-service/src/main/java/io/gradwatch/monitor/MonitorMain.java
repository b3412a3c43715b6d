package io.gradwatch.monitor;

import io.gradwatch.common.config.ServiceStartup;
import io.gradwatch.common.http.HttpAuth;
import io.gradwatch.common.http.HttpService;
import io.gradwatch.common.http.Response;
import io.gradwatch.common.kafka.KafkaAccessFailure;
import io.gradwatch.common.metrics.ServiceMetrics;
import io.gradwatch.monitor.http.HealthQueries;
import io.gradwatch.monitor.metrics.MonitorMetrics;
import io.gradwatch.monitor.readiness.Readiness;
import io.gradwatch.monitor.topology.MonitorTopology;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.HostInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * monitor-service: builds the topology, starts Kafka Streams and the HTTP server (interactive
 * queries, /metrics, /healthz, /readyz), and closes both on shutdown.
 * Usage: {@code MonitorMain [--config FILE]}; settings also from GRADWATCH_* variables.
 */
public final class MonitorMain {
    private static final Logger LOG = LoggerFactory.getLogger(MonitorMain.class);

    private MonitorMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        MonitorConfig config = ServiceStartup.config("monitor-service", args, MonitorConfig.defaults(), MonitorConfig::from);
        ServiceStartup.requireKafkaAccess("monitor-service", config.kafka());
        Running running = start(config);
        ServiceStartup.runUntilShutdown("monitor-service", running, running.fatal());
    }

    /**
     * A started monitor: Kafka Streams and its HTTP server. {@code fatal} completes when Kafka
     * refused the monitor's credentials or ACLs; Kafka Streams is then shut down, not retried.
     */
    public record Running(KafkaStreams streams, HttpService http, PrometheusMeterRegistry registry,
                          CompletableFuture<Throwable> fatal) implements AutoCloseable {
        @Override
        public void close() {
            http.close();
            streams.close(Duration.ofSeconds(30));
            registry.close();
        }
    }

    /** What this instance sends when it forwards a query to a peer with the same settings. */
    private static String peerAuthorization(HttpAuth auth) {
        if (auth instanceof HttpAuth.Basic basic) {
            return "Basic " + Base64.getEncoder().encodeToString((basic.user() + ":" + basic.password())
                    .getBytes(StandardCharsets.UTF_8));
        }
        return auth instanceof HttpAuth.Bearer bearer ? "Bearer " + bearer.token() : null;
    }

    public static Running start(MonitorConfig config) {
        PrometheusMeterRegistry registry = ServiceMetrics.prometheusRegistry();
        MonitorMetrics events = new MonitorMetrics(registry);
        HttpService http = new HttpService(config.http());
        Readiness[] readiness = new Readiness[1];
        HealthQueries[] queries = new HealthQueries[1];
        http.probes(() -> readiness[0] == null ? Optional.of("starting") : readiness[0].notReady(), registry::scrape)
                .get("/runs", request -> Response.json("local".equals(request.allowQuery("scope")
                        .choiceQueryParam("scope", "all", "all", "local")) ? queries[0].localRuns() : queries[0].allRuns()))
                .get("/runs/{runId}/health", request -> Response.json(queries[0].runHealth(request.allowQuery()
                        .idParam("runId"))))
                .start("monitor-http");
        HostInfo self = new HostInfo(config.http().host(), http.port());
        Properties properties = MonitorTopology.streamsProperties(config, events);
        properties.put(StreamsConfig.APPLICATION_SERVER_CONFIG, self.host() + ":" + self.port());
        KafkaStreams streams = new KafkaStreams(MonitorTopology.build(config, events), properties);
        CompletableFuture<Throwable> fatal = new CompletableFuture<>();
        streams.setUncaughtExceptionHandler(exception -> {
            var refused = KafkaAccessFailure.explain(exception);
            if (refused.isPresent()) {
                // A new thread would be refused the same way: stop, saying why in one line.
                LOG.error("monitor-service: {}", refused.get());
                fatal.complete(exception);
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            }
            readiness[0].threadDied();
            LOG.error("stream thread failed; replacing it", exception);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        new KafkaStreamsMetrics(streams).bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        ServiceMetrics.bindProcessCpuSeconds(registry);
        queries[0] = new HealthQueries(streams, self, peerAuthorization(config.http().auth()));
        readiness[0] = Readiness.of(streams, Integer.parseInt(properties.getProperty(
                StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1")));
        streams.start();
        LOG.info("monitor-service started: application {} on {}, HTTP {}", config.applicationId(),
                config.kafka().getProperty("bootstrap.servers"), http.baseUri());
        return new Running(streams, http, registry, fatal);
    }
}
