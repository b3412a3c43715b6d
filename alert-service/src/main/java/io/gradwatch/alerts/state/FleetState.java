package io.gradwatch.alerts.state;

import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.StepRecord;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * What alert-service knows of the fleet, folded from gradwatch.health, gradwatch.alerts and
 * gradwatch.steps: per run its training progress, per layer its latest health and a short
 * history, the alerts firing now, and a bounded history of alert events. Bounded: at most
 * {@code maxRuns} runs, each forgotten after {@code ttlMs} without a record; per run the
 * {@link History} limits bound the step series, the gradient-flow rows and the timeline. Thread-safe:
 * every reader gets a copy made under the lock ({@link RunSnapshot}), never a live map.
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
    private final History limits;
    private long dropped;

    /**
     * How much history a run keeps. Per run and layer the gradient flow costs
     * {@code flowSteps * flowTimesteps * 4} bytes (120 x 64 x 4 = 30 KiB by default); per run the
     * step series {@code stepHistory * 40} bytes (500 steps: 20 KiB).
     *
     * @param flowSteps training steps of gradient flow kept per layer (heatmap rows)
     * @param flowTimesteps timesteps kept per step at most (heatmap columns, evenly spaced when T is larger)
     * @param stepHistory step records kept per run (loss, norms, learning rate)
     * @param timelineSize timeline entries kept per run
     */
    public record History(int flowSteps, int flowTimesteps, int stepHistory, int timelineSize) {
        public static final History DEFAULT = new History(120, 64, 500, 100);
        /** Parameters listed per run at most (a model's parameter tensors; an LM's may be hundreds). */
        static final int MAX_PARAMETERS = 256;
        /** Command ids remembered per run to describe what the trainer reports as applied. */
        static final int MAX_COMMANDS = 64;
    }

    public FleetState(int maxRuns, long ttlMs, int historySize, LongSupplier clock, FleetListener listener) {
        this(maxRuns, ttlMs, historySize, History.DEFAULT, clock, listener);
    }

    public FleetState(int maxRuns, long ttlMs, int historySize, History limits, LongSupplier clock,
                      FleetListener listener) {
        this.limits = limits;
        this.maxRuns = maxRuns;
        this.ttlMs = ttlMs;
        this.historySize = historySize;
        this.clock = clock;
        this.listener = listener;
    }

    /** A run's latest training progress. */
    public record Progress(long step, double loss, double accuracy, double gradNorm, double gradNormClipped,
                           double learningRate, long droppedRecords) {
    }

    /** One point of a layer's history. */
    public record LayerPoint(long step, double decayRatio, int horizon) {
    }

    /** Everything about one run: live, for the listener under the lock; readers get a {@link RunSnapshot}. */
    public static final class RunView {
        private final String runId;
        private long lastSeenMs;
        private Progress progress;
        private Map<String, String> labels = Map.of();
        private final Map<Integer, LayerHealth> layers = new TreeMap<>();
        private final Map<Integer, Deque<LayerPoint>> layerHistory = new TreeMap<>();
        private final Map<Integer, GradientFlow> flows = new TreeMap<>();
        private final Map<String, AlertEvent> active = new TreeMap<>();
        private final StepSeries steps;
        private Map<String, Double> paramGradNorms = Map.of();
        private final Deque<RunSnapshot.TimelineEntry> timeline = new ArrayDeque<>();
        private final Map<String, String> commands = new LinkedHashMap<>();

        RunView(String runId, History limits) {
            this.runId = runId;
            this.steps = new StepSeries(limits.stepHistory());
        }

        public Map<String, String> labels() {
            return labels;
        }

        /** The latest step's gradient norm per parameter. */
        public Map<String, Double> paramGradNorms() {
            return paramGradNorms;
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
        if (step.hasMetadata() && !step.getMetadata().getLabelsMap().isEmpty()) {
            run.labels = Collections.unmodifiableMap(new TreeMap<>(step.getMetadata().getLabelsMap()));
        }
        for (String commandId : step.getAppliedCommandsList()) {
            String sent = run.commands.get(commandId);
            timeline(run, new RunSnapshot.TimelineEntry(step.getStep(), step.getEventTimeMs(), "APPLIED", -1, "", "",
                    commandId, "trainer applied " + (sent == null ? "command " + commandId : sent)));
        }
        if (run.progress == null || step.getStep() >= run.progress.step()) {
            run.progress = new Progress(step.getStep(), step.getLoss(), step.getAccuracy(), step.getGradNorm(),
                    step.getGradNormClipped(), step.getLearningRate(), step.getDroppedRecordsTotal());
            run.steps.add(step.getStep(), step.getLoss(), step.getGradNorm(), step.getGradNormClipped(),
                    step.getLearningRate());
            if (step.getParamGradNormsCount() > 0) {
                run.paramGradNorms = latestNorms(step.getParamGradNormsMap());
            }
            listener.progress(run);
        }
    }

    private static Map<String, Double> latestNorms(Map<String, Double> norms) {
        TreeMap<String, Double> sorted = new TreeMap<>(norms);
        while (sorted.size() > History.MAX_PARAMETERS) {
            sorted.pollLastEntry();
        }
        return Collections.unmodifiableMap(sorted);
    }

    private void timeline(RunView run, RunSnapshot.TimelineEntry entry) {
        run.timeline.addLast(entry);
        while (run.timeline.size() > limits.timelineSize()) {
            run.timeline.removeFirst();
        }
    }

    /** "set clip norm 1.0", "scale learning rate x0.5", "stop": a command in the words of the timeline. */
    static String describe(ControlCommand command) {
        return switch (command.getCommandCase()) {
            case STOP -> "stop (checkpoint, then stop training)";
            case SET_CLIP_NORM -> "set clip norm " + command.getSetClipNorm().getMaxNorm();
            case SCALE_LEARNING_RATE -> "scale learning rate x" + command.getScaleLearningRate().getFactor();
            case COMMAND_NOT_SET -> "empty command";
        };
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
        run.flows.computeIfAbsent(health.getLayer(), l -> new GradientFlow(limits.flowSteps(), limits.flowTimesteps()))
                .add(health.getStep(), health.getTimestepNormsList());
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
        timeline(run, entry(run, event));
        String key = event.getLayer() + "/" + event.getType();
        if (event.getState() == AlertState.FIRING) {
            run.active.put(key, event);
            listener.alertChanged(run, event, true);
        } else if (event.getState() == AlertState.RESOLVED && run.active.remove(key) != null) {
            listener.alertChanged(run, event, false);
        }
    }

    private static RunSnapshot.TimelineEntry entry(RunView run, AlertEvent event) {
        String commandId = "";
        String detail = event.getMessage();
        if (event.getState() == AlertState.ACTION_TAKEN && event.hasAction()) {
            commandId = event.getAction().getCommandId();
            String sent = describe(event.getAction());
            run.commands.put(commandId, sent);
            while (run.commands.size() > History.MAX_COMMANDS) {
                run.commands.remove(run.commands.keySet().iterator().next());
            }
            detail = "monitor sent " + sent + (event.getAction().getReason().isEmpty() ? ""
                    : ": " + event.getAction().getReason());
        }
        return new RunSnapshot.TimelineEntry(event.getStep(), event.getEventTimeMs(), event.getState().name(),
                event.getLayer(), event.getType().name(), event.getSeverity().name(), commandId, detail);
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
        Collections.reverse(recent);
        return recent.subList(0, Math.min(limit, recent.size()));
    }

    /** The fleet table: one summary per run, in run-id order, copied under the lock. */
    public synchronized List<RunSnapshot.Summary> summaries() {
        List<RunSnapshot.Summary> summaries = new ArrayList<>(runs.size());
        runs.values().forEach(run -> summaries.add(new RunSnapshot.Summary(run.runId, run.lastSeenMs, run.progress,
                run.labels, List.copyOf(run.active.values()))));
        return summaries;
    }

    /** Everything about one run, copied under the lock; empty if the run is not tracked. */
    public synchronized Optional<RunSnapshot> snapshot(String runId) {
        RunView run = runs.get(runId);
        if (run == null) {
            return Optional.empty();
        }
        List<RunSnapshot.Layer> layers = new ArrayList<>(run.layers.size());
        run.layers.forEach((index, health) -> {
            GradientFlow flow = run.flows.get(index);
            layers.add(new RunSnapshot.Layer(health, List.copyOf(run.layerHistory.get(index)),
                    flow == null ? null : flow.snapshot()));
        });
        return Optional.of(new RunSnapshot(run.runId, run.lastSeenMs, run.progress, run.labels,
                List.copyOf(layers), run.steps.snapshot(), run.paramGradNorms, List.copyOf(run.active.values()),
                List.copyOf(run.timeline)));
    }

    private RunView run(String runId) {
        RunView run = runs.get(runId);
        if (run == null) {
            if (runs.size() >= maxRuns) {
                dropped++;
                listener.dropped();
                return null;
            }
            run = new RunView(runId, limits);
            runs.put(runId, run);
        }
        run.lastSeenMs = clock.getAsLong();
        return run;
    }
}
