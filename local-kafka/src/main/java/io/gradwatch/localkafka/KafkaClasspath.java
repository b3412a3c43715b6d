package io.gradwatch.localkafka;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;

/**
 * The class path a child broker JVM runs with: this JVM's own, which holds Kafka's jars because
 * local-kafka depends on them. A manifest-only jar (as test runners use) is expanded.
 */
final class KafkaClasspath {
    /** Set this system property to run the broker from another class path. */
    static final String OVERRIDE_PROPERTY = "gradwatch.kafka.classpath";

    private KafkaClasspath() {
    }

    static String resolve() {
        String override = System.getProperty(OVERRIDE_PROPERTY);
        String classpath = override != null ? override : expand(System.getProperty("java.class.path"));
        if (!classpath.contains("kafka_2.13") && override == null) {
            throw new IllegalStateException("Kafka's broker jar (kafka_2.13) is not on the class path; "
                    + "depend on io.gradwatch:local-kafka or set -D" + OVERRIDE_PROPERTY);
        }
        return classpath;
    }

    private static String expand(String classpath) {
        String[] entries = classpath.split(File.pathSeparator);
        if (entries.length != 1 || !entries[0].endsWith(".jar")) {
            return classpath;
        }
        Path jar = Path.of(entries[0]).toAbsolutePath();
        try (JarFile file = new JarFile(jar.toFile())) {
            var manifest = file.getManifest();
            String manifestPath = manifest == null ? null : manifest.getMainAttributes().getValue("Class-Path");
            if (manifestPath == null || manifestPath.isBlank()) {
                return classpath;
            }
            List<String> expanded = new ArrayList<>();
            URI base = jar.getParent().toUri();
            for (String entry : manifestPath.trim().split("\\s+")) {
                expanded.add(Path.of(base.resolve(entry)).toString());
            }
            return String.join(File.pathSeparator, expanded);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the manifest of " + jar, e);
        }
    }
}
