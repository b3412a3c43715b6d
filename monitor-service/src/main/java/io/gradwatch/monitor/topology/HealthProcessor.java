package io.gradwatch.monitor.topology;

import com.google.protobuf.MessageLite;
import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.monitor.analysis.AlertMachine;
import io.gradwatch.monitor.analysis.Baseline;
import io.gradwatch.monitor.analysis.Flag;
import io.gradwatch.monitor.analysis.LayerAnalysis;
import io.gradwatch.monitor.analysis.StepState;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.ArrayList;
import java.util.List;
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
final class HealthProcessor implements Processor<String, TensorRecord, String, MessageLite> {
    private static final AlertType[] ALERT_TYPES = {AlertType.VANISHING, AlertType.EXPLODING, AlertType.NON_FINITE,
        AlertType.DEAD_RELU, AlertType.SATURATED};

    private final MonitorConfig config;
    private final MonitorEvents events;
    private ProcessorContext<String, MessageLite> context;
    private KeyValueStore<String, byte[]> partial;
    private KeyValueStore<String, byte[]> baselines;
    private KeyValueStore<String, byte[]> alerts;
    private KeyValueStore<String, byte[]> latest;
    private KeyValueStore<String, byte[]> runs;
    private KeyValueStore<String, byte[]> runSteps;
    private final ClosedLoop loop;

    HealthProcessor(MonitorConfig config, MonitorEvents events) {
        this.config = config;
        this.events = events;
        this.loop = new ClosedLoop(config, events);
    }

    @Override
    public void init(ProcessorContext<String, MessageLite> context) {
        this.context = context;
        partial = context.getStateStore(MonitorTopology.PARTIAL_STORE);
        baselines = context.getStateStore(MonitorTopology.BASELINE_STORE);
        alerts = context.getStateStore(MonitorTopology.ALERT_STORE);
        latest = context.getStateStore(MonitorTopology.LATEST_STORE);
        runs = context.getStateStore(MonitorTopology.RUNS_STORE);
        runSteps = context.getStateStore(MonitorTopology.RUN_STEPS_STORE);
        context.schedule(config.punctuateEvery(), PunctuationType.WALL_CLOCK_TIME, this::expire);
    }

    @Override
    public void process(Record<String, TensorRecord> record) {
        TensorRecord tensor = record.value();
        if (tensor == null) {
            // A tombstone: nothing to analyse, and nothing a publisher should send here.
            throw new MalformedRecordException(MalformedRecordException.Reason.TOMBSTONE,
                    "the record has no value (a tombstone)");
        }
        if (!tensor.getRunId().equals(record.key())) {
            // Keys decide partitions; a record keyed with another run would be analysed on the wrong instance.
            throw new MalformedRecordException(MalformedRecordException.Reason.KEY_MISMATCH,
                    "key " + describeKey(record.key()) + " differs from run_id '" + tensor.getRunId() + "'");
        }
        String runId = tensor.getRunId();
        String layerKey = StoreKeys.layer(runId, tensor.getLayer());
        byte[] baselineBytes = baselines.get(layerKey);
        Baseline baseline = baselineBytes == null ? new Baseline(config.thresholds().baselineWindow())
                : Baseline.fromBytes(baselineBytes);
        boolean late = baselineBytes != null && tensor.getStep() <= baseline.lastStep();
        String key = StoreKeys.step(runId, tensor.getStep(), tensor.getLayer());
        byte[] stored = late ? null : partial.get(key);
        StepState state = stored == null ? null : StepState.fromBytes(stored);
        if (state != null && state.seqLen() != tensor.getSeqLen()) {
            // Checked before anything is stored, so the dead-lettered record leaves no trace in the state.
            throw new MalformedRecordException(MalformedRecordException.Reason.SEQ_LEN_CONFLICT,
                    "seq_len " + tensor.getSeqLen() + " but step " + tensor.getStep() + " of layer "
                            + tensor.getLayer() + " started with seq_len " + state.seqLen());
        }
        long now = context.currentSystemTimeMs();
        if (late) {
            markActivations(tensor, baseline, layerKey, now);
            events.late();
            return;
        }
        if (state == null) {
            state = StepState.start(tensor, now);
        }
        // Everything that can reject the record runs before the first write: a rejected record leaves
        // nothing behind (Kafka Streams keeps a failed record's store writes).
        byte[] folded = null;
        boolean added = state.add(tensor, TensorView.of(tensor), config.thresholds().saturationMargin());
        boolean complete = added && state.isComplete(baseline.publishesActivations()
                || tensor.getKind() == TensorKind.ACTIVATION);
        if (added && !complete) {
            folded = state.toBytes();
        }
        markActivations(tensor, baseline, layerKey, now);
        if (!added) {
            events.duplicate();
            return;
        }
        events.accepted();
        if (complete) {
            partial.delete(key);
            finish(runId, tensor.getStep(), tensor.getLayer(), state, true, record.timestamp());
        } else {
            partial.put(key, folded);
        }
    }

    /** From the first ACTIVATION on, this layer's steps wait for their activations before they are analysed. */
    private void markActivations(TensorRecord tensor, Baseline baseline, String layerKey, long now) {
        if (tensor.getKind() == TensorKind.ACTIVATION && !baseline.publishesActivations()) {
            baseline.markPublishesActivations(now);
            baselines.put(layerKey, baseline.toBytes());
        }
    }

    private static String describeKey(String key) {
        if (key == null) {
            return "null";
        }
        return "'" + (key.length() > 200 ? key.substring(0, 200) + "..." : key) + "'";
    }

    private void finish(String runId, long step, int layer, StepState state, boolean complete, long timestamp) {
        long now = context.currentSystemTimeMs();
        String layerKey = StoreKeys.layer(runId, layer);
        byte[] baselineBytes = baselines.get(layerKey);
        Baseline baseline = baselineBytes == null ? new Baseline(config.thresholds().baselineWindow())
                : Baseline.fromBytes(baselineBytes);
        LayerAnalysis.Result result = LayerAnalysis.analyze(runId, step, layer, state, complete, config.thresholds(),
                baseline);
        baseline.record(step, result.maxNorm(), now);
        baselines.put(layerKey, baseline.toBytes());
        latest.put(layerKey, result.health().toByteArray());
        // Publishers that send no StepRecords are runs too: list them, keep their opt-in if they gave one.
        byte[] known = runs.get(runId);
        RunInfo info = known == null ? null : RunInfo.fromBytes(known);
        runs.put(runId, (info == null ? new RunInfo(now, step, false) : info.seen(now, step)).toBytes());
        context.forward(new Record<>(runId, result.health(), timestamp));
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
        byte[] stored = alerts.get(key);
        AlertMachine.State state = stored == null ? AlertMachine.State.CLEAR : AlertMachine.State.fromBytes(stored);
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
            alerts.put(key, next.state().toBytes());
        }
        next.transition().ifPresent(transition -> {
            context.forward(new Record<>(runId, AlertEvents.event(runId, layer, step, type, transition, raised,
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
        List<KeyValue<String, byte[]>> expired = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> iterator = partial.all()) {
            while (iterator.hasNext()) {
                KeyValue<String, byte[]> entry = iterator.next();
                StepState state = StepState.fromBytes(entry.value);
                if (now - state.firstSeenMs() >= config.grace().toMillis()) {
                    expired.add(entry);
                }
            }
        }
        for (KeyValue<String, byte[]> entry : expired) {
            partial.delete(entry.key);
            StoreKeys.StepKey step = StoreKeys.parseStep(entry.key);
            finish(step.runId(), step.step(), step.layer(), StepState.fromBytes(entry.value), false, now);
        }
        forgetSilentRuns(now);
    }

    private void forgetSilentRuns(long now) {
        long cutoff = now - config.runRetention().toMillis();
        List<String> silent = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> iterator = baselines.all()) {
            while (iterator.hasNext()) {
                KeyValue<String, byte[]> entry = iterator.next();
                if (Baseline.fromBytes(entry.value).lastSeenMs() < cutoff) {
                    silent.add(StoreKeys.runOf(entry.key));
                }
            }
        }
        for (String runId : silent.stream().distinct().toList()) {
            for (KeyValueStore<String, byte[]> store : List.of(baselines, latest, alerts, partial)) {
                deletePrefix(store, StoreKeys.runPrefix(runId));
            }
            runs.delete(runId);
            events.forgotten();
        }
    }

    private static void deletePrefix(KeyValueStore<String, byte[]> store, String prefix) {
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> iterator = store.prefixScan(prefix,
                new org.apache.kafka.common.serialization.StringSerializer())) {
            iterator.forEachRemaining(entry -> keys.add(entry.key));
        }
        keys.forEach(store::delete);
    }
}
