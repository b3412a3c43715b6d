package io.gradwatch.trainer.tasks;

import java.util.List;
import java.util.SplittableRandom;

/**
 * A small sentiment task in the seeds' spirit ("the food is good" -> 1, "the food is bad" -> 0):
 * short sentences from a fixed vocabulary, left-padded to the sequence length, one-hot encoded.
 * The sentiment word sits near the end, so even a plain RNN can learn this one: it is the
 * short-dependency contrast to {@link LongDependencyTask}.
 */
public record SentimentTask(int seqLen, int batchSize) implements SequenceTask {
    public static final List<String> VOCABULARY = List.of("<pad>", "the", "food", "service", "movie", "is", "was",
            "very", "really", "good", "great", "tasty", "bad", "awful", "bland");
    private static final int[] SUBJECTS = {2, 3, 4};
    private static final int[] VERBS = {5, 6};
    private static final int[] INTENSIFIERS = {7, 8};
    private static final int[] POSITIVE = {9, 10, 11};
    private static final int[] NEGATIVE = {12, 13, 14};
    private static final int LONGEST_SENTENCE = 5;

    public SentimentTask {
        if (seqLen < LONGEST_SENTENCE || batchSize < 1) {
            throw new IllegalArgumentException("sentiment needs seq-len >= " + LONGEST_SENTENCE
                    + " and batch >= 1, got " + seqLen + ", " + batchSize);
        }
    }

    @Override
    public String name() {
        return "sentiment";
    }

    @Override
    public int inputSize() {
        return VOCABULARY.size();
    }

    @Override
    public int outputs() {
        return 2;
    }

    @Override
    public boolean classification() {
        return true;
    }

    @Override
    public double chanceAccuracy() {
        return 0.5;
    }

    @Override
    public Batch nextBatch(SplittableRandom rng) {
        int vocab = VOCABULARY.size();
        double[] inputs = new double[seqLen * batchSize * vocab];
        int[] labels = new int[batchSize];
        for (int b = 0; b < batchSize; b++) {
            labels[b] = rng.nextInt(2);
            int[] sentence = sentence(labels[b] == 1, rng);
            int pad = seqLen - sentence.length;
            for (int t = 0; t < seqLen; t++) {
                SequenceTask.oneHot(inputs, t, b, batchSize, vocab, t < pad ? 0 : sentence[t - pad]);
            }
        }
        return new Batch(seqLen, batchSize, vocab, inputs, new Targets.Classes(labels, 2, false));
    }

    /** "the food is [very] good", as token ids. */
    static int[] sentence(boolean positive, SplittableRandom rng) {
        boolean intensified = rng.nextBoolean();
        int[] words = positive ? POSITIVE : NEGATIVE;
        int[] tokens = new int[intensified ? 5 : 4];
        tokens[0] = 1;
        tokens[1] = SUBJECTS[rng.nextInt(SUBJECTS.length)];
        tokens[2] = VERBS[rng.nextInt(VERBS.length)];
        if (intensified) {
            tokens[3] = INTENSIFIERS[rng.nextInt(INTENSIFIERS.length)];
        }
        tokens[tokens.length - 1] = words[rng.nextInt(words.length)];
        return tokens;
    }
}
