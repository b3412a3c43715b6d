package io.gradwatch.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TrainerCliTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "--cell cnn                      | --cell 'cnn' is not one of rnn, lstm, gru, mlp",
        "--preset turbo                  | unknown preset 'turbo'; presets: vanishing-rnn, lstm, gru",
        "--hidden 0                      | --hidden must be >= 1, got 0",
        "--tbptt 20,10                   | --tbptt must be K1,K2 with 1 <= K1 <= K2",
        "--optimizer adagrad             | --optimizer 'adagrad' is not one of sgd, momentum, rmsprop, adam",
        "--task file                     | --task file needs --data FILE",
        "--lr -1                         | learning rate must be a positive number",
        "--progress-every soon           | must be a duration like 500ms",
        "--seq-len abc                   | Invalid value for option '--seq-len'",
        "--run-id a\u0000b               | --run-id: run_id has the control character U+0000 at 1",
        "--seq-len 10001                 | --seq-len must be <= 10000",
    })
    void badArgumentsGiveOneLineAndANonZeroExit(String args, String message) {
        Result result = run(("train --no-kafka --steps 1 " + args).split("\\s+"));
        assertThat(result.exit).isEqualTo(2);
        assertThat(result.err).contains(message).doesNotContain("\tat ");
    }

    @Test
    void aFailureWhileStartingGivesItsLineThenItsStackTraceAndExitOne() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Result result = run("train", "--no-kafka", "--steps", "1", "--metrics-port",
                    Integer.toString(taken.getLocalPort()));
            assertThat(result.exit).isEqualTo(1);
            assertThat(result.err).startsWith("gradwatch train: cannot listen on 127.0.0.1:" + taken.getLocalPort())
                    .contains("java.io.UncheckedIOException").contains("\tat ");
        }
    }

    @Test
    void helpListsPresetsAndOptions() {
        Result result = run("train", "--help");
        assertThat(result.exit).isZero();
        assertThat(result.out).contains("vanishing-rnn", "exploding-init", "--clip-norm", "--tbptt", "--no-kafka");
    }

    @Test
    void helpWrapsAtWordsWithinEightyColumns() {
        String help = run("train", "--help").out;
        assertThat(help.lines()).allSatisfy(line -> assertThat(line.length()).as(line).isLessThanOrEqualTo(80));
        // The first sentence flows as one paragraph: no hard break after "through time and".
        assertThat(help.replaceAll("\\s+", " ")).contains("backpropagation through time and publish every layer's "
                + "per-timestep gradient dL/dh_t to Kafka");
        assertThat(help.lines()).noneMatch(line -> line.strip().equals("and"));
    }

    @Test
    void offlineRunPrintsPerTimestepNormsAndResumesFromItsCheckpoint(@TempDir Path dir) {
        Result first = run("train", "--no-kafka", "--run-id", "offline", "--cell", "lstm", "--hidden", "8",
                "--seq-len", "12", "--steps", "20", "--publish-every", "10", "--checkpoint-dir", dir.toString());
        assertThat(first.exit).isZero();
        assertThat(first.out).contains("offline step 10 layer 0 |dL/dh_t|: t0=").contains("decay")
                .contains("done after step 20");
        Result resumed = run("train", "--no-kafka", "--run-id", "offline", "--cell", "lstm", "--hidden", "8",
                "--seq-len", "12", "--steps", "5", "--resume", dir.toString());
        assertThat(resumed.exit).isZero();
        assertThat(resumed.out).contains("resumed from").contains("at step 20").contains("done after step 25");
    }

    private record Result(int exit, String out, String err) {
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream originalOut = System.out;
        PrintStream originalErr = System.err;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = TrainerMain.execute(args);
            return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(originalOut);
            System.setErr(originalErr);
        }
    }
}
