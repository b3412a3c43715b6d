package io.gradwatch.localkafka;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How to run a {@link LocalKafka}.
 *
 * @param dataDir folder for the broker's logs, config and its own log file
 * @param brokerPort client port on 127.0.0.1, 0 for a free one
 * @param controllerPort KRaft controller port on 127.0.0.1, 0 for a free one
 * @param heap maximum heap of the broker JVM, e.g. "512m"
 * @param startupTimeout how long to wait for the broker to answer
 * @param shutdownTimeout how long a graceful stop may take before the broker is killed
 * @param overrides extra broker properties, applied last
 * @param security null for the plain PLAINTEXT broker; else its SASL_SSL listener's users and TLS files
 */
public record LocalKafkaConfig(Path dataDir, int brokerPort, int controllerPort, String heap,
                               Duration startupTimeout, Duration shutdownTimeout, Map<String, String> overrides,
                               KafkaSecurity security) {
    public LocalKafkaConfig {
        Objects.requireNonNull(dataDir, "dataDir");
        if (brokerPort < 0 || brokerPort > 65535 || controllerPort < 0 || controllerPort > 65535) {
            throw new IllegalArgumentException("ports must be 0..65535: " + brokerPort + ", " + controllerPort);
        }
        overrides = Map.copyOf(overrides);
    }

    /** Free ports, 512 MB of heap, 90 s to start, 30 s to stop. */
    public static LocalKafkaConfig defaults(Path dataDir) {
        return new LocalKafkaConfig(dataDir, 0, 0, "512m", Duration.ofSeconds(90), Duration.ofSeconds(30), Map.of(),
                null);
    }

    public LocalKafkaConfig withPorts(int broker, int controller) {
        return new LocalKafkaConfig(dataDir, broker, controller, heap, startupTimeout, shutdownTimeout, overrides,
                security);
    }

    public LocalKafkaConfig withOverrides(Map<String, String> extra) {
        return new LocalKafkaConfig(dataDir, brokerPort, controllerPort, heap, startupTimeout, shutdownTimeout, extra,
                security);
    }

    /**
     * A broker whose only client listener is SASL_SSL with SCRAM-SHA-512 (see {@link KafkaSecurity});
     * its users are created when the data folder is formatted, so use a new folder.
     */
    public LocalKafkaConfig secured(KafkaSecurity kafkaSecurity) {
        return new LocalKafkaConfig(dataDir, brokerPort, controllerPort, heap, startupTimeout, shutdownTimeout,
                overrides, Objects.requireNonNull(kafkaSecurity, "security"));
    }
}
