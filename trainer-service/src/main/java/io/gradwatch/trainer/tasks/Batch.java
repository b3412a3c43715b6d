package io.gradwatch.trainer.tasks;

/**
 * One mini-batch of sequences.
 *
 * @param seqLen timesteps T
 * @param batchSize sequences B
 * @param inputSize features per timestep
 * @param inputs flat [T][B][inputSize]
 * @param targets what the network should output
 */
public record Batch(int seqLen, int batchSize, int inputSize, double[] inputs, Targets targets) {
    public Batch {
        if (inputs.length != seqLen * batchSize * inputSize) {
            throw new IllegalArgumentException("inputs has " + inputs.length + " values, expected T*B*inputSize = "
                    + seqLen * batchSize * inputSize);
        }
    }
}
