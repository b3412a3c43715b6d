package io.gradwatch.localkafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starting the broker is quiet: its own clients connect only once it listens, so nothing warns meanwhile. */
class LocalKafkaStartIT {

    @Test
    void startingTheBrokerLogsNoConnectionRefusedWarnings(@TempDir Path dir) {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.err;
        String log;
        // slf4j-simple writes to whatever System.err is at the time of each message.
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try (LocalKafka kafka = LocalKafka.start(LocalKafkaConfig.defaults(dir.resolve("kafka")))) {
            kafka.createTopics(List.of("quiet.topic"), 1);
        } finally {
            System.setErr(original);
            log = captured.toString(StandardCharsets.UTF_8);
            System.err.print(log);
        }
        assertThat(log).doesNotContain("could not be established").doesNotContain("Connection to node")
                .doesNotContain(" WARN ").contains("Kafka broker ready at");
    }
}
