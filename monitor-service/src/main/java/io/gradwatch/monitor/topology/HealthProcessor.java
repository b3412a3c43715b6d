package io.gradwatch.monitor.topology;

import com.google.protobuf.MessageLite;
import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.monitor.analysis.AlertMachine;
import io.gradwatch.monitor.analysis.Baseline;
import io.gradwatch.monitor.analysis.Flag;
import io.gradwatch.monitor.analysis.LayerAnalysis;
import io.gradwatch.monitor.analysis.Remedies;
import io.gradwatch.monitor.analysis.StepState;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.GradientSummary;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
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
final class HealthProcessor implements Processor<String, MessageLite, String, MessageLite> {
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

    HealthProcessor(MonitorConfig config, MonitorEvents events) {
        this.config = config;
        this.events = events;
    }

    @Override
    public void init(ProcessorContext<String, MessageLite> context) {
        this.context = context;
        partial = context.getStateStore(MonitorTopology.PARTIAL_STORE);
        baselines = context.getStateStore(MonitorTopology.BASELINE_STORE);
        alerts = context.getStateStore(MonitorTopology.ALERT_STORE);
        latest = context.getStateStore(MonitorTopology.LATEST_STORE);
        runs = context.getStateStore(MonitorTopology.RUNS_STORE);
        context.schedule(config.punctuateEvery(), PunctuationType.WALL_CLOCK_TIME, this::expire);
    }

    /** A TensorRecord from gradwatch.gradients or a GradientSummary from gradwatch.summaries. */
    @Override
    public void process(Record<String, MessageLite> record) {
        MessageLite value = record.value();
        if (value == null) {
            // A tombstone: nothing to analyse, and nothing a publisher should send here.
            throw new MalformedRecordException(MalformedRecordException.Reason.TOMBSTONE,
                    "the record has no value (a tombstone)");
        }
        if (value instanceof GradientSummary summary) {
            requireKey(record.key(), summary.getRunId());
            processSummary(summary, record.timestamp());
        } else {
            TensorRecord tensor = (TensorRecord) value;
            requireKey(record.key(), tensor.getRunId());
            processTensor(tensor, record.timestamp());
        }
    }

    private static void requireKey(String key, String runId) {
        if (!runId.equals(key)) {
            // Keys decide partitions; a record keyed with another run would be analysed on the wrong instance.
            throw new MalformedRecordException(MalformedRecordException.Reason.KEY_MISMATCH,
                    "key " + describeKey(key) + " differs from run_id '" + runId + "'");
        }
    }

    /**
     * A whole step in one record: analysed at once, with the same late rule as tensors (a step at
     * or before the layer's last analysed one is late) and no partial state.
     */
    private void processSummary(GradientSummary summary, long timestamp) {
        String runId = summary.getRunId();
        String layerKey = StoreKeys.layer(runId, summary.getLayer());
        byte[] baselineBytes = baselines.get(layerKey);
        if (baselineBytes != null && summary.getStep() <= Baseline.fromBytes(baselineBytes).lastStep()) {
            events.late();
            return;
        }
        String key = StoreKeys.step(runId, summary.getStep(), summary.getLayer());
        if (partial.get(key) != null) {
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
            finish(runId, tensor.getStep(), tensor.getLayer(), state, true, timestamp);
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
        runs.put(runId, new RunInfo(now, Math.max(step, info == null ? -1 : info.lastStep()),
                info != null && info.closedLoop()).toBytes());
        context.forward(new Record<>(runId, result.health(), timestamp));
        events.health(complete);
        for (AlertType type : ALERT_TYPES) {
            Flag flag = result.flags().stream().filter(f -> f.type() == type).findFirst().orElse(null);
            stepAlert(runId, step, layer, type, flag, timestamp, now);
        }
    }

    private void stepAlert(String runId, long step, int layer, AlertType type, Flag flag, long timestamp, long now) {
        String key = StoreKeys.alert(runId, layer, type.name());
        byte[] stored = alerts.get(key);
        AlertMachine.State state = stored == null ? AlertMachine.State.CLEAR : AlertMachine.State.fromBytes(stored);
        AlertMachine.Step next = AlertMachine.next(state, type, flag != null, config.thresholds(), now);
        if (!next.state().firing() && next.state().flaggedStreak() == 0) {
            alerts.delete(key);
        } else {
            alerts.put(key, next.state().toBytes());
        }
        next.transition().ifPresent(transition -> {
            AlertEvent.Builder event = AlertEvent.newBuilder()
                    .setRunId(runId).setLayer(layer).setStep(step).setType(type).setState(transition)
                    .setSeverity(Remedies.severity(type)).setRemedy(Remedies.remedy(type))
                    .setEventTimeMs(now);
            if (flag != null) {
                event.setValue(flag.value()).setThreshold(flag.threshold()).setMessage(flag.reason());
            } else {
                event.setMessage(type + " clear for " + config.thresholds().resolveAfter() + " steps");
            }
            context.forward(new Record<>(runId, event.build(), timestamp));
            events.alert(type, transition);
            if (transition == AlertState.FIRING) {
                closeTheLoop(runId, layer, step, type, timestamp, now);
            }
        });
    }

    private void closeTheLoop(String runId, int layer, long step, AlertType type, long timestamp, long now) {
        if (type != AlertType.EXPLODING && type != AlertType.NON_FINITE) {
            return;
        }
        byte[] info = runs.get(runId);
        boolean enabled = config.closedLoop() || (info != null && RunInfo.fromBytes(info).closedLoop());
        if (!enabled) {
            return;
        }
        ControlCommand.Builder command = ControlCommand.newBuilder().setRunId(runId)
                .setCommandId("gradwatch-" + UUID.randomUUID()).setIssuedBy("gradwatch-monitor").setIssuedAtMs(now);
        if (type == AlertType.EXPLODING) {
            command.setSetClipNorm(ControlCommand.SetClipNorm.newBuilder().setMaxNorm(config.closedLoopClipNorm()))
                    .setReason("EXPLODING gradients in layer " + layer + " at step " + step);
        } else {
            command.setStop(ControlCommand.Stop.getDefaultInstance())
                    .setReason("NaN/Inf gradients in layer " + layer + " at step " + step);
        }
        ControlCommand built = command.build();
        context.forward(new Record<>(runId, built, timestamp));
        context.forward(new Record<>(runId, AlertEvent.newBuilder().setRunId(runId).setLayer(layer).setStep(step)
                .setType(type).setState(AlertState.ACTION_TAKEN).setSeverity(Remedies.severity(type))
                .setMessage("closed loop: " + built.getReason() + " -> " + built.getCommandCase())
                .setAction(built).setEventTimeMs(now).build(), timestamp));
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
