package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.testkit.Await;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The demo in a short mode, as a newcomer runs it: a real broker, monitor-service and
 * alert-service as child processes, six trainers, and the verdict the seeds predict for each: the
 * unlooped exploding run pages EXPLODING before its NON_FINITE, and the closed-loop run is rescued.
 * Needs the module jars (mvn verify builds them before this module's integration tests).
 */
class DemoIT {

    @Test
    void everyRunShowsTheAlertTheSeedsPredictAndNothingIsLeftRunning(@TempDir Path data) throws Exception {
        String home = Path.of("..").toAbsolutePath().normalize().toString();
        String previousHome = System.getProperty("gradwatch.home");
        System.setProperty("gradwatch.home", home);
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        ByteArrayOutputStream capturedErr = new ByteArrayOutputStream();
        PrintStream originalOut = System.out;
        PrintStream originalErr = System.err;
        // Processes other test classes of this JVM left are not the demo's.
        Set<Long> before = ProcessHandle.current().descendants().map(ProcessHandle::pid)
                .collect(Collectors.toSet());
        int exit;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(capturedErr, true, StandardCharsets.UTF_8));
            exit = new CommandLine(new StackMain()).execute("demo", "--duration", "60",
                    "--port-base", Integer.toString(TestPorts.freePortBase(23000)), "--data-dir", data.toString());
        } finally {
            System.setOut(originalOut);
            System.setErr(originalErr);
            if (previousHome == null) {
                System.clearProperty("gradwatch.home");
            } else {
                System.setProperty("gradwatch.home", previousHome);
            }
        }
        String output = captured.toString(StandardCharsets.UTF_8);
        String errors = capturedErr.toString(StandardCharsets.UTF_8);
        System.out.println(output);
        System.err.print(errors);
        // A quiet, honest start: no warnings while the broker starts, one line saying it is ready, and no
        // incubator-module warning in the trainers' logs.
        assertThat(output + errors).doesNotContain("Connection to node").doesNotContain("could not be established")
                .doesNotContain("WARNING: Using incubator modules");
        assertThat(output).containsOnlyOnce("gradwatch: Kafka ready on ");
        try (var logs = Files.list(data.resolve("logs"))) {
            List<Path> trainerLogs = logs.filter(f -> f.getFileName().toString().startsWith("trainer-")).toList();
            assertThat(trainerLogs).hasSize(DemoRun.ALL.size());
            for (Path log : trainerLogs) {
                assertThat(Files.readString(log)).as(log.toString())
                        .doesNotContain("WARNING: Using incubator modules").contains("step");
            }
        }
        assertThat(exit).as(output).isZero();
        assertThat(output).contains("OK   demo-vanilla-rnn     VANISHING as expected")
                .containsPattern("OK   demo-lstm            healthy, as expected, horizon \\d+ vs the vanilla RNN's \\d+")
                .containsPattern("OK   demo-gru             healthy, as expected, horizon \\d+ vs the vanilla RNN's \\d+")
                .contains("OK   demo-exploding-rnn   EXPLODING as expected, before NON_FINITE")
                .contains("OK   demo-dead-relu       DEAD_RELU as expected")
                .containsPattern("OK   demo-rescued-rnn     rescued: EXPLODING, then scale_learning_rate@\\d+;"
                        + " EXPLODING resolved, loss \\S+")
                .contains("every run behaved as the seeds predict");
        // The rescued run's row in the final summary: a finite loss, and EXPLODING among the alerts it fired.
        String summary = output.substring(output.lastIndexOf("gradwatch: final summary"));
        Matcher row = Pattern.compile("(?m)^demo-rescued-rnn\\s+\\d+\\s+(\\d+\\.\\d{4})\\s.*$")
                .matcher(summary);
        assertThat(row.find()).as(summary).isTrue();
        assertThat(Double.parseDouble(row.group(1))).as(row.group()).isFinite();
        assertThat(row.group()).as("fired so far").containsPattern("/ \\S*EXPLODING").doesNotContain("NON_FINITE");
        Await.until("the demo's child processes to exit", Duration.ofSeconds(15), () -> demoProcessesAlive(before) == 0);
    }

    private static long demoProcessesAlive(Set<Long> before) {
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                .filter(process -> !before.contains(process.pid())).count();
    }
}
