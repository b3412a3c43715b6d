package io.gradwatch.launcher;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** Lists the runs on a stack with their health and active alerts, as monitor-service's API reports them. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "List runs, their gradient health and active alerts from monitor-service's API.")
final class StatusCommand implements Callable<Integer> {
    @Mixin
    StackOptions options;

    @Override
    public Integer call() throws InterruptedException {
        StackLayout layout = options.layout();
        List<MonitorClient.RunStatus> runs;
        try {
            runs = new MonitorClient(layout.monitorUrl()).runs();
        } catch (IOException e) {
            System.err.println("gradwatch: " + e.getMessage()
                    + " (start a stack with ./gradwatch up, or pass the --port-base it runs on)");
            return 1;
        }
        render(runs).forEach(System.out::println);
        return 0;
    }

    static List<String> render(List<MonitorClient.RunStatus> runs) {
        String format = "%-24s %8s %10s %8s  %s";
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, format, "run", "step", "decay", "horizon", "active alerts"));
        runs.stream().sorted(Comparator.comparing(MonitorClient.RunStatus::run)).forEach(run -> lines.add(
                String.format(Locale.ROOT, format, run.run(), run.lastStep() < 0 ? "-" : Long.toString(run.lastStep()),
                        Double.isNaN(run.minDecayRatio()) ? "-" : String.format(Locale.ROOT, "%.2e", run.minDecayRatio()),
                        run.minHorizon() < 0 ? "-" : Integer.toString(run.minHorizon()),
                        run.activeAlerts().isEmpty() ? "none" : String.join(",", run.activeAlerts()))));
        if (runs.isEmpty()) {
            lines.add("(no runs yet: start one with ./gradwatch train --preset vanishing-rnn)");
        }
        return lines;
    }
}
