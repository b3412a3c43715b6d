package io.gradwatch.trainer.publish;

import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.ArrayList;
import java.util.List;

/** Turns a {@link StepSnapshot} into the {@link TensorRecord}s of the wire protocol. Pure. */
public final class TensorRecordFactory {
    private final DType dtype;

    public TensorRecordFactory(DType dtype) {
        this.dtype = dtype;
    }

    /** One record per layer, timestep and kind, in timestep order within each layer. */
    public List<TensorRecord> records(StepSnapshot snapshot) {
        List<TensorRecord> records = new ArrayList<>(snapshot.recordCount());
        for (LayerSnapshot layer : snapshot.layers()) {
            for (int t = 0; t < layer.seqLen(); t++) {
                records.add(record(snapshot, layer, t, TensorKind.HIDDEN_GRAD, layer.hiddenGrads(), layer.hidden()));
                if (layer.activations() != null) {
                    records.add(record(snapshot, layer, t, TensorKind.ACTIVATION, layer.activations(), layer.hidden()));
                }
                if (layer.preactGrads() != null) {
                    records.add(record(snapshot, layer, t, TensorKind.PREACT_GRAD, layer.preactGrads(),
                            layer.preactWidth()));
                }
            }
        }
        return records;
    }

    private TensorRecord record(StepSnapshot snapshot, LayerSnapshot layer, int timestep, TensorKind kind,
                                float[] values, int width) {
        int length = layer.batch() * width;
        return TensorRecord.newBuilder()
                .setRunId(snapshot.runId())
                .setStep(snapshot.step())
                .setLayer(layer.layer())
                .setTimestep(timestep)
                .setSeqLen(layer.seqLen())
                .setKind(kind)
                .addShape(layer.batch())
                .addShape(width)
                .setDtype(dtype)
                .setData(TensorRecords.encode(values, timestep * length, length, dtype))
                .setCell(layer.cell())
                .setActivation(layer.activation())
                .setEventTimeMs(snapshot.eventTimeMs())
                .setNumLayers(snapshot.numLayers())
                .build();
    }
}
