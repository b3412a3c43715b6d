package io.gradwatch.launcher;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.module.ModuleFinder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One gradwatch JVM started from a module's jar and runtime class path ({@code target/lib}),
 * its output in {@code logs/<name>.log}. Stopping sends SIGTERM to the process and its
 * descendants, waits, then kills what is left, so nothing outlives the stack.
 */
public final class ManagedProcess {
    private final String name;
    private final Process process;
    private final Path log;

    private ManagedProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /**
     * @param module Maven module whose {@code target/<module>-<version>.jar} and {@code target/lib/*} form the class path
     */
    public static ManagedProcess start(StackLayout layout, String name, String module, String mainClass,
                                       List<String> args, Map<String, String> env, String heap) {
        return start(layout, name, module, mainClass, List.of(), args, env, heap);
    }

    /**
     * The JVM options a trainer runs fastest with: {@code --add-modules=jdk.incubator.vector} (the
     * trainer's Vector API kernels; without it they fall back to scalar loops) when this JDK has
     * the module, else none.
     */
    public static List<String> vectorApiOptions() {
        return ModuleFinder.ofSystem().find("jdk.incubator.vector").isPresent()
                ? List.of("--add-modules=jdk.incubator.vector") : List.of();
    }

    /** As {@link #start(StackLayout, String, String, String, List, Map, String)}, with extra JVM options. */
    public static ManagedProcess start(StackLayout layout, String name, String module, String mainClass,
                                       List<String> jvmOptions, List<String> args, Map<String, String> env,
                                       String heap) {
        Path target = layout.home().resolve(module).resolve("target");
        Path jar = target.resolve(module + "-" + Versions.PROJECT + ".jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build first (./gradwatch builds what is missing)");
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx" + heap);
        command.add("-XX:+UseSerialGC");
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(jar + File.pathSeparator + target.resolve("lib") + "/*");
        command.add(mainClass);
        command.addAll(args);
        Path log = layout.logDir().resolve(name + ".log");
        try {
            Files.createDirectories(layout.logDir());
            boolean incubating = jvmOptions.stream().anyMatch(option -> option.contains("jdk.incubator."));
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
            if (!incubating) {
                builder.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            }
            builder.environment().putAll(env);
            Process process = builder.start();
            if (incubating) {
                copyWithoutIncubatorWarning(process, log, name);
            }
            return new ManagedProcess(name, process, log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name, e);
        }
    }

    /**
     * The JVM prints "WARNING: Using incubator modules: ..." for {@code --add-modules} of an incubator
     * module and has no option to silence it; where gradwatch owns the child's output, that one line is
     * dropped on the way to its log (every other line is copied as it comes).
     */
    private static void copyWithoutIncubatorWarning(Process process, Path log, String name) throws IOException {
        OutputStream out = Files.newOutputStream(log, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        Thread copier = new Thread(() -> {
            try (var in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8)); out) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (!line.startsWith(INCUBATOR_WARNING)) {
                        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                        out.flush();
                    }
                }
            } catch (IOException closed) {
                // the process ended or the log became unwritable: nothing left to copy
            }
        }, name + "-log");
        copier.setDaemon(true);
        copier.start();
    }

    static final String INCUBATOR_WARNING = "WARNING: Using incubator modules: ";

    public String name() {
        return name;
    }

    public Path log() {
        return log;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public int waitFor() throws InterruptedException {
        return process.waitFor();
    }

    public long pid() {
        return process.pid();
    }

    /** SIGKILL, no shutdown hooks: a crash, as fault-injection tests need it. */
    public void kill() throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    public void stop() {
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
