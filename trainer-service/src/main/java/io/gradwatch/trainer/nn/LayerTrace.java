package io.gradwatch.trainer.nn;

/**
 * What one layer saw in the last training step, per timestep, as read-only views of the layer's
 * buffers (valid until the next step). Arrays are flat [timestep][batch][width].
 *
 * @param activations h_t
 * @param hiddenGrads dL/dh_t: the total gradient reaching h_t (from the head, the layer above and
 *                    the recurrence)
 * @param preactGrads dL/dz_t for the pre-activations of all gates (width {@code preactWidth})
 */
public record LayerTrace(int layer, int seqLen, int batch, int hidden, Activation activation,
                         double[] activations, double[] hiddenGrads, double[] preactGrads, int preactWidth) {
}
