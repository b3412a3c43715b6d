package io.gradwatch.monitor.topology;

import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.monitor.analysis.AlertMachine;
import io.gradwatch.monitor.analysis.Flag;
import io.gradwatch.monitor.analysis.RunSteps;
import io.gradwatch.monitor.analysis.StepRules;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.RunMetadata;
import io.gradwatch.protocol.v1.StepRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The step-level rules: keeps {@link RunInfo} per run from gradwatch.steps (its metadata and
 * closed-loop opt-in), runs {@link StepRules} on every StepRecord and steps the run-level alerts
 * (layer -1) through their debounce, follows an engaged closed loop, and from a wall-clock
 * punctuator fires STALLED for a known run that went silent. So a run that publishes only
 * StepRecords gets NON_FINITE, EXPLODING (global-norm spike), LOSS_NOT_DECREASING, UPDATE_RATIO
 * and STALLED.
 */
final class StepProcessor implements Processor<String, StepRecord, String, MonitorOutput> {
    private static final AlertType[] STEP_TYPES = {AlertType.EXPLODING, AlertType.NON_FINITE,
        AlertType.LOSS_NOT_DECREASING, AlertType.UPDATE_RATIO};

    private final MonitorConfig config;
    private final MonitorEvents events;
    private final ClosedLoop loop;
    private ProcessorContext<String, MonitorOutput> context;
    private KeyValueStore<String, RunInfo> runs;
    private KeyValueStore<String, RunSteps> runSteps;
    private KeyValueStore<String, AlertMachine.State> alerts;

    StepProcessor(MonitorConfig config, MonitorEvents events) {
        this.config = config;
        this.events = events;
        this.loop = new ClosedLoop(config, events);
    }

    @Override
    public void init(ProcessorContext<String, MonitorOutput> context) {
        this.context = context;
        runs = context.getStateStore(MonitorTopology.RUNS_STORE);
        runSteps = context.getStateStore(MonitorTopology.RUN_STEPS_STORE);
        alerts = context.getStateStore(MonitorTopology.ALERT_STORE);
        context.schedule(config.punctuateEvery(), PunctuationType.WALL_CLOCK_TIME, this::watchForStalls);
    }

    @Override
    public void process(Record<String, StepRecord> record) {
        StepRecord step = RecordChecks.requireValue(record, "step record");
        RecordChecks.requireKeyOfRun(record.key(), step.getRunId());
        String runId = step.getRunId();
        long now = context.currentSystemTimeMs();
        track(runId, step, now);
        RunSteps stored = runSteps.get(runId);
        RunSteps steps = stored == null ? new RunSteps(config.stepThresholds().lossWindow(),
                config.thresholds().baselineWindow()) : stored;
        resolveStall(runId, step.getStep(), record.timestamp(), now);
        boolean managed = steps.loop().engaged();
        List<Flag> flags = StepRules.evaluate(step, steps, config.thresholds(), config.stepThresholds(), now);
        boolean nonFinite = flags.stream().anyMatch(f -> f.type() == AlertType.NON_FINITE);
        runSteps.put(runId, steps);
        for (AlertType type : STEP_TYPES) {
            if (type == AlertType.EXPLODING && managed) {
                continue;
            }
            if (type == AlertType.NON_FINITE && nonFinite) {
                firePendingExplosions(runId, step.getStep(), record.timestamp(), now);
            }
            Flag flag = flags.stream().filter(f -> f.type() == type).findFirst().orElse(null);
            stepAlert(runId, StepRules.RUN_LAYER, step.getStep(), type, flag, nonFinite, record.timestamp(), now);
        }
        // Only records after the action count towards its effect; a non-finite one has already stopped the run.
        if (managed && !nonFinite) {
            loop.follow(context, alerts, runs, runId, steps, step, record.timestamp(), now);
            runSteps.put(runId, steps);
        }
        events.stepTracked();
    }

    private void track(String runId, StepRecord step, long now) {
        RunInfo previous = runs.get(runId);
        boolean closedLoop = step.hasMetadata()
                ? "true".equals(step.getMetadata().getLabelsOrDefault(RunInfo.CLOSED_LOOP_LABEL, "false"))
                : previous != null && previous.closedLoop();
        RunMetadata metadata = step.hasMetadata() ? step.getMetadata()
                : previous == null ? RunMetadata.getDefaultInstance() : previous.metadata();
        long lastStep = Math.max(step.getStep(), previous == null ? -1 : previous.lastStep());
        runs.put(runId, new RunInfo(now, lastStep, closedLoop, metadata));
    }

    private void stepAlert(String runId, int layer, long step, AlertType type, Flag flag, boolean nonFiniteNow,
                           long timestamp, long now) {
        String key = StoreKeys.alert(runId, layer, type.name());
        AlertMachine.State stored = alerts.get(key);
        AlertMachine.State state = stored == null ? AlertMachine.State.CLEAR : stored;
        boolean promoted = type == AlertType.EXPLODING && AlertMachine.explosionTurnedNonFinite(state, nonFiniteNow);
        if (promoted && flag == null) {
            flag = new Flag(type, state.flaggedStreak(), 0, "the global gradient norm spiked for "
                    + state.flaggedStreak() + " step record(s), then turned NaN/Inf", true);
        }
        boolean severe = flag != null && (flag.severe() || promoted);
        AlertMachine.Step next = AlertMachine.next(state, type, flag != null, severe, config.thresholds(), now);
        if (!next.state().firing() && next.state().flaggedStreak() == 0) {
            alerts.delete(key);
        } else {
            alerts.put(key, next.state());
        }
        Flag raised = flag;
        next.transition().ifPresent(transition -> {
            context.forward(new Record<>(runId, AlertEvents.output(runId, layer, step, type, transition, raised,
                    type + " clear for " + config.thresholds().resolveAfter() + " step records",
                    AlertEvents.metadata(runs, runId), now), timestamp));
            events.alert(type, transition);
            if (transition == AlertState.FIRING) {
                loop.onFiring(context, runs, runSteps, runId, layer, step, type, timestamp, now);
            }
        });
    }

    /**
     * A layer whose EXPLODING alert is still debouncing when the run's loss or norm turns
     * non-finite fires it now, before NON_FINITE: the explosion is the cause on-call must read.
     */
    private void firePendingExplosions(String runId, long step, long timestamp, long now) {
        List<KeyValue<String, AlertMachine.State>> pending = new ArrayList<>();
        try (KeyValueIterator<String, AlertMachine.State> iterator = alerts.prefixScan(StoreKeys.runPrefix(runId),
                new StringSerializer())) {
            while (iterator.hasNext()) {
                KeyValue<String, AlertMachine.State> entry = iterator.next();
                String[] parts = StoreKeys.alertParts(entry.key);
                if (parts[1].equals(AlertType.EXPLODING.name()) && !parts[0].equals(Integer.toString(StepRules.RUN_LAYER))
                        && AlertMachine.explosionTurnedNonFinite(entry.value, true)) {
                    pending.add(entry);
                }
            }
        }
        for (KeyValue<String, AlertMachine.State> entry : pending) {
            AlertMachine.State state = entry.value;
            int layer = Integer.parseInt(StoreKeys.alertParts(entry.key)[0]);
            alerts.put(entry.key, new AlertMachine.State(true, state.flaggedStreak() + 1, 0, now));
            Flag flag = new Flag(AlertType.EXPLODING, state.flaggedStreak(), 0, "the gradient of layer " + layer
                    + " grew for " + state.flaggedStreak() + " step(s), then the loss or gradient norm turned NaN/Inf",
                    true);
            context.forward(new Record<>(runId, AlertEvents.output(runId, layer, step, AlertType.EXPLODING,
                    AlertState.FIRING, flag, "", AlertEvents.metadata(runs, runId), now), timestamp));
            events.alert(AlertType.EXPLODING, AlertState.FIRING);
        }
    }

    private void resolveStall(String runId, long step, long timestamp, long now) {
        String key = StoreKeys.alert(runId, StepRules.RUN_LAYER, AlertType.STALLED.name());
        if (alerts.get(key) == null) {
            return;
        }
        alerts.delete(key);
        context.forward(new Record<>(runId, AlertEvents.output(runId, StepRules.RUN_LAYER, step, AlertType.STALLED,
                AlertState.RESOLVED, null, "the run reports again", AlertEvents.metadata(runs, runId), now),
                timestamp));
        events.alert(AlertType.STALLED, AlertState.RESOLVED);
    }

    /** STALLED for runs silent longer than the stall time; forgets the step state of runs past the retention. */
    private void watchForStalls(long now) {
        List<String> forget = new ArrayList<>();
        List<KeyValue<String, RunInfo>> stalled = new ArrayList<>();
        long stallAfter = config.stepThresholds().stalledAfter().toMillis();
        try (KeyValueIterator<String, RunSteps> iterator = runSteps.all()) {
            while (iterator.hasNext()) {
                String runId = iterator.next().key;
                RunInfo run = runs.get(runId);
                if (run == null || now - run.lastSeenMs() >= config.runRetention().toMillis()) {
                    forget.add(runId);
                } else if (now - run.lastSeenMs() >= stallAfter
                        && alerts.get(StoreKeys.alert(runId, StepRules.RUN_LAYER, AlertType.STALLED.name())) == null) {
                    stalled.add(KeyValue.pair(runId, run));
                }
            }
        }
        for (KeyValue<String, RunInfo> entry : stalled) {
            String runId = entry.key;
            double silentSeconds = (now - entry.value.lastSeenMs()) / 1000.0;
            alerts.put(StoreKeys.alert(runId, StepRules.RUN_LAYER, AlertType.STALLED.name()),
                    new AlertMachine.State(true, 1, 0, now));
            Flag flag = new Flag(AlertType.STALLED, silentSeconds, stallAfter / 1000.0, String.format(Locale.ROOT,
                    "no record for %.0f s (last step %d)", silentSeconds, entry.value.lastStep()));
            context.forward(new Record<>(runId, AlertEvents.output(runId, StepRules.RUN_LAYER, entry.value.lastStep(),
                    AlertType.STALLED, AlertState.FIRING, flag, "", entry.value.metadata(), now), now));
            events.alert(AlertType.STALLED, AlertState.FIRING);
        }
        for (String runId : forget) {
            runSteps.delete(runId);
            runs.delete(runId);
            List<String> keys = new ArrayList<>();
            try (KeyValueIterator<String, AlertMachine.State> iterator = alerts.prefixScan(StoreKeys.runPrefix(runId),
                    new StringSerializer())) {
                iterator.forEachRemaining(e -> keys.add(e.key));
            }
            keys.forEach(alerts::delete);
        }
    }
}
