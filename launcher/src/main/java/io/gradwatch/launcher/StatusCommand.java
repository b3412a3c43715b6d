package io.gradwatch.launcher;

import io.gradwatch.common.http.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Lists the runs on a stack with their health and active alerts, as monitor-service's API reports
 * them (severities from alert-service's). For scripts: {@code --json}, and the exit code says
 * whether a critical alert fires.
 */
@Command(name = "status", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = "List runs, their gradient health and active alerts from monitor-service's API.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:no critical alert fires", "1:a critical alert fires for a listed run",
            "2:bad options", "3:the stack does not answer (not running, or another --port-base)"})
final class StatusCommand implements Callable<Integer> {
    static final int OK = 0;
    static final int CRITICAL = 1;
    static final int NOT_RUNNING = 3;

    @Mixin
    StackOptions options;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", description = "print the runs as a JSON array instead of a table")
    boolean json;

    @Option(names = "--run", paramLabel = "ID|GLOB",
            description = "only runs whose id is ID, or matches GLOB (* any characters, ? one); repeatable")
    List<String> runs = new ArrayList<>();

    @Option(names = "--watch", paramLabel = "SECONDS", arity = "0..1", fallbackValue = "2",
            description = "refresh every SECONDS (default when given without a value: ${FALLBACK-VALUE}) until Ctrl-C")
    Integer watchSeconds;

    @Override
    public Integer call() throws InterruptedException {
        if (watchSeconds != null && watchSeconds < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--watch must be at least 1 second, got " + watchSeconds);
        }
        return watch(watchSeconds == null ? 1 : Integer.MAX_VALUE,
                Duration.ofSeconds(watchSeconds == null ? 0 : watchSeconds), spec.commandLine().getOut(),
                spec.commandLine().getErr());
    }

    /** Shows the status {@code times} times, {@code every} apart; returns the last exit code. */
    int watch(int times, Duration every, PrintWriter out, PrintWriter err) throws InterruptedException {
        int exit = OK;
        for (int i = 0; i < times; i++) {
            if (i > 0) {
                Thread.sleep(every.toMillis()); // the refresh interval the user asked for
            }
            if (watchSeconds != null && !json) {
                out.print("\033[H\033[2J"); // clear the terminal, as watch(1) does
            }
            exit = once(out, err);
            out.flush();
            err.flush();
        }
        return exit;
    }

    private int once(PrintWriter out, PrintWriter err) throws InterruptedException {
        StackLayout layout = options.layout();
        List<MonitorClient.RunStatus> statuses;
        try {
            MonitorClient client = new MonitorClient(layout.monitorUrl());
            List<MonitorClient.RunStatus> all = client.runs();
            Map<String, Map<String, String>> severities = client.severities(layout.alertsUrl());
            Predicate<String> wanted = matcher(runs);
            statuses = all.stream().filter(run -> wanted.test(run.run()))
                    .map(run -> run.withSeverities(severities.getOrDefault(run.run(), Map.of())))
                    .sorted(Comparator.comparing(MonitorClient.RunStatus::run)).toList();
        } catch (MonitorClient.NotRunningException e) {
            err.println("gradwatch: " + e.getMessage()
                    + ": no stack is running there (start one with ./gradwatch up, or pass the --port-base it runs on)");
            return NOT_RUNNING;
        } catch (IOException e) {
            err.println("gradwatch: " + e.getMessage());
            return NOT_RUNNING;
        }
        if (json) {
            out.println(json(statuses));
        } else {
            List<String> lines = render(statuses);
            if (statuses.isEmpty() && !runs.isEmpty()) {
                lines.set(lines.size() - 1, "(no run matches " + String.join(" or ", runs) + ")");
            }
            lines.forEach(out::println);
        }
        return statuses.stream().anyMatch(MonitorClient.RunStatus::critical) ? CRITICAL : OK;
    }

    /** Exact ids and globs ({@code *}: any characters including '/', {@code ?}: one); none given: every run. */
    static Predicate<String> matcher(List<String> patterns) {
        if (patterns.isEmpty()) {
            return run -> true;
        }
        List<Pattern> compiled = patterns.stream().map(StatusCommand::glob).toList();
        return run -> compiled.stream().anyMatch(pattern -> pattern.matcher(run).matches());
    }

    private static Pattern glob(String glob) {
        StringBuilder regex = new StringBuilder();
        StringBuilder literal = new StringBuilder();
        for (char c : glob.toCharArray()) {
            if (c == '*' || c == '?') {
                regex.append(Pattern.quote(literal.toString())).append(c == '*' ? ".*" : ".");
                literal.setLength(0);
            } else {
                literal.append(c);
            }
        }
        return Pattern.compile(regex.append(Pattern.quote(literal.toString())).toString(), Pattern.DOTALL);
    }

    static String json(List<MonitorClient.RunStatus> runs) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (MonitorClient.RunStatus run : runs) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("run", run.run());
            row.put("step", run.lastStep() < 0 ? null : run.lastStep());
            row.put("minDecayRatio", Double.isNaN(run.minDecayRatio()) ? null : run.minDecayRatio());
            row.put("minHorizon", run.minHorizon() < 0 ? null : run.minHorizon());
            List<Map<String, Object>> alerts = new ArrayList<>();
            for (String alert : run.activeAlerts()) {
                int at = alert.lastIndexOf("@L");
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("type", alert.substring(0, at));
                entry.put("layer", Integer.parseInt(alert.substring(at + 2)));
                entry.put("severity", run.severities().get(alert));
                alerts.add(entry);
            }
            row.put("activeAlerts", alerts);
            row.put("critical", run.critical());
            rows.add(row);
        }
        try {
            return Json.MAPPER.writeValueAsString(rows);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The table, each column as wide as its widest value, so long run ids do not shift the others. */
    static List<String> render(List<MonitorClient.RunStatus> runs) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"run", "step", "decay", "horizon", "active alerts"});
        runs.stream().sorted(Comparator.comparing(MonitorClient.RunStatus::run)).forEach(run -> rows.add(new String[] {
            run.run(), run.lastStep() < 0 ? "-" : Long.toString(run.lastStep()),
            Double.isNaN(run.minDecayRatio()) ? "-" : String.format(Locale.ROOT, "%.2e", run.minDecayRatio()),
            run.minHorizon() < 0 ? "-" : Integer.toString(run.minHorizon()),
            run.activeAlerts().isEmpty() ? "none" : String.join(",", run.activeAlerts().stream()
                    .map(alert -> "CRITICAL".equals(run.severities().get(alert)) ? alert + "!" : alert).toList())}));
        int[] widths = new int[4];
        for (String[] row : rows) {
            for (int c = 0; c < widths.length; c++) {
                widths[c] = Math.max(widths[c], row[c].length());
            }
        }
        String format = "%-" + widths[0] + "s  %" + widths[1] + "s  %" + widths[2] + "s  %" + widths[3] + "s  %s";
        List<String> lines = new ArrayList<>();
        for (String[] row : rows) {
            lines.add(String.format(Locale.ROOT, format, (Object[]) row));
        }
        if (runs.isEmpty()) {
            lines.add("(no runs yet: start one with ./gradwatch train --preset vanishing-rnn)");
        }
        return lines;
    }
}
