package io.gradwatch.launcher;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options every stack command shares. */
final class StackOptions {
    @Option(names = "--port-base", defaultValue = "9092", paramLabel = "N",
            description = "Kafka on N, its controller on N+1, monitor-service on N+2, alert-service on N+3 "
                    + "(default: ${DEFAULT-VALUE}). A second stack needs another base.")
    int portBase;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "broker data, service state and logs (default: .gradwatch/stack-<port-base>)")
    Path dataDir;

    StackLayout layout() {
        Path home = Path.of(System.getProperty("gradwatch.home", ".")).toAbsolutePath().normalize();
        Path data = dataDir != null ? dataDir.toAbsolutePath()
                : home.resolve(".gradwatch").resolve("stack-" + portBase);
        return new StackLayout(home, data, portBase);
    }
}
