package io.gradwatch.trainer;

import io.gradwatch.common.config.ConfigException;
import io.gradwatch.trainer.cli.TrainCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The trainer's command line: {@code gradwatch train ...}. */
@Command(name = "gradwatch", mixinStandardHelpOptions = true, subcommands = TrainCommand.class, usageHelpAutoWidth = true,
        description = "gradwatch trainer: trains recurrent networks and publishes their gradients.")
public final class TrainerMain implements Runnable {

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /**
     * Runs the command line; bad input gives one line on stderr and exit code 2, not a stack trace;
     * Kafka refusing the credentials or ACLs gives one line naming that and exit code 1.
     */
    public static int execute(String... args) {
        CommandLine commandLine = new CommandLine(new TrainerMain());
        commandLine.setExecutionExceptionHandler((exception, line, parseResult) -> {
            boolean userError = exception instanceof IllegalArgumentException || exception instanceof ConfigException;
            line.getErr().println("gradwatch train: " + exception.getMessage());
            if (exception instanceof TrainCommand.KafkaRefusedException) {
                return 1; // the message says what Kafka refused and which settings to check
            }
            if (!userError) {
                exception.printStackTrace(line.getErr());
            }
            return userError ? 2 : 1;
        });
        return commandLine.execute(args);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
