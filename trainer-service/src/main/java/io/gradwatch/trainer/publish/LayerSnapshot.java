package io.gradwatch.trainer.publish;

import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;

/**
 * One layer's per-timestep tensors of one optimizer step, copied out of the model's reusable
 * buffers so the publisher thread can encode them while training goes on. Arrays are flat
 * [timestep][batch][width]; {@code activations} and {@code preactGrads} are null when not published.
 */
public record LayerSnapshot(int layer, int seqLen, int batch, int hidden, CellType cell,
                            ActivationFunction activation, float[] hiddenGrads, float[] activations,
                            float[] preactGrads, int preactWidth) {
    public LayerSnapshot {
        int expected = seqLen * batch * hidden;
        if (hiddenGrads.length != expected) {
            throw new IllegalArgumentException("hiddenGrads has " + hiddenGrads.length + " values, expected " + expected);
        }
        if (activations != null && activations.length != expected) {
            throw new IllegalArgumentException("activations has " + activations.length + " values, expected " + expected);
        }
        if (preactGrads != null && preactGrads.length != seqLen * batch * preactWidth) {
            throw new IllegalArgumentException("preactGrads has " + preactGrads.length + " values, expected "
                    + seqLen * batch * preactWidth);
        }
    }

    /** Copies a double array into a new float array (the wire carries at most F32). */
    public static float[] toFloats(double[] values, int length) {
        float[] result = new float[length];
        for (int i = 0; i < length; i++) {
            result[i] = (float) values[i];
        }
        return result;
    }

    /** g_t = ||dL/dh_t||_F over the batch, for t = 0..seqLen-1. */
    public double[] timestepNorms() {
        double[] norms = new double[seqLen];
        int width = batch * hidden;
        for (int t = 0; t < seqLen; t++) {
            double sum = 0;
            for (int i = t * width; i < (t + 1) * width; i++) {
                sum += (double) hiddenGrads[i] * hiddenGrads[i];
            }
            norms[t] = Math.sqrt(sum);
        }
        return norms;
    }

    /** Share of hidden units whose activation is exactly 0 for every sample and timestep; NaN without activations. */
    public double deadFraction() {
        if (activations == null) {
            return Double.NaN;
        }
        int dead = 0;
        for (int j = 0; j < hidden; j++) {
            boolean alive = false;
            for (int row = 0; row < seqLen * batch && !alive; row++) {
                alive = activations[row * hidden + j] != 0f;
            }
            dead += alive ? 0 : 1;
        }
        return dead / (double) hidden;
    }

    /** Records this layer yields per step: one per timestep and published kind. */
    public int recordCount() {
        int kinds = 1 + (activations != null ? 1 : 0) + (preactGrads != null ? 1 : 0);
        return seqLen * kinds;
    }
}
