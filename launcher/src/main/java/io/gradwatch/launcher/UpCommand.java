package io.gradwatch.launcher;

import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** Starts the stack without the demo and keeps it up until Ctrl-C or {@code ./gradwatch down}. */
@Command(name = "up", mixinStandardHelpOptions = true, description = "Start the local stack (no demo runs) until Ctrl-C or './gradwatch down'.")
final class UpCommand implements Callable<Integer> {
    @Mixin
    StackOptions options;

    @Override
    public Integer call() throws Exception {
        StackLayout layout = options.layout();
        LocalStack stack = LocalStack.start(layout, message -> System.out.println("gradwatch: " + message));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("gradwatch: stopping the stack...");
            stack.close();
            stopped.countDown();
        }, "stack-stop"));
        System.out.println("gradwatch: stack is up.");
        System.out.println("  Kafka        " + layout.bootstrapServers());
        System.out.println("  dashboard    " + layout.dashboardUrl());
        System.out.println("  metrics      " + layout.metricsUrl());
        System.out.println("  monitor API  " + layout.monitorUrl() + "/runs");
        System.out.println("  logs         " + layout.logDir());
        System.out.println("Train against it: ./gradwatch train --preset lstm --run-id my-run --bootstrap-servers "
                + layout.bootstrapServers() + "   Ctrl-C (or ./gradwatch down) stops everything.");
        stopped.await();
        return 0;
    }
}
