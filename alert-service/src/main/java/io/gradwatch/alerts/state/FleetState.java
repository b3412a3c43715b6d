package io.gradwatch.alerts.state;

import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.StepRecord;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * What alert-service knows of the fleet, folded from gradwatch.health, gradwatch.alerts and
 * gradwatch.steps: per run its training progress, per layer its latest health and a short
 * history, the alerts firing now, and a bounded history of alert events. Bounded: at most
 * {@code maxRuns} runs, each forgotten after {@code ttlMs} without a record. Thread-safe.
 */
public final class FleetState {
    private static final int LAYER_HISTORY = 200;

    private final int maxRuns;
    private final long ttlMs;
    private final LongSupplier clock;
    private final Map<String, RunView> runs = new TreeMap<>();
    private final Deque<AlertEvent> history = new ArrayDeque<>();
    private final int historySize;
    private final FleetListener listener;
    private long dropped;

    public FleetState(int maxRuns, long ttlMs, int historySize, LongSupplier clock, FleetListener listener) {
        this.maxRuns = maxRuns;
        this.ttlMs = ttlMs;
        this.historySize = historySize;
        this.clock = clock;
        this.listener = listener;
    }

    /** A run's latest training progress. */
    public record Progress(long step, double loss, double accuracy, double gradNorm, double gradNormClipped,
                           long droppedRecords) {
    }

    /** One point of a layer's history. */
    public record LayerPoint(long step, double decayRatio, int horizon) {
    }

    /** Everything about one run. */
    public static final class RunView {
        private final String runId;
        private long lastSeenMs;
        private Progress progress;
        private final Map<Integer, LayerHealth> layers = new TreeMap<>();
        private final Map<Integer, Deque<LayerPoint>> layerHistory = new TreeMap<>();
        private final Map<String, AlertEvent> active = new TreeMap<>();

        RunView(String runId) {
            this.runId = runId;
        }

        public String runId() {
            return runId;
        }

        public long lastSeenMs() {
            return lastSeenMs;
        }

        public Progress progress() {
            return progress;
        }

        public Map<Integer, LayerHealth> layers() {
            return layers;
        }

        public Map<Integer, Deque<LayerPoint>> layerHistory() {
            return layerHistory;
        }

        public Map<String, AlertEvent> active() {
            return active;
        }
    }

    public synchronized void apply(StepRecord step) {
        RunView run = run(step.getRunId());
        if (run == null) {
            return;
        }
        if (run.progress == null || step.getStep() >= run.progress.step()) {
            run.progress = new Progress(step.getStep(), step.getLoss(), step.getAccuracy(), step.getGradNorm(),
                    step.getGradNormClipped(), step.getDroppedRecordsTotal());
            listener.progress(run);
        }
    }

    public synchronized void apply(LayerHealth health) {
        RunView run = run(health.getRunId());
        if (run == null) {
            return;
        }
        LayerHealth previous = run.layers.get(health.getLayer());
        if (previous != null && previous.getStep() > health.getStep()) {
            return;
        }
        run.layers.put(health.getLayer(), health);
        Deque<LayerPoint> points = run.layerHistory.computeIfAbsent(health.getLayer(), l -> new ArrayDeque<>());
        points.addLast(new LayerPoint(health.getStep(), health.getDecayRatio(), health.getHorizon()));
        while (points.size() > LAYER_HISTORY) {
            points.removeFirst();
        }
        listener.health(run, health);
    }

    public synchronized void apply(AlertEvent event) {
        history.addLast(event);
        while (history.size() > historySize) {
            history.removeFirst();
        }
        listener.alertEvent(event);
        RunView run = run(event.getRunId());
        if (run == null) {
            return;
        }
        String key = event.getLayer() + "/" + event.getType();
        if (event.getState() == AlertState.FIRING) {
            run.active.put(key, event);
            listener.alertChanged(run, event, true);
        } else if (event.getState() == AlertState.RESOLVED && run.active.remove(key) != null) {
            listener.alertChanged(run, event, false);
        }
    }

    /** Forgets runs silent for longer than the TTL; returns their ids. */
    public synchronized List<String> expire() {
        long cutoff = clock.getAsLong() - ttlMs;
        List<String> expired = new ArrayList<>();
        runs.values().removeIf(run -> {
            if (run.lastSeenMs < cutoff) {
                expired.add(run.runId);
                listener.forgotten(run);
                return true;
            }
            return false;
        });
        return expired;
    }

    public synchronized int size() {
        return runs.size();
    }

    public synchronized long dropped() {
        return dropped;
    }

    /** Alerts firing now, newest first. */
    public synchronized List<AlertEvent> activeAlerts() {
        List<AlertEvent> active = new ArrayList<>();
        runs.values().forEach(run -> active.addAll(run.active.values()));
        active.sort((a, b) -> Long.compare(b.getEventTimeMs(), a.getEventTimeMs()));
        return active;
    }

    /** The last {@code limit} alert events, newest first. */
    public synchronized List<AlertEvent> history(int limit) {
        List<AlertEvent> recent = new ArrayList<>(history);
        java.util.Collections.reverse(recent);
        return recent.subList(0, Math.min(limit, recent.size()));
    }

    /** A read-only summary per run, for the API. */
    public synchronized Map<String, RunView> runs() {
        return new LinkedHashMap<>(runs);
    }

    public synchronized RunView runView(String runId) {
        return runs.get(runId);
    }

    private RunView run(String runId) {
        RunView run = runs.get(runId);
        if (run == null) {
            if (runs.size() >= maxRuns) {
                dropped++;
                listener.dropped();
                return null;
            }
            run = new RunView(runId);
            runs.put(runId, run);
        }
        run.lastSeenMs = clock.getAsLong();
        return run;
    }
}
