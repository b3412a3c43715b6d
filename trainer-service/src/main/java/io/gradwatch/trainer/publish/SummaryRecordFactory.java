package io.gradwatch.trainer.publish;

import io.gradwatch.protocol.ActivationStats;
import io.gradwatch.protocol.GradientSummaries;
import io.gradwatch.protocol.v1.GradientSummary;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a {@link StepSnapshot} into one {@link GradientSummary} per layer, reducing the float
 * values in place with the protocol's shared reduction (the monitor's own for TensorRecords). Pure.
 * The values reduced are the snapshot's F32 ones: {@code --dtype} applies to tensors only.
 */
public final class SummaryRecordFactory {

    public List<GradientSummary> summaries(StepSnapshot snapshot) {
        List<GradientSummary> summaries = new ArrayList<>(snapshot.layers().size());
        for (LayerSnapshot layer : snapshot.layers()) {
            summaries.add(summary(snapshot, layer));
        }
        return summaries;
    }

    private static GradientSummary summary(StepSnapshot snapshot, LayerSnapshot layer) {
        GradientSummaries.Reducer reducer = new GradientSummaries.Reducer(snapshot.runId(), snapshot.step(),
                layer.layer(), layer.seqLen(), layer.cell(), layer.activation(),
                ActivationStats.DEFAULT_SATURATION_MARGIN);
        int batch = layer.batch();
        int hidden = layer.hidden();
        for (int t = 0; t < layer.seqLen(); t++) {
            int offset = t * batch * hidden;
            if (layer.activations() != null) {
                reducer.activation(t, layer.activations(), offset, batch, hidden);
            }
            if (layer.preactGrads() != null) {
                reducer.preactGrad(t, layer.preactGrads(), t * batch * layer.preactWidth(),
                        batch * layer.preactWidth());
            }
            reducer.hiddenGrad(t, layer.hiddenGrads(), offset, batch, hidden);
        }
        return reducer.build(snapshot.eventTimeMs(), snapshot.numLayers());
    }
}
