package io.gradwatch.protocol;

/**
 * Bounds on what a tensor record may claim, so a corrupt or hostile record cannot make a reader
 * allocate or loop without end.
 *
 * @param maxSeqLen largest accepted seq_len
 * @param maxElements largest accepted product(shape)
 */
public record TensorLimits(int maxSeqLen, long maxElements) {
    public TensorLimits {
        if (maxSeqLen < 1 || maxElements < 1) {
            throw new IllegalArgumentException("limits must be positive: " + maxSeqLen + ", " + maxElements);
        }
    }
}
