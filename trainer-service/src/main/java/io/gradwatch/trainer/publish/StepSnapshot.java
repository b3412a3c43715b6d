package io.gradwatch.trainer.publish;

import io.gradwatch.protocol.v1.StepRecord;
import java.util.List;

/**
 * Everything published for one optimizer step: the per-layer tensors (empty on steps that only
 * publish the step summary) and the {@link StepRecord}.
 */
public record StepSnapshot(String runId, long step, long eventTimeMs, int numLayers, List<LayerSnapshot> layers,
                           StepRecord stepRecord) {
    public StepSnapshot {
        layers = List.copyOf(layers);
    }

    public int recordCount() {
        return 1 + layers.stream().mapToInt(LayerSnapshot::recordCount).sum();
    }
}
