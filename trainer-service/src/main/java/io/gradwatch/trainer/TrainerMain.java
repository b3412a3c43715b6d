package io.gradwatch.trainer;

import io.gradwatch.common.cli.CommandErrors;
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
     * Runs the command line: a bad flag, value or file gives one line on stderr and exit code 2; Kafka
     * refusing the credentials or ACLs gives one line naming that and exit code 1; any other failure
     * gives its line and then its stack trace, exit code 1.
     */
    public static int execute(String... args) {
        CommandErrors errors = CommandErrors.of("gradwatch train", TrainCommand.KafkaRefusedException.class);
        return new CommandLine(new TrainerMain()).setExecutionExceptionHandler(errors).execute(args);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
