package io.gradwatch.monitor.topology;

import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.monitor.analysis.AlertMachine;
import io.gradwatch.monitor.analysis.Escalation;
import io.gradwatch.monitor.analysis.Remedies;
import io.gradwatch.monitor.analysis.RunSteps;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.StepRecord;
import java.util.Locale;
import java.util.UUID;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The closed loop, shared by both processors: EXPLODING firing -> set_clip_norm (for an Adam or
 * RMSprop run, whose steps a clip hardly shrinks: scale_learning_rate at once); then, for a run
 * that sends StepRecords, the loop follows the effect ({@link Escalation}) and escalates to
 * scale_learning_rate and stop, or resolves the alert; NON_FINITE firing -> stop (the trainer
 * restores its last good checkpoint). Every action is also an ACTION_TAKEN AlertEvent.
 */
final class ClosedLoop {
    private final MonitorConfig config;
    private final MonitorEvents events;

    ClosedLoop(MonitorConfig config, MonitorEvents events) {
        this.config = config;
        this.events = events;
    }

    static boolean enabled(MonitorConfig config, KeyValueStore<String, RunInfo> runs, String runId) {
        RunInfo info = runs.get(runId);
        return config.closedLoop() || (info != null && info.closedLoop());
    }

    /** Whether the loop follows this run's explosion from its StepRecords (the processors leave EXPLODING to it). */
    static boolean manages(KeyValueStore<String, RunSteps> runSteps, String runId) {
        RunSteps stored = runSteps.get(runId);
        return stored != null && stored.loop().engaged();
    }

    void onFiring(ProcessorContext<String, MonitorOutput> context, KeyValueStore<String, RunInfo> runs,
                  KeyValueStore<String, RunSteps> runSteps, String runId, int layer, long step, AlertType type,
                  long timestamp, long now) {
        if ((type != AlertType.EXPLODING && type != AlertType.NON_FINITE) || !enabled(config, runs, runId)) {
            return;
        }
        RunSteps steps = runSteps.get(runId);
        if (type == AlertType.EXPLODING) {
            if (steps != null && steps.loop().engaged()) {
                return;
            }
            RunInfo info = runs.get(runId);
            boolean adaptive = info != null && Remedies.adaptive(info.metadata());
            if (steps != null) {
                steps.loop(adaptive ? Escalation.engageAtLearningRate(layer, steps.worstLoss())
                        : Escalation.engage(layer, steps.worstLoss()));
                runSteps.put(runId, steps);
            }
            String reason = "EXPLODING gradients " + where(layer) + " at step " + step;
            if (adaptive) {
                send(context, runId, layer, step, type, scaleLearningRate(), reason + "; " + info.metadata()
                        .getOptimizer() + " normalises the step, so a clip would not shrink it", timestamp, now);
            } else {
                send(context, runId, layer, step, type, ControlCommand.newBuilder().setSetClipNorm(
                        ControlCommand.SetClipNorm.newBuilder().setMaxNorm(config.closedLoopClipNorm())), reason,
                        timestamp, now);
            }
        } else {
            if (steps != null) {
                RunSteps.Loop loop = steps.loop();
                steps.loop(new RunSteps.Loop(3, 0, 0, loop.lossCeiling(), layer, false));
                runSteps.put(runId, steps);
            }
            send(context, runId, layer, step, type, ControlCommand.newBuilder().setStop(ControlCommand.Stop
                    .getDefaultInstance()), "NaN/Inf " + where(layer) + " at step " + step
                    + ": stop and restore the last good checkpoint", timestamp, now);
        }
    }

    /** Steps an engaged loop with one finite StepRecord: escalate, resolve, or wait. */
    void follow(ProcessorContext<String, MonitorOutput> context, KeyValueStore<String, AlertMachine.State> alerts,
                KeyValueStore<String, RunInfo> runs, String runId, RunSteps steps, StepRecord record,
                long timestamp, long now) {
        RunSteps.Loop before = steps.loop();
        Escalation.Decision decision = Escalation.follow(before, record, config.thresholds(), config.stepThresholds());
        steps.loop(decision.loop());
        int layer = before.layer();
        switch (decision.action()) {
            case SCALE_LEARNING_RATE -> send(context, runId, layer, record.getStep(), AlertType.EXPLODING,
                    scaleLearningRate(), String.format(Locale.ROOT, "clipping did not help within %d step records "
                            + "(loss %.4g, worst before %.4g)", config.stepThresholds().escalateAfter(),
                            record.getLoss(), before.lossCeiling()), timestamp, now);
            case STOP -> send(context, runId, layer, record.getStep(), AlertType.EXPLODING,
                    ControlCommand.newBuilder().setStop(ControlCommand.Stop.getDefaultInstance()),
                    String.format(Locale.ROOT, "a lower learning rate did not help within %d step records "
                            + "(loss %.4g)", config.stepThresholds().escalateAfter(), record.getLoss()),
                    timestamp, now);
            case RESOLVE -> {
                alerts.delete(StoreKeys.alert(runId, layer, AlertType.EXPLODING.name()));
                String message = String.format(Locale.ROOT, "the closed loop's action worked: loss %.4g and clipped "
                                + "gradient norm %.3g finite and the loss no higher than %.4g for %d step records",
                        record.getLoss(), record.getGradNormClipped(), before.lossCeiling(),
                        config.thresholds().resolveAfter());
                context.forward(new Record<>(runId, AlertEvents.output(runId, layer, record.getStep(),
                        AlertType.EXPLODING, AlertState.RESOLVED, null, message, AlertEvents.metadata(runs, runId),
                        now), timestamp));
                events.alert(AlertType.EXPLODING, AlertState.RESOLVED);
            }
            default -> {
            }
        }
    }

    private ControlCommand.Builder scaleLearningRate() {
        return ControlCommand.newBuilder().setScaleLearningRate(ControlCommand.ScaleLearningRate.newBuilder()
                .setFactor(config.stepThresholds().learningRateFactor()));
    }

    private void send(ProcessorContext<String, MonitorOutput> context, String runId, int layer, long step,
                      AlertType type, ControlCommand.Builder command, String reason, long timestamp, long now) {
        ControlCommand built = command.setRunId(runId).setCommandId("gradwatch-" + UUID.randomUUID())
                .setIssuedBy("gradwatch-monitor").setIssuedAtMs(now).setReason(reason).build();
        context.forward(new Record<>(runId, new MonitorOutput.Command(built), timestamp));
        AlertEvent action = AlertEvent.newBuilder().setRunId(runId).setLayer(layer).setStep(step)
                .setType(type).setState(AlertState.ACTION_TAKEN)
                .setSeverity(Remedies.severity(type))
                .setMessage("closed loop: " + reason + " -> " + built.getCommandCase())
                .setAction(built).setEventTimeMs(now).build();
        context.forward(new Record<>(runId, new MonitorOutput.Alert(action), timestamp));
        events.alert(type, AlertState.ACTION_TAKEN);
    }

    private static String where(int layer) {
        return layer < 0 ? "in the run's step records" : "in layer " + layer;
    }
}
