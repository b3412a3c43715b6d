package io.gradwatch.monitor.topology;

import io.gradwatch.monitor.analysis.Flag;
import io.gradwatch.monitor.analysis.Remedies;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.RunMetadata;
import org.apache.kafka.streams.state.KeyValueStore;

/** Builds the AlertEvents both processors emit, with the remedy fitted to the run's metadata. */
final class AlertEvents {
    private AlertEvents() {
    }

    /** {@link #event} as the processors emit it. */
    static MonitorOutput output(String runId, int layer, long step, AlertType type, AlertState state, Flag flag,
                                String clearMessage, RunMetadata run, long now) {
        return new MonitorOutput.Alert(event(runId, layer, step, type, state, flag, clearMessage, run, now));
    }

    static AlertEvent event(String runId, int layer, long step, AlertType type, AlertState state, Flag flag,
                            String clearMessage, RunMetadata run, long now) {
        AlertEvent.Builder event = AlertEvent.newBuilder()
                .setRunId(runId).setLayer(layer).setStep(step).setType(type).setState(state)
                .setSeverity(Remedies.severity(type)).setRemedy(Remedies.remedy(type, run))
                .setEventTimeMs(now);
        if (flag != null) {
            event.setValue(flag.value()).setThreshold(flag.threshold()).setMessage(flag.reason());
        } else {
            event.setMessage(clearMessage);
        }
        return event.build();
    }

    /** The run's metadata as its first StepRecord gave it, or none. */
    static RunMetadata metadata(KeyValueStore<String, RunInfo> runs, String runId) {
        RunInfo info = runs.get(runId);
        return info == null ? RunMetadata.getDefaultInstance() : info.metadata();
    }
}
