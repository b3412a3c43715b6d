package io.gradwatch.launcher;

import java.util.Objects;

/** The project version the launcher finds the module jars under (from its own jar's manifest). */
final class Versions {
    static final String PROJECT = Objects.requireNonNullElse(
            Versions.class.getPackage().getImplementationVersion(), "0.1.0-SNAPSHOT");

    private Versions() {
    }
}
