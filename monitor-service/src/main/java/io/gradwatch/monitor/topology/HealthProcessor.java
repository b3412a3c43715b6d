package io.gradwatch.monitor.topology;

import com.google.protobuf.MessageLite;
import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.monitor.analysis.AlertMachine;
import io.gradwatch.monitor.analysis.Baseline;
import io.gradwatch.monitor.analysis.Flag;
import io.gradwatch.monitor.analysis.LayerAnalysis;
import io.gradwatch.monitor.analysis.RunSteps;
import io.gradwatch.monitor.analysis.StepState;
import io.gradwatch.monitor.analysis.TimestepStats;
import io.gradwatch.protocol.state.v1.StepHeader;
import io.gradwatch.protocol.state.v1.TimestepEntry;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.GradientSummary;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Folds tensors into per-(run, step, layer) state; when a step is complete (or its grace time
 * ran out) analyses it, emits its {@code LayerHealth}, steps every alert of the layer through its
 * debounce, emits the transitions as {@code AlertEvent}s and, in the closed loop, the
 * {@code ControlCommand}s. A wall-clock punctuator expires incomplete steps and forgets runs that
 * stopped reporting, so state stays bounded.
 */
final class HealthProcessor implements Processor<String, MessageLite, String, MonitorOutput> {
    private static final AlertType[] ALERT_TYPES = {AlertType.VANISHING, AlertType.EXPLODING, AlertType.NON_FINITE,
        AlertType.DEAD_RELU, AlertType.SATURATED};

    private final MonitorConfig config;
    private final MonitorEvents events;
    private ProcessorContext<String, MonitorOutput> context;
    private StepAccumulator steps;
    private KeyValueStore<String, StepHeader> partial;
    private KeyValueStore<String, TimestepEntry> timesteps;
    private KeyValueStore<String, Baseline> baselines;
    private KeyValueStore<String, AlertMachine.State> alerts;
    private KeyValueStore<String, LayerHealth> latest;
    private KeyValueStore<String, RunInfo> runs;
    private KeyValueStore<String, RunSteps> runSteps;
    private final ClosedLoop loop;

    HealthProcessor(MonitorConfig config, MonitorEvents events) {
        this.config = config;
        this.events = events;
        this.loop = new ClosedLoop(config, events);
    }

    @Override
    public void init(ProcessorContext<String, MonitorOutput> context) {
        this.context = context;
        partial = context.getStateStore(MonitorTopology.PARTIAL_STORE);
        timesteps = context.getStateStore(MonitorTopology.TIMESTEP_STORE);
        steps = new StepAccumulator(partial, timesteps);
        baselines = context.getStateStore(MonitorTopology.BASELINE_STORE);
        alerts = context.getStateStore(MonitorTopology.ALERT_STORE);
        latest = context.getStateStore(MonitorTopology.LATEST_STORE);
        runs = context.getStateStore(MonitorTopology.RUNS_STORE);
        runSteps = context.getStateStore(MonitorTopology.RUN_STEPS_STORE);
        context.schedule(config.punctuateEvery(), PunctuationType.WALL_CLOCK_TIME, this::expire);
    }

    /** A TensorRecord from gradwatch.gradients or a GradientSummary from gradwatch.summaries. */
    @Override
    public void process(Record<String, MessageLite> record) {
        MessageLite value = RecordChecks.requireValue(record, "record");
        if (value instanceof GradientSummary summary) {
            RecordChecks.requireKeyOfRun(record.key(), summary.getRunId());
            processSummary(summary, record.timestamp());
        } else {
            TensorRecord tensor = (TensorRecord) value;
            RecordChecks.requireKeyOfRun(record.key(), tensor.getRunId());
            processTensor(tensor, record.timestamp());
        }
    }

    /**
     * A whole step in one record: its timesteps go through the same {@code TimestepStats} fold as
     * tensors' ({@link StepState#of(GradientSummary, long)}), in memory, and the step is analysed
     * at once, so a summary writes no open-step state. Same late rule as tensors (a step at or
     * before the layer's last analysed one is late).
     */
    private void processSummary(GradientSummary summary, long timestamp) {
        String runId = summary.getRunId();
        String layerKey = StoreKeys.layer(runId, summary.getLayer());
        Baseline known = baselines.get(layerKey);
        if (known != null && summary.getStep() <= known.lastStep()) {
            events.late();
            return;
        }
        String key = StoreKeys.step(runId, summary.getStep(), summary.getLayer());
        if (steps.header(key) != null) {
            throw new MalformedRecordException(MalformedRecordException.Reason.MIXED_SOURCES, "a summary of step "
                    + summary.getStep() + " of layer " + summary.getLayer() + " whose tensors are arriving");
        }
        events.accepted();
        finish(runId, summary.getStep(), summary.getLayer(), StepState.of(summary, context.currentSystemTimeMs()),
                true, timestamp);
    }

    private void processTensor(TensorRecord tensor, long timestamp) {
        String runId = tensor.getRunId();
        String layerKey = StoreKeys.layer(runId, tensor.getLayer());
        Baseline known = baselines.get(layerKey);
        Baseline baseline = known == null ? new Baseline(config.thresholds().baselineWindow()) : known;
        boolean late = known != null && tensor.getStep() <= baseline.lastStep();
        String key = StoreKeys.step(runId, tensor.getStep(), tensor.getLayer());
        StepHeader stored = late ? null : steps.header(key);
        if (stored != null && stored.getSeqLen() != tensor.getSeqLen()) {
            // Checked before anything is stored, so the dead-lettered record leaves no trace in the state.
            throw new MalformedRecordException(MalformedRecordException.Reason.SEQ_LEN_CONFLICT,
                    "seq_len " + tensor.getSeqLen() + " but step " + tensor.getStep() + " of layer "
                            + tensor.getLayer() + " started with seq_len " + stored.getSeqLen());
        }
        long now = context.currentSystemTimeMs();
        if (late) {
            markActivations(tensor, baseline, layerKey, now);
            events.late();
            return;
        }
        StepHeader.Builder header = stored == null ? StepState.header(tensor, now) : stored.toBuilder();
        // Everything that can reject the record runs before the first write: a rejected record leaves
        // nothing behind (Kafka Streams keeps a failed record's store writes).
        TimestepStats stats = TimestepStats.of(tensor, TensorView.of(tensor), header.getActivation(),
                config.thresholds().saturationMargin());
        StepAccumulator.Outcome outcome = stats == null ? StepAccumulator.Outcome.DUPLICATE
                : steps.addTimestep(key, header, stats, tensor.getEventTimeMs(), baseline.publishesActivations(),
                        baseline.publishesPreact());
        markActivations(tensor, baseline, layerKey, now);
        if (outcome == StepAccumulator.Outcome.DUPLICATE) {
            events.duplicate();
            return;
        }
        events.accepted();
        if (outcome == StepAccumulator.Outcome.COMPLETE) {
            finish(runId, tensor.getStep(), tensor.getLayer(), steps.completed(), true, timestamp);
        }
    }

    /** From the first ACTIVATION (PREACT_GRAD) on, this layer's steps wait for those too before they are analysed. */
    private void markActivations(TensorRecord tensor, Baseline baseline, String layerKey, long now) {
        if (tensor.getKind() == TensorKind.ACTIVATION && !baseline.publishesActivations()) {
            baseline.markPublishesActivations(now);
            baselines.put(layerKey, baseline);
        } else if (tensor.getKind() == TensorKind.PREACT_GRAD && !baseline.publishesPreact()) {
            baseline.markPublishesPreact(now);
            baselines.put(layerKey, baseline);
        }
    }

    private void finish(String runId, long step, int layer, StepState state, boolean complete, long timestamp) {
        long now = context.currentSystemTimeMs();
        String layerKey = StoreKeys.layer(runId, layer);
        Baseline known = baselines.get(layerKey);
        Baseline baseline = known == null ? new Baseline(config.thresholds().baselineWindow()) : known;
        LayerAnalysis.Result result = LayerAnalysis.analyze(runId, step, layer, state, complete, config.thresholds(),
                baseline);
        baseline.record(step, result.maxNorm(), now);
        baselines.put(layerKey, baseline);
        latest.put(layerKey, result.health());
        // Publishers that send no StepRecords are runs too: list them, keep their opt-in if they gave one.
        RunInfo info = runs.get(runId);
        runs.put(runId, info == null ? new RunInfo(now, step, false) : info.seen(now, step));
        context.forward(new Record<>(runId, new MonitorOutput.Health(result.health()), timestamp));
        events.health(complete);
        boolean nonFinite = result.flags().stream().anyMatch(f -> f.type() == AlertType.NON_FINITE);
        for (AlertType type : ALERT_TYPES) {
            if (type == AlertType.EXPLODING && ClosedLoop.manages(runSteps, runId)) {
                continue; // the closed loop follows the action's effect from the StepRecords and resolves it
            }
            Flag flag = result.flags().stream().filter(f -> f.type() == type).findFirst().orElse(null);
            stepAlert(runId, step, layer, type, flag, nonFinite, timestamp, now);
        }
    }

    private void stepAlert(String runId, long step, int layer, AlertType type, Flag flag, boolean nonFiniteNow,
                           long timestamp, long now) {
        String key = StoreKeys.alert(runId, layer, type.name());
        AlertMachine.State stored = alerts.get(key);
        AlertMachine.State state = stored == null ? AlertMachine.State.CLEAR : stored;
        // A run that grew first pages EXPLODING on the step it turns non-finite, before NON_FINITE.
        boolean promoted = type == AlertType.EXPLODING && AlertMachine.explosionTurnedNonFinite(state, nonFiniteNow);
        if (promoted && flag == null) {
            flag = new Flag(type, state.flaggedStreak(), 0, "the gradient grew for " + state.flaggedStreak()
                    + " step(s), then turned NaN/Inf", true);
        }
        AlertMachine.Step next = AlertMachine.next(state, type, flag != null, flag != null && (flag.severe() || promoted),
                config.thresholds(), now);
        Flag raised = flag;
        if (!next.state().firing() && next.state().flaggedStreak() == 0) {
            alerts.delete(key);
        } else {
            alerts.put(key, next.state());
        }
        next.transition().ifPresent(transition -> {
            context.forward(new Record<>(runId, AlertEvents.output(runId, layer, step, type, transition, raised,
                    type + " clear for " + config.thresholds().resolveAfter() + " steps",
                    AlertEvents.metadata(runs, runId), now), timestamp));
            events.alert(type, transition);
            if (transition == AlertState.FIRING) {
                closeTheLoop(runId, layer, step, type, timestamp, now);
            }
        });
    }

    private void closeTheLoop(String runId, int layer, long step, AlertType type, long timestamp, long now) {
        loop.onFiring(context, runs, runSteps, runId, layer, step, type, timestamp, now);
    }

    /** Emits steps whose grace time ran out as incomplete; forgets runs silent for longer than the retention. */
    private void expire(long now) {
        List<String> expired = new ArrayList<>();
        for (KeyValue<String, StepHeader> entry : steps.openSteps()) {
            if (now - entry.value.getFirstSeenMs() >= config.grace().toMillis()) {
                expired.add(entry.key);
            }
        }
        for (String key : expired) {
            StoreKeys.StepKey step = StoreKeys.parseStep(key);
            finish(step.runId(), step.step(), step.layer(), steps.close(key), false, now);
        }
        forgetSilentRuns(now);
    }

    private void forgetSilentRuns(long now) {
        long cutoff = now - config.runRetention().toMillis();
        List<String> silent = new ArrayList<>();
        try (KeyValueIterator<String, Baseline> iterator = baselines.all()) {
            while (iterator.hasNext()) {
                KeyValue<String, Baseline> entry = iterator.next();
                if (entry.value.lastSeenMs() < cutoff) {
                    silent.add(StoreKeys.runOf(entry.key));
                }
            }
        }
        for (String runId : silent.stream().distinct().toList()) {
            for (KeyValueStore<String, ?> store : List.of(baselines, latest, alerts, partial, timesteps)) {
                deletePrefix(store, StoreKeys.runPrefix(runId));
            }
            runs.delete(runId);
            events.forgotten();
        }
    }

    private static <V> void deletePrefix(KeyValueStore<String, V> store, String prefix) {
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, V> iterator = store.prefixScan(prefix,
                new StringSerializer())) {
            iterator.forEachRemaining(entry -> keys.add(entry.key));
        }
        keys.forEach(store::delete);
    }
}
