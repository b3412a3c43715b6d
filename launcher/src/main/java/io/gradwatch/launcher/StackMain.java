package io.gradwatch.launcher;

import io.gradwatch.common.cli.CommandErrors;
import io.gradwatch.launcher.replay.ReplayCommand;
import io.gradwatch.launcher.topics.TopicsCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./gradwatch demo|up|down|status}: the local stack. */
@Command(name = "gradwatch", mixinStandardHelpOptions = true,
        description = "The gradwatch local stack: a KRaft broker, monitor-service and alert-service on 127.0.0.1.",
        subcommands = {DemoCommand.class, UpCommand.class, DownCommand.class, StatusCommand.class,
            ReplayCommand.class, TopicsCommand.class})
public final class StackMain implements Runnable {

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line: a usage error gives one line and exit code 2; any other failure its line and
     * then its stack trace on stderr, exit code 1.
     */
    static CommandLine commandLine() {
        return new CommandLine(new StackMain()).setExecutionExceptionHandler(CommandErrors.of("gradwatch"));
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
