package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.Severity;

/** What fixes each condition, as the lecture notes teach it, and how urgent it is. */
public final class Remedies {
    private Remedies() {
    }

    public static String remedy(AlertType type) {
        return switch (type) {
            case VANISHING -> "Gradients vanish before reaching early timesteps: use an LSTM or GRU, ReLU-family "
                    + "activations, orthogonal or identity initialisation of W_hh, or a shorter truncation (TBPTT).";
            case EXPLODING -> "Gradients explode: clip the gradient norm (e.g. clip_grad_norm_ to 1), lower the "
                    + "learning rate, use RMSprop or Adam, or initialise W_hh smaller.";
            case NON_FINITE -> "NaN or Inf in the gradients: the run is lost from here; restart from the last good "
                    + "checkpoint with gradient clipping and a lower learning rate.";
            case DEAD_RELU -> "Most ReLU units output 0 for every input and pass no gradient: use leaky ReLU or ELU, "
                    + "a lower learning rate, or He initialisation.";
            case SATURATED -> "tanh/sigmoid units sit at their bounds where the derivative is ~0: lower the learning "
                    + "rate or the initial weight scale, or normalise the inputs.";
            default -> "";
        };
    }

    public static Severity severity(AlertType type) {
        return switch (type) {
            case NON_FINITE, EXPLODING -> Severity.CRITICAL;
            case VANISHING, DEAD_RELU -> Severity.WARNING;
            default -> Severity.INFO;
        };
    }
}
