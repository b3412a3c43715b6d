package io.gradwatch.testkit;

import java.time.Duration;
import java.util.function.Predicate;

/**
 * Waits in tests for a condition instead of for a fixed time: polls until the condition holds and,
 * past the timeout, fails with what was awaited and the last value it saw. A probe that throws
 * (a server not listening yet, a topic not there yet) counts as "not yet": the exception is the
 * last observation and becomes the failure's cause.
 */
public final class Await {

    /** The first poll comes soon, so a quick condition costs little; later polls back off to this. */
    private static final Duration FIRST_POLL = Duration.ofMillis(10);
    private static final Duration LONGEST_POLL = Duration.ofMillis(200);

    /** A condition a test awaits; may throw while the thing it asks is not ready. */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    /** Observes a value a test awaits; may throw while the thing it asks is not ready. */
    @FunctionalInterface
    public interface Probe<T> {
        T observe() throws Exception;
    }

    private Await() {
    }

    /** Polls {@code condition} until it holds; past {@code timeout} fails naming {@code description}. */
    public static void until(String description, Duration timeout, Condition condition) {
        until(description, timeout, condition::holds, Boolean::booleanValue);
    }

    /**
     * Polls {@code probe} until its value satisfies {@code accepted} and returns that value; past
     * {@code timeout} fails naming {@code description} and the last value observed.
     */
    public static <T> T until(String description, Duration timeout, Probe<T> probe, Predicate<? super T> accepted) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pollMillis = FIRST_POLL.toMillis();
        Observation<T> last;
        while (true) {
            last = Observation.of(probe);
            if (last.error() == null && accepted.test(last.value())) {
                return last.value();
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError(description + ": not within " + timeout + "; last observed: "
                        + last.describe(), last.error());
            }
            sleep(Math.min(pollMillis, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)));
            pollMillis = Math.min(pollMillis * 2, LONGEST_POLL.toMillis());
        }
    }

    /**
     * Waits a fixed time on purpose: for a test whose fault is a span of time (a broker kept down,
     * a client kept silent), not for something to happen. {@code reason} says which.
     */
    public static void hold(Duration span, String reason) {
        if (reason == null || reason.isBlank()) {
            throw new IllegalArgumentException("a fixed wait needs its reason");
        }
        sleep(span.toMillis());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting", e);
        }
    }

    /** One poll's outcome: the value seen, or what the probe threw. */
    private record Observation<T>(T value, Exception error) {

        static <T> Observation<T> of(Probe<T> probe) {
            try {
                return new Observation<>(probe.observe(), null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting", e);
            } catch (Exception e) {
                return new Observation<>(null, e);
            }
        }

        String describe() {
            return error == null ? String.valueOf(value) : error.toString();
        }
    }
}
