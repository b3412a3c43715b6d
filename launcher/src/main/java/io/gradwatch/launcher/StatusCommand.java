package io.gradwatch.launcher;

import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** Lists the runs on a stack with their health and alerts. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "List runs and their alerts on the local stack.")
final class StatusCommand implements Callable<Integer> {
    @Mixin
    StackOptions options;

    @Override
    public Integer call() {
        StackLayout layout = options.layout();
        RunBoard board = new RunBoard();
        try (BoardFeed feed = new BoardFeed(layout.bootstrapServers(), board)) {
            for (int i = 0; i < 6; i++) {
                feed.pollOnce(Duration.ofMillis(500));
            }
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            System.err.println("gradwatch: no stack answers at " + layout.bootstrapServers()
                    + " (start one with ./gradwatch up, or pass --port-base)");
            return 1;
        }
        board.render().forEach(System.out::println);
        return 0;
    }
}
