package io.gradwatch.trainer.tasks;

import java.util.SplittableRandom;

/**
 * "The writer of the books <em>is</em>": the label is fixed by a marker token at the start of the
 * sequence (writer / writers), the remaining T - 1 tokens are distractors drawn uniformly from the
 * rest of the vocabulary, and the network must answer after the last one. Nothing but the first
 * token carries the label, so accuracy at chance proves the dependency was not learned.
 * Inputs are one-hot over the vocabulary; tokens 0..classes-1 are the markers.
 */
public record LongDependencyTask(int seqLen, int vocab, int batchSize, int classes) implements SequenceTask {
    public LongDependencyTask {
        if (seqLen < 2) {
            throw new IllegalArgumentException("long-dependency needs a sequence length >= 2, got " + seqLen);
        }
        if (classes < 2 || vocab < classes + 1) {
            throw new IllegalArgumentException("long-dependency needs >= 2 classes and a vocabulary of at least "
                    + "classes + 1 tokens, got classes " + classes + ", vocab " + vocab);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
    }

    @Override
    public String name() {
        return "long-dependency";
    }

    @Override
    public int inputSize() {
        return vocab;
    }

    @Override
    public int outputs() {
        return classes;
    }

    @Override
    public boolean classification() {
        return true;
    }

    @Override
    public double chanceAccuracy() {
        return 1.0 / classes;
    }

    @Override
    public Batch nextBatch(SplittableRandom rng) {
        double[] inputs = new double[seqLen * batchSize * vocab];
        int[] labels = new int[batchSize];
        for (int b = 0; b < batchSize; b++) {
            labels[b] = rng.nextInt(classes);
            SequenceTask.oneHot(inputs, 0, b, batchSize, vocab, labels[b]);
            for (int t = 1; t < seqLen; t++) {
                SequenceTask.oneHot(inputs, t, b, batchSize, vocab, classes + rng.nextInt(vocab - classes));
            }
        }
        return new Batch(seqLen, batchSize, vocab, inputs, new Targets.Classes(labels, classes, false));
    }
}
