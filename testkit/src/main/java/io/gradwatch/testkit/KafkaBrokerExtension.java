package io.gradwatch.testkit;

import io.gradwatch.localkafka.LocalKafka;
import io.gradwatch.localkafka.LocalKafkaConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * Gives integration tests a real Kafka broker, one per test JVM, shared by all test classes:
 * <ol>
 *   <li>{@code GRADWATCH_TEST_BOOTSTRAP} set: that external broker;</li>
 *   <li>else a reachable Docker engine: Testcontainers' {@code apache/kafka} container;</li>
 *   <li>else a single-node KRaft broker started from Kafka's jars as a child process.</li>
 * </ol>
 * {@code GRADWATCH_TEST_BROKER=local} forces the third path. There is no path that skips: if no
 * broker can be had, the tests fail with the reason. Use it by declaring a {@link KafkaBroker}
 * parameter in a test class annotated {@code @ExtendWith(KafkaBrokerExtension.class)}.
 */
public final class KafkaBrokerExtension implements ParameterResolver {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaBrokerExtension.class);
    private static final String KAFKA_IMAGE = "apache/kafka:4.1.0";

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == KafkaBroker.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return context.getRoot().getStore(ExtensionContext.Namespace.create(KafkaBrokerExtension.class))
                .getOrComputeIfAbsent("broker", key -> start(), Handle.class).broker();
    }

    private static Handle start() {
        String external = System.getenv("GRADWATCH_TEST_BOOTSTRAP");
        Handle handle;
        if (external != null && !external.isBlank()) {
            handle = new Handle(new KafkaBroker(external, KafkaBroker.Source.EXTERNAL, null), () -> { });
        } else if (!"local".equals(System.getenv("GRADWATCH_TEST_BROKER")) && dockerAvailable()) {
            KafkaContainer container = new KafkaContainer(KAFKA_IMAGE);
            container.start();
            handle = new Handle(new KafkaBroker(container.getBootstrapServers(), KafkaBroker.Source.TESTCONTAINERS,
                    null), container::stop);
        } else {
            handle = startLocalProcess();
        }
        String line = "gradwatch testkit: integration tests use the " + handle.broker();
        LOG.info(line);
        System.err.println(line);
        return handle;
    }

    private static Handle startLocalProcess() {
        Path dataDir;
        try {
            dataDir = Files.createTempDirectory("gradwatch-test-kafka-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        LocalKafka kafka = LocalKafka.start(LocalKafkaConfig.defaults(dataDir));
        KafkaBroker broker = new KafkaBroker(kafka.bootstrapServers(), KafkaBroker.Source.LOCAL_PROCESS, kafka);
        return new Handle(broker, () -> {
            kafka.stop();
            deleteRecursively(dataDir);
        });
    }

    private static boolean dockerAvailable() {
        boolean socketOrHost = System.getenv("DOCKER_HOST") != null
                || Files.exists(Path.of("/var/run/docker.sock"))
                || Files.exists(Path.of(System.getProperty("user.home"), ".docker", "run", "docker.sock"));
        if (!socketOrHost) {
            return false;
        }
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            LOG.info("no Docker engine reachable ({}); using a local Kafka process", e.toString());
            return false;
        }
    }

    private static void deleteRecursively(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            LOG.warn("could not delete {}: {}", root, e.toString());
        }
    }

    /** Closed by JUnit when the root context ends, i.e. after the last test of the JVM. */
    private record Handle(KafkaBroker broker, Runnable teardown) implements AutoCloseable {
        @Override
        public void close() {
            teardown.run();
        }
    }
}
