package io.gradwatch.trainer.tasks;

import java.util.SplittableRandom;

/**
 * The adding problem (Hochreiter and Schmidhuber 1997; Le et al. 2015): each timestep has a value
 * in [0, 1) and a marker; exactly two markers are set, one in each half of the sequence, and the
 * target is the sum of the two marked values (MSE). Predicting 1 always gives an MSE of about 0.167.
 */
public record AddingProblem(int seqLen, int batchSize) implements SequenceTask {
    public AddingProblem {
        if (seqLen < 2 || batchSize < 1) {
            throw new IllegalArgumentException("adding problem needs seq-len >= 2 and batch >= 1, got " + seqLen
                    + ", " + batchSize);
        }
    }

    @Override
    public String name() {
        return "adding";
    }

    @Override
    public int inputSize() {
        return 2;
    }

    @Override
    public int outputs() {
        return 1;
    }

    @Override
    public boolean classification() {
        return false;
    }

    @Override
    public double chanceAccuracy() {
        return Double.NaN;
    }

    @Override
    public Batch nextBatch(SplittableRandom rng) {
        double[] inputs = new double[seqLen * batchSize * 2];
        double[] targets = new double[batchSize];
        int half = seqLen / 2;
        for (int b = 0; b < batchSize; b++) {
            int first = rng.nextInt(half);
            int second = half + rng.nextInt(seqLen - half);
            for (int t = 0; t < seqLen; t++) {
                double value = rng.nextDouble();
                int row = (t * batchSize + b) * 2;
                inputs[row] = value;
                if (t == first || t == second) {
                    inputs[row + 1] = 1.0;
                    targets[b] += value;
                }
            }
        }
        return new Batch(seqLen, batchSize, 2, inputs, new Targets.Values(targets, 1, false));
    }
}
