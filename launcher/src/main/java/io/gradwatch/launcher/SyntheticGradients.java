package io.gradwatch.launcher;

import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;

/**
 * F32 {@code HIDDEN_GRAD} records as a trainer publishes them, with a chosen per-timestep factor:
 * the norm of timestep t is {@code factor^(T-1-t)} times the last one's, so 1.0 is a healthy run
 * and 0.3 a vanishing one. For the bench and the fault-injection tests: load with known answers.
 * Not thread-safe (one reusable value buffer).
 */
public final class SyntheticGradients {
    private final int batch;
    private final int hidden;
    private final float[] values;

    public SyntheticGradients(int batch, int hidden) {
        this.batch = batch;
        this.hidden = hidden;
        this.values = new float[batch * hidden];
    }

    /** Bytes of one record's value on the wire for this shape (protobuf overhead excluded). */
    public int tensorBytes() {
        return batch * hidden * Float.BYTES;
    }

    public byte[] record(String runId, long step, int layer, int timestep, int seqLen, double factor) {
        float scale = (float) Math.pow(factor, seqLen - 1 - timestep);
        for (int i = 0; i < values.length; i++) {
            // Deterministic, sign-alternating values: a plausible gradient with a known norm.
            values[i] = scale * (((i * 31 + timestep * 7) % 17) - 8) / 8f;
        }
        return TensorRecord.newBuilder()
                .setRunId(runId).setStep(step).setLayer(layer).setTimestep(timestep).setSeqLen(seqLen)
                .setKind(TensorKind.HIDDEN_GRAD).addShape(batch).addShape(hidden).setDtype(DType.F32)
                .setData(TensorRecords.encode(values, 0, values.length, DType.F32))
                .setCell(CellType.RNN).setActivation(ActivationFunction.TANH)
                .setEventTimeMs(System.currentTimeMillis()).setNumLayers(layer + 1)
                .build().toByteArray();
    }
}
