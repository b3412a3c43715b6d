package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class StackMainTest {
    private final StringWriter err = new StringWriter();

    @Test
    void aBadPortBaseIsAUsageErrorOfOneLine() {
        int exit = StackMain.commandLine().setErr(new PrintWriter(err, true)).execute("status", "--port-base", "80");
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).isEqualTo("gradwatch: --port-base must be between 1024 and 65530, got 80"
                + System.lineSeparator());
    }

    @Test
    void aFailureGivesItsLineAndThenItsStackTrace() {
        CommandLine line = StackMain.commandLine().addSubcommand("broken", new Broken())
                .setErr(new PrintWriter(err, true));
        assertThat(line.execute("broken")).isEqualTo(1);
        assertThat(err.toString()).startsWith("gradwatch: an internal check failed" + System.lineSeparator())
                .contains("java.lang.IllegalArgumentException: an internal check failed")
                .contains("\tat io.gradwatch.launcher.StackMainTest$Broken.call");
    }

    /** A command whose own bug surfaces as an IllegalArgumentException: not the user's error. */
    @Command(name = "broken")
    static final class Broken implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new IllegalArgumentException("an internal check failed");
        }
    }
}
