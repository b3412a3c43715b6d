package io.gradwatch.testkit;

/**
 * A system property a test sets and puts back as it found it: the test classes of a build share one
 * JVM, and a property one leaves behind changes what the next one sees.
 */
public final class TemporaryProperty implements AutoCloseable {

    private final String name;
    private final String previous;

    private TemporaryProperty(String name, String previous) {
        this.name = name;
        this.previous = previous;
    }

    /** Sets {@code name} to {@code value} until {@link #close()}. */
    public static TemporaryProperty set(String name, String value) {
        TemporaryProperty restore = new TemporaryProperty(name, System.getProperty(name));
        System.setProperty(name, value);
        return restore;
    }

    /** Puts the property back: its earlier value, or none if it had none. */
    @Override
    public void close() {
        if (previous == null) {
            System.clearProperty(name);
        } else {
            System.setProperty(name, previous);
        }
    }
}
