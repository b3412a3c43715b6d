package io.gradwatch.trainer.nn;

/** Loss and accuracy (NaN for regression) of one forward/backward pass. */
public record StepResult(double loss, double accuracy) {
}
