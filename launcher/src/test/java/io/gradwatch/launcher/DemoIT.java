package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The demo in a short mode, as a newcomer runs it: a real broker, monitor-service and
 * alert-service as child processes, five trainers, and the verdict the seeds predict for each.
 * Needs the module jars (mvn verify builds them before this module's integration tests).
 */
class DemoIT {

    @Test
    void everyRunShowsTheAlertTheSeedsPredictAndNothingIsLeftRunning(@TempDir Path data) throws Exception {
        String home = Path.of("..").toAbsolutePath().normalize().toString();
        String previousHome = System.getProperty("gradwatch.home");
        System.setProperty("gradwatch.home", home);
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream originalOut = System.out;
        int exit;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            exit = new CommandLine(new StackMain()).execute("demo", "--duration", "45",
                    "--port-base", Integer.toString(TestPorts.freePortBase(23000)), "--data-dir", data.toString());
        } finally {
            System.setOut(originalOut);
            if (previousHome == null) {
                System.clearProperty("gradwatch.home");
            } else {
                System.setProperty("gradwatch.home", previousHome);
            }
        }
        String output = captured.toString(StandardCharsets.UTF_8);
        System.out.println(output);
        assertThat(exit).as(output).isZero();
        assertThat(output).contains("OK   demo-vanilla-rnn     VANISHING as expected")
                .containsPattern("OK   demo-lstm            healthy, as expected, horizon \\d+ vs the vanilla RNN's \\d+")
                .containsPattern("OK   demo-gru             healthy, as expected, horizon \\d+ vs the vanilla RNN's \\d+")
                .containsPattern("OK   demo-exploding-rnn   EXPLODING as expected(, before NON_FINITE)?\\b")
                .contains("OK   demo-dead-relu       DEAD_RELU as expected")
                .contains("every run behaved as the seeds predict");
        assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).count())
                .as("child processes left running").isZero();
    }
}
