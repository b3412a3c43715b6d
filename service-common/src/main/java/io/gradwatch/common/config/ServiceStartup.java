package io.gradwatch.common.config;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
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

    /** Blocks until the JVM is asked to stop (Ctrl-C, SIGTERM), then closes the service. */
    public static void runUntilShutdown(String service, AutoCloseable running) throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                running.close();
            } catch (Exception e) {
                LOG.warn("{} did not close cleanly: {}", service, e.toString());
            }
            stopped.countDown();
        }, service + "-shutdown"));
        stopped.await();
    }
}
