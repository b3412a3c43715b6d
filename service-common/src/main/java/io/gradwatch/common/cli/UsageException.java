package io.gradwatch.common.cli;

/**
 * The user asked for something that cannot be done as asked (a bad flag, value or file): the command
 * line says so in one line and exits {@value CommandErrors#USAGE_EXIT}. Any other exception is a
 * failure of the program and keeps its stack trace. An {@link IllegalArgumentException}, so code that
 * validates a value and callers that catch one keep working.
 */
public final class UsageException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }

    public UsageException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Reads what the user gave; may fail as reading files does. */
    @FunctionalInterface
    public interface Reading<T> {
        T read() throws Exception;
    }

    /**
     * Runs {@code reading}, the step that turns the user's flags, settings and files into values: an
     * {@link IllegalArgumentException} it throws names a bad input, so it becomes a usage error. The
     * same exception thrown later (while running) is a bug, and stays what it is.
     */
    public static <T> T whileReadingInput(Reading<T> reading) throws Exception {
        try {
            return reading.read();
        } catch (UsageException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }
}
