package io.gradwatch.common.config;

import io.gradwatch.common.kafka.KafkaAccessFailure;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What every service's {@code main} does around its own start: settings in, run until stopped. */
public final class ServiceStartup {
    private static final Logger LOG = LoggerFactory.getLogger(ServiceStartup.class);

    private ServiceStartup() {
    }

    /**
     * Reads {@code [--config FILE]}, the environment and the defaults into the service's typed
     * config, and logs the settings with secrets masked. Bad settings print one line and exit 2.
     */
    public static <C> C config(String service, String[] args, Map<String, String> defaults,
                               Function<Settings, C> build) {
        try {
            Path file = args.length == 2 && args[0].equals("--config") ? Path.of(args[1]) : null;
            if (args.length != 0 && file == null) {
                throw new ConfigException("usage: " + service + " [--config FILE]");
            }
            Settings settings = Settings.fromEnvironment(defaults, file, Map.of());
            C config = build.apply(settings);
            LOG.info("{} settings:\n{}", service, settings.describe());
            return config;
        } catch (ConfigException e) {
            System.err.println(service + ": " + e.getMessage());
            System.exit(2);
            throw e;
        }
    }

    /**
     * Checks that Kafka accepts the service's credentials before it starts; if Kafka refuses them,
     * prints one line naming the failure and the settings to check, and exits with status 1. A
     * broker that is not reachable yet is left to the service's own retries.
     */
    public static void requireKafkaAccess(String service, Properties kafka) {
        KafkaAccessFailure.probe(kafka, Duration.ofSeconds(20)).ifPresent(refusal -> {
            LOG.error("{}: {}", service, refusal);
            System.err.println(service + ": " + refusal);
            System.err.flush();
            System.exit(1);
        });
    }

    /** Blocks until the JVM is asked to stop (Ctrl-C, SIGTERM), then closes the service. */
    public static void runUntilShutdown(String service, AutoCloseable running) throws InterruptedException {
        runUntilShutdown(service, running, new CompletableFuture<>());
    }

    /**
     * Blocks until the JVM is asked to stop or {@code fatal} completes: an error the service cannot
     * recover from, such as Kafka refusing its credentials. Then it prints one line naming the
     * cause ({@link KafkaAccessFailure} for refused access) to stderr and exits with status 1; the
     * shutdown hook closes the service either way.
     */
    public static void runUntilShutdown(String service, AutoCloseable running, CompletableFuture<Throwable> fatal)
            throws InterruptedException {
        CompletableFuture<Void> stopped = new CompletableFuture<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                running.close();
            } catch (Exception e) {
                LOG.warn("{} did not close cleanly: {}", service, e.toString());
            }
            stopped.complete(null);
        }, service + "-shutdown"));
        // Wait here, on the main thread: exiting from the thread that failed (a stream thread, say)
        // would make the shutdown hook wait for that very thread.
        try {
            CompletableFuture.anyOf(stopped, fatal).get();
        } catch (ExecutionException e) {
            // fatal never completes exceptionally; treat it like a completion
        }
        if (fatal.isDone() && !stopped.isDone()) {
            System.err.println(service + ": " + fatalMessage(fatal.getNow(null)));
            System.err.flush();
            System.exit(1);
        }
    }

    /** The one line a service ends with for {@code error}. */
    public static String fatalMessage(Throwable error) {
        return KafkaAccessFailure.explain(error).orElseGet(() -> "stopping after an unrecoverable error: " + error);
    }
}
