package io.gradwatch.trainer.tasks;

/** What a batch should produce: class labels (cross-entropy) or real values (MSE). */
public sealed interface Targets {

    /** Whether there is a target at every timestep ([T][B]) rather than only after the last ([B]). */
    boolean perTimestep();

    /**
     * Class labels.
     *
     * @param labels [B], or [T][B] when per timestep
     */
    record Classes(int[] labels, int numClasses, boolean perTimestep) implements Targets {
    }

    /**
     * Regression targets.
     *
     * @param values [B][width], or [T][B][width] when per timestep
     */
    record Values(double[] values, int width, boolean perTimestep) implements Targets {
    }
}
