package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.Topics;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Python client's real-broker tests (clients/python/tests/test_kafka_roundtrip.py: a probed step's
 * records in order, a control command reaching the loop) against the one broker fixture of the build.
 * {@code ./gradwatch test} runs the client's other tests without a broker and leaves this file to here.
 */
@ExtendWith(KafkaBrokerExtension.class)
class PythonClientBrokerIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @Test
    void theClientsRecordsAndCommandsGoThroughARealBroker(KafkaBroker broker) throws Exception {
        broker.createTopics(Topics.ALL, 2);
        ProcessBuilder builder = new ProcessBuilder("/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "clients/python/tests/test_kafka_roundtrip.py").directory(ROOT.toFile()).redirectErrorStream(true);
        builder.environment().put("GRADWATCH_TEST_BOOTSTRAP", broker.bootstrapServers());
        builder.environment().merge("PYTHONPATH", ROOT.resolve("clients/python").toString(),
                (inherited, client) -> client + File.pathSeparator + inherited);
        Process pytest = builder.start();
        String output = new String(pytest.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(pytest.waitFor(3, TimeUnit.MINUTES)).as(output).isTrue();
        assertThat(pytest.exitValue()).as(output).isZero();
        assertThat(output).as("nothing skipped").contains("2 passed").doesNotContain("skipped");
    }
}
