package io.gradwatch.launcher;

import java.nio.file.Files;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** Stops a stack started by {@code up} or {@code demo} in another terminal. */
@Command(name = "down", mixinStandardHelpOptions = true, description = "Stop the local stack running on --port-base (default 9092).")
final class DownCommand implements Callable<Integer> {
    @Mixin
    StackOptions options;

    @Override
    public Integer call() throws Exception {
        StackLayout layout = options.layout();
        if (!Files.exists(layout.pidFile())) {
            System.out.println("gradwatch: no stack is running under " + layout.dataDir());
            return 0;
        }
        long pid = Long.parseLong(Files.readString(layout.pidFile()).trim());
        Optional<ProcessHandle> launcher = ProcessHandle.of(pid);
        if (launcher.isEmpty() || !launcher.get().isAlive()) {
            Files.deleteIfExists(layout.pidFile());
            System.out.println("gradwatch: stack was not running (stale pid file removed)");
            return 0;
        }
        // SIGTERM runs the launcher's shutdown hook, which stops trainers, services and broker in order.
        launcher.get().destroy();
        if (!launcher.get().onExit().toCompletableFuture().completeOnTimeout(null, 90, TimeUnit.SECONDS)
                .thenApply(handle -> handle != null).get()) {
            launcher.get().descendants().forEach(ProcessHandle::destroyForcibly);
            launcher.get().destroyForcibly();
        }
        System.out.println("gradwatch: stack on port base " + layout.portBase() + " stopped");
        return 0;
    }
}
