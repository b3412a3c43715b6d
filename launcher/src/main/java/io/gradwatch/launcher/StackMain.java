package io.gradwatch.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./gradwatch demo|up|down|status}: the local stack. */
@Command(name = "gradwatch", mixinStandardHelpOptions = true,
        description = "The gradwatch local stack: a KRaft broker, monitor-service and alert-service on 127.0.0.1.",
        subcommands = {DemoCommand.class, UpCommand.class, DownCommand.class, StatusCommand.class,
            io.gradwatch.launcher.replay.ReplayCommand.class, io.gradwatch.launcher.topics.TopicsCommand.class})
public final class StackMain implements Runnable {

    public static void main(String[] args) {
        CommandLine commandLine = new CommandLine(new StackMain())
                .setExecutionExceptionHandler((exception, line, parseResult) -> {
                    line.getErr().println("gradwatch: " + exception.getMessage());
                    return 1;
                });
        System.exit(commandLine.execute(args));
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
