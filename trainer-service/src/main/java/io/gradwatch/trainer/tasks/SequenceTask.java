package io.gradwatch.trainer.tasks;

import java.util.SplittableRandom;

/** A source of training batches: built-in tasks generated in code, or a user's file. */
public sealed interface SequenceTask permits LongDependencyTask, AddingProblem, SentimentTask, FileDataset {

    String name();

    int seqLen();

    /** Features per timestep. */
    int inputSize();

    /** Classes (classification) or regression width. */
    int outputs();

    boolean classification();

    /** Accuracy of guessing (NaN for regression): the line a network below it has not learned. */
    double chanceAccuracy();

    /** The next batch; the same seed gives the same batches. */
    Batch nextBatch(SplittableRandom rng);

    /** Sets one-hot token {@code token} at (t, b) of a [T][B][vocab] input. */
    static void oneHot(double[] inputs, int t, int b, int batchSize, int vocab, int token) {
        inputs[(t * batchSize + b) * vocab + token] = 1.0;
    }
}
