package io.gradwatch.alerts.state;

import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.LayerHealth;
import java.util.List;
import java.util.Map;

/**
 * One run as {@link FleetState} knew it at one instant: copied under the state's lock, so HTTP
 * threads read it while the consumer keeps applying records. Never changed after it is made
 * (the arrays are fresh copies that nothing else holds).
 *
 * @param labels the run's labels from its first step record's metadata
 * @param paramGradNorms the latest step's gradient norm per parameter (PyTorch names), in name order
 * @param timeline alert transitions, closed-loop actions and the commands the trainer applied, oldest first
 */
public record RunSnapshot(String runId, long lastSeenMs, FleetState.Progress progress, Map<String, String> labels,
                          List<Layer> layers, Steps steps, Map<String, Double> paramGradNorms,
                          List<AlertEvent> activeAlerts, List<TimelineEntry> timeline) {

    /** A layer: its latest health, its decay ratio and horizon over steps, and its gradient flow. */
    public record Layer(LayerHealth latest, List<FleetState.LayerPoint> history, Flow flow) {
    }

    /**
     * A layer's gradient flow, training step x timestep.
     *
     * @param seqLen the layer's sequence length T
     * @param timesteps the timestep of each column (0 .. T-1, evenly spaced when T exceeds the column cap)
     * @param steps the optimizer step of each row, oldest first
     * @param log10Norms log10 ||dL/dh_t||, row-major, {@code steps.length x timesteps.length}, NaN where none
     */
    public record Flow(int seqLen, int[] timesteps, long[] steps, float[] log10Norms) {
    }

    /** Step-level series of equal length, oldest step first. */
    public record Steps(long[] steps, double[] loss, double[] gradNorm, double[] gradNormClipped,
                        double[] learningRate) {
    }

    /**
     * One entry of a run's timeline.
     *
     * @param kind FIRING, RESOLVED, ACTION_TAKEN (the monitor sent a command) or APPLIED (the trainer reported it)
     * @param layer the alert's layer, -1 for APPLIED
     * @param type the alert type, empty for APPLIED
     * @param commandId the control command's id (ACTION_TAKEN, APPLIED), else empty
     * @param detail what happened, in words
     */
    public record TimelineEntry(long step, long timeMs, String kind, int layer, String type, String severity,
                                String commandId, String detail) {
    }

    /** The line of the fleet table. */
    public record Summary(String runId, long lastSeenMs, FleetState.Progress progress, Map<String, String> labels,
                          List<AlertEvent> activeAlerts) {
    }
}
