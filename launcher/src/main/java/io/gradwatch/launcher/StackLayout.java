package io.gradwatch.launcher;

import io.gradwatch.common.cli.UsageException;
import java.nio.file.Path;

/**
 * Where a local stack lives: the repository it runs from, its data folder (broker data, service
 * state, logs) and its ports, all derived from one base port so a second stack is one flag away.
 *
 * @param home the repository checkout (holds each module's target/ jars)
 * @param dataDir state and logs of this stack
 * @param portBase Kafka listens on it; controller, monitor and alert-service on the next three
 */
public record StackLayout(Path home, Path dataDir, int portBase) {
    public static final int DEFAULT_PORT_BASE = 9092;

    public StackLayout {
        if (portBase < 1024 || portBase > 65530) {
            throw new UsageException("--port-base must be between 1024 and 65530, got " + portBase);
        }
    }

    public int kafkaPort() {
        return portBase;
    }

    public int controllerPort() {
        return portBase + 1;
    }

    public int monitorPort() {
        return portBase + 2;
    }

    public int alertsPort() {
        return portBase + 3;
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + kafkaPort();
    }

    public Path logDir() {
        return dataDir.resolve("logs");
    }

    public Path pidFile() {
        return dataDir.resolve("stack.pid");
    }

    /** alert-service's base URL, without a trailing slash. */
    public String alertsUrl() {
        return "http://127.0.0.1:" + alertsPort();
    }

    public String dashboardUrl() {
        return alertsUrl() + "/";
    }

    public String metricsUrl() {
        return alertsUrl() + "/metrics";
    }

    public String monitorUrl() {
        return "http://127.0.0.1:" + monitorPort();
    }
}
