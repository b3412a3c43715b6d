package io.gradwatch.trainer.nn;

/**
 * Truncated backpropagation through time, TBPTT(k1, k2) after Williams and Peng (1990) and
 * Sutskever (2013): the forward pass runs over the whole sequence; at every k1-th timestep (and
 * at the last one) the losses of the timesteps since the previous such point are backpropagated
 * through at most k2 timesteps, the hidden state being treated as a constant (detached) before
 * that. The gradients of all these truncated passes are summed into one optimizer step.
 *
 * <p>{@code Tbptt.full(T)} (k1 = k2 = T) is exact BPTT. For a loss on the last timestep only,
 * TBPTT(k1, k2) is BPTT through the last k2 timesteps: the "shorter truncation" remedy.
 */
public record Tbptt(int k1, int k2) {
    public Tbptt {
        if (k1 < 1 || k2 < k1) {
            throw new IllegalArgumentException("TBPTT needs 1 <= k1 <= k2, got k1=" + k1 + ", k2=" + k2);
        }
    }

    public static Tbptt full(int seqLen) {
        return new Tbptt(seqLen, seqLen);
    }

    /** Whether this is exact BPTT for sequences of length {@code seqLen}. */
    public boolean isFull(int seqLen) {
        return k1 >= seqLen && k2 >= seqLen;
    }
}
