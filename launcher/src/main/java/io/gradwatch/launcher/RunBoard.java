package io.gradwatch.launcher;

import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.StepRecord;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The terminal summary of the runs on a stack: one line per run with step, loss, accuracy, decay
 * ratio, horizon and alert state, folded from the records on gradwatch.steps, gradwatch.health and
 * gradwatch.alerts. Not thread-safe: one thread applies records and renders.
 */
public final class RunBoard {
    private final Map<String, RunRow> rows = new TreeMap<>();

    public void apply(StepRecord step) {
        RunRow row = row(step.getRunId());
        if (step.getStep() >= row.step) {
            row.step = step.getStep();
            row.loss = step.getLoss();
            row.accuracy = step.getAccuracy();
            row.gradNorm = step.getGradNorm();
        }
    }

    public void apply(LayerHealth health) {
        RunRow row = row(health.getRunId());
        if (health.getStep() >= row.healthStep) {
            if (health.getStep() > row.healthStep) {
                row.rememberHorizon();
                row.healthStep = health.getStep();
                row.decayByLayer.clear();
                row.horizonByLayer.clear();
            }
            row.decayByLayer.put(health.getLayer(), health.getDecayRatio());
            row.horizonByLayer.put(health.getLayer(), health.getHorizon());
        }
    }

    public void apply(AlertEvent alert) {
        RunRow row = row(alert.getRunId());
        String key = alert.getType() + "@L" + alert.getLayer();
        if (alert.getState() == AlertState.FIRING) {
            row.active.add(key);
            row.everFired.add(alert.getType());
        } else if (alert.getState() == AlertState.RESOLVED) {
            row.active.remove(key);
        } else if (alert.getState() == AlertState.ACTION_TAKEN && alert.hasAction()) {
            row.actions.add(new Action(alert.getAction().getCommandCase(), alert.getStep()));
        }
    }

    /** One closed-loop action the monitor reported (an ACTION_TAKEN alert event). */
    public record Action(ControlCommand.CommandCase command, long step) {
    }

    /** The closed loop's actions on {@code runId}, in the order they were reported. */
    public List<Action> actions(String runId) {
        RunRow row = rows.get(runId);
        return row == null ? List.of() : List.copyOf(row.actions);
    }

    /** Alert types firing now (on any layer) for {@code runId}. */
    public Set<AlertType> firingNow(String runId) {
        RunRow row = rows.get(runId);
        if (row == null) {
            return Set.of();
        }
        Set<AlertType> types = new LinkedHashSet<>();
        row.active.forEach(key -> types.add(AlertType.valueOf(key.substring(0, key.indexOf('@')))));
        return types;
    }

    /** The loss of the run's latest step record, NaN before any. */
    public double loss(String runId) {
        RunRow row = rows.get(runId);
        return row == null ? Double.NaN : row.loss;
    }

    /** Alert types that have fired at least once for {@code runId}, in the order they first fired. */
    public Set<AlertType> everFired(String runId) {
        RunRow row = rows.get(runId);
        return row == null ? Set.of() : Collections.unmodifiableSet(new LinkedHashSet<>(row.everFired));
    }

    /**
     * The run's horizon for a verdict: the median, over its last ten analysed steps, of the
     * shortest horizon among its layers (one step's horizon moves from step to step); -1 before any.
     */
    public int horizon(String runId) {
        RunRow row = rows.get(runId);
        if (row == null) {
            return -1;
        }
        List<Integer> recent = new ArrayList<>(row.recentHorizons);
        if (!row.horizonByLayer.isEmpty()) {
            recent.add(row.minHorizon());
        }
        if (recent.isEmpty()) {
            return -1;
        }
        recent.sort(null);
        return recent.get(recent.size() / 2);
    }

    /**
     * How many training steps the monitor's analysis trails the run by: its latest StepRecord's
     * step minus its latest LayerHealth's; -1 before it has both.
     */
    public long analysisLag(String runId) {
        RunRow row = rows.get(runId);
        return row == null || row.step < 0 || row.healthStep < 0 ? -1 : Math.max(0, row.step - row.healthStep);
    }

    public Set<String> runs() {
        return rows.keySet();
    }

    public List<String> render() {
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "%-24s %7s %9s %6s %10s %8s  %s", "run", "step", "loss", "acc",
                "decay", "horizon", "alerts (firing now / fired so far)"));
        for (var entry : rows.entrySet()) {
            RunRow row = entry.getValue();
            lines.add(String.format(Locale.ROOT, "%-24s %7s %9s %6s %10s %8s  %s", entry.getKey(),
                    row.step < 0 ? "-" : Long.toString(row.step), number(row.loss, "%.4f"),
                    number(row.accuracy, "%.2f"), row.decayByLayer.isEmpty() ? "-" : number(row.minDecay(), "%.2e"),
                    row.horizonByLayer.isEmpty() ? "-" : Integer.toString(row.minHorizon()), row.alertText()));
        }
        return lines;
    }

    private RunRow row(String runId) {
        return rows.computeIfAbsent(runId, id -> new RunRow());
    }

    private static String number(double value, String format) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, format, value);
    }

    private static final class RunRow {
        long step = -1;
        long healthStep = -1;
        double loss = Double.NaN;
        double accuracy = Double.NaN;
        double gradNorm = Double.NaN;
        final Map<Integer, Double> decayByLayer = new TreeMap<>();
        final Map<Integer, Integer> horizonByLayer = new TreeMap<>();
        final ArrayDeque<Integer> recentHorizons = new ArrayDeque<>();
        final Set<String> active = new TreeSet<>();
        final Set<AlertType> everFired = new LinkedHashSet<>();
        final List<Action> actions = new ArrayList<>();

        double minDecay() {
            return decayByLayer.values().stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
        }

        /** Keeps the finished step's horizon among the last nine, before the next step replaces it. */
        void rememberHorizon() {
            if (horizonByLayer.isEmpty()) {
                return;
            }
            recentHorizons.addLast(minHorizon());
            if (recentHorizons.size() > 9) {
                recentHorizons.removeFirst();
            }
        }

        int minHorizon() {
            return horizonByLayer.values().stream().mapToInt(Integer::intValue).min().orElse(0);
        }

        String alertText() {
            String now = active.isEmpty() ? "healthy" : String.join(",", active);
            if (everFired.isEmpty()) {
                return now;
            }
            return now + " / " + everFired.stream().map(Enum::name).reduce((a, b) -> a + "," + b).orElse("");
        }
    }
}
