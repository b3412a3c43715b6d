package io.gradwatch.launcher;

/** The project version the launcher finds the module jars under (from its own jar's manifest). */
final class Versions {
    static final String PROJECT = java.util.Objects.requireNonNullElse(
            Versions.class.getPackage().getImplementationVersion(), "0.1.0-SNAPSHOT");

    private Versions() {
    }
}
