package io.gradwatch.common.cli;

import io.gradwatch.common.config.ConfigException;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * How a gradwatch command line reports an exception its command threw: always one line first,
 * {@code program: message}; a usage error ({@link UsageException}, a bad setting) then exits
 * {@value #USAGE_EXIT}; an expected failure the message fully explains exits 1; anything else exits 1
 * with its stack trace on stderr behind the line, so the cause of a bug is not lost.
 */
public final class CommandErrors implements IExecutionExceptionHandler {
    /** The exit code of a usage error, as picocli gives for a flag it cannot parse. */
    public static final int USAGE_EXIT = 2;
    public static final int FAILURE_EXIT = 1;

    private final String program;
    private final List<Class<? extends Exception>> explained;

    private CommandErrors(String program, List<Class<? extends Exception>> explained) {
        this.program = program;
        this.explained = explained;
    }

    /**
     * A handler for {@code program}; exceptions of the {@code explained} types are failures whose
     * message says all there is (e.g. Kafka refusing the credentials): one line, no trace.
     */
    @SafeVarargs
    public static CommandErrors of(String program, Class<? extends Exception>... explained) {
        return new CommandErrors(program, List.of(explained));
    }

    @Override
    public int handleExecutionException(Exception exception, CommandLine commandLine, ParseResult parseResult) {
        commandLine.getErr().println(program + ": " + message(exception));
        if (isUsageError(exception)) {
            return USAGE_EXIT;
        }
        if (explained.stream().noneMatch(type -> type.isInstance(exception))) {
            exception.printStackTrace(commandLine.getErr());
        }
        return FAILURE_EXIT;
    }

    private static boolean isUsageError(Exception exception) {
        return exception instanceof UsageException || exception instanceof ConfigException;
    }

    private static String message(Exception exception) {
        return exception.getMessage() == null ? exception.getClass().getSimpleName() : exception.getMessage();
    }
}
