package io.gradwatch.common.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradwatch.common.config.ConfigException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class CommandErrorsTest {
    private static final String NL = System.lineSeparator();

    @Test
    void aUsageErrorIsOneLineAndExitTwo() {
        Outcome outcome = run(new UsageException("--steps must be >= 1, got 0"));
        assertThat(outcome.exit()).isEqualTo(2);
        assertThat(outcome.err()).isEqualTo("prog: --steps must be >= 1, got 0" + NL);
    }

    @Test
    void aBadSettingIsAUsageErrorToo() {
        Outcome outcome = run(new ConfigException("unknown setting 'kafka.bootstrap.server'"));
        assertThat(outcome.exit()).isEqualTo(2);
        assertThat(outcome.err()).isEqualTo("prog: unknown setting 'kafka.bootstrap.server'" + NL);
    }

    @Test
    void anyOtherIllegalArgumentIsAFailureThatKeepsItsStackTraceBehindTheLine() {
        Outcome outcome = run(new IllegalArgumentException("index 7 out of bounds"));
        assertThat(outcome.exit()).isEqualTo(1);
        assertThat(outcome.err()).startsWith("prog: index 7 out of bounds" + NL + "java.lang.IllegalArgumentException")
                .contains("\tat ");
    }

    @Test
    void anExplainedFailureIsOneLineAndExitOne() {
        CommandErrors errors = CommandErrors.of("prog", IllegalStateException.class);
        Outcome outcome = run(errors, new IllegalStateException("Kafka refused the credentials of user 'x'"));
        assertThat(outcome.exit()).isEqualTo(1);
        assertThat(outcome.err()).isEqualTo("prog: Kafka refused the credentials of user 'x'" + NL);
    }

    @Test
    void anExceptionWithoutAMessageIsNamedByItsType() {
        assertThat(run(new NullPointerException()).err()).startsWith("prog: NullPointerException" + NL);
    }

    @Test
    void readingInputTurnsAnIllegalArgumentIntoAUsageErrorKeepingItAsTheCause() throws Exception {
        IllegalArgumentException bad = new IllegalArgumentException("--hidden must be >= 1, got 0");
        assertThatThrownBy(() -> UsageException.whileReadingInput(() -> {
            throw bad;
        })).isInstanceOf(UsageException.class).hasMessage("--hidden must be >= 1, got 0").hasCause(bad);
        assertThat(UsageException.whileReadingInput(() -> 42)).isEqualTo(42);
    }

    private record Outcome(int exit, String err) {
    }

    private static Outcome run(RuntimeException thrown) {
        return run(CommandErrors.of("prog"), thrown);
    }

    private static Outcome run(CommandErrors errors, RuntimeException thrown) {
        StringWriter err = new StringWriter();
        int exit = new CommandLine(new Throwing(thrown)).setExecutionExceptionHandler(errors)
                .setErr(new PrintWriter(err, true)).execute();
        return new Outcome(exit, err.toString());
    }

    @Command(name = "throwing")
    private static final class Throwing implements Callable<Integer> {
        private final RuntimeException thrown;

        Throwing(RuntimeException thrown) {
            this.thrown = thrown;
        }

        @Override
        public Integer call() {
            throw thrown;
        }
    }
}
