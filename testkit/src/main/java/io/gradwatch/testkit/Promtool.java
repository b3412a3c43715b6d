package io.gradwatch.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Prometheus' own linter ({@code promtool check metrics}, Debian package 'prometheus') on an exposition. */
public final class Promtool {
    private static final Path PROMTOOL = Path.of("/usr/bin/promtool");

    private Promtool() {
    }

    /** Fails with promtool's complaints when {@code exposition} is not clean; {@code file} keeps it for reading. */
    public static void checkMetrics(String exposition, Path file) throws IOException, InterruptedException {
        if (!Files.isExecutable(PROMTOOL)) {
            throw new AssertionError("promtool is not installed: install the Debian package 'prometheus'"
                    + " (./gradwatch test does)");
        }
        Files.writeString(file, exposition);
        Process process = new ProcessBuilder(PROMTOOL.toString(), "check", "metrics")
                .redirectInput(file.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("promtool check metrics did not finish within 60 s");
        }
        if (process.exitValue() != 0) {
            long problems = output.lines().filter(line -> !line.isBlank()).count();
            throw new AssertionError("promtool check metrics: " + problems + " problem(s) in " + file + ":\n" + output);
        }
    }

    /**
     * Scrapes until every metric family in {@code required} is exposed (for instance a Kafka client's
     * per-node meters, which Micrometer binds only at its next refresh, up to a minute after start),
     * linting every scrape that shows a family the previous linted one did not, and the last one.
     *
     * @return the last scrape, which has every required family
     */
    public static String checkMetricsUntilExposed(Callable<String> scrape, List<String> required, Duration within,
                                                  Path dir) throws Exception {
        long start = System.nanoTime();
        long deadline = start + within.toNanos();
        Set<String> linted = Set.of();
        int scrapes = 0;
        while (true) {
            String exposition = scrape.call();
            Set<String> families = families(exposition);
            boolean complete = families.containsAll(required);
            if (complete || !linted.containsAll(families)) {
                checkMetrics(exposition, dir.resolve("scrape-" + ++scrapes + ".txt"));
                linted = families;
            }
            if (complete) {
                System.err.printf("promtool check metrics: %d scrapes clean over %d s, the last with %d families%n",
                        scrapes, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start), families.size());
                return exposition;
            }
            if (System.nanoTime() > deadline) {
                Set<String> missing = new TreeSet<>(required);
                missing.removeAll(families);
                throw new AssertionError("within " + within + " the scrape never exposed " + missing);
            }
            Thread.sleep(1_000);
        }
    }

    /** The sample names each {@code # TYPE} line announces (a counter's with and without {@code _total}). */
    private static Set<String> families(String exposition) {
        return exposition.lines().filter(line -> line.startsWith("# TYPE ")).map(line -> line.split(" "))
                .flatMap(type -> "counter".equals(type[3]) && !type[2].endsWith("_total")
                        ? Stream.of(type[2], type[2] + "_total") : Stream.of(type[2]))
                .collect(Collectors.toCollection(TreeSet::new));
    }
}
