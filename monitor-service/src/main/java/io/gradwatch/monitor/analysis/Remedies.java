package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.RunMetadata;
import io.gradwatch.protocol.v1.Severity;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What fixes each condition, as the lecture notes teach it, fitted to the run: built from the
 * run's metadata (its first StepRecord: optimizer, clip norm, cell, activation, init), so an Adam
 * run is not told to use Adam, a clipped run is told its clip norm is too loose, and an LSTM is
 * not told to use an LSTM. A run without metadata gets the notes' full list.
 */
public final class Remedies {
    private Remedies() {
    }

    /** The remedy for a run whose metadata is unknown. */
    public static String remedy(AlertType type) {
        return remedy(type, RunMetadata.getDefaultInstance());
    }

    public static String remedy(AlertType type, RunMetadata run) {
        return switch (type) {
            case VANISHING -> "Gradients vanish before reaching early timesteps: " + String.join(", ", vanishing(run)) + ".";
            case EXPLODING -> "Gradients explode: " + String.join(", ", exploding(run)) + ".";
            case NON_FINITE -> "NaN or Inf in the gradients or the loss: the run is lost from here; restart from the "
                    + "last good checkpoint with " + (run.getClipNorm() > 0
                    ? String.format(Locale.ROOT, "a tighter clip norm than %s", number(run.getClipNorm()))
                    : "gradient clipping") + " and a lower learning rate.";
            case DEAD_RELU -> "Most ReLU units output 0 for every input and pass no gradient: "
                    + String.join(", ", deadRelu(run)) + ".";
            case SATURATED -> "tanh/sigmoid units sit at their bounds where the derivative is ~0: lower the learning "
                    + "rate or the initial weight scale, or normalise the inputs.";
            case LOSS_NOT_DECREASING -> "The loss stopped falling: if a gradient alert fires too, fix that first; "
                    + "otherwise lower the learning rate (or decay it), check the data and labels, or stop a run "
                    + "that has converged.";
            case STALLED -> "The run sent nothing for longer than the stall time: check that the job is alive "
                    + "(a hung data loader, a dead node, a deadlock) and that its publisher reaches Kafka.";
            case UPDATE_RATIO -> "Parameter updates are out of proportion to the weights: above the band the "
                    + "learning rate is too high for that parameter (lower it, or clip); below it the parameter "
                    + "barely learns (frozen, zero gradient, or a learning rate far too low).";
            default -> "";
        };
    }

    private static List<String> vanishing(RunMetadata run) {
        List<String> fixes = new ArrayList<>();
        boolean gated = run.getCell() == CellType.LSTM || run.getCell() == CellType.GRU;
        if (gated) {
            fixes.add("open the " + (run.getCell() == CellType.LSTM ? "forget" : "update") + " gate further "
                    + "(a larger gate bias, e.g. 1..3)");
        } else {
            fixes.add("use an LSTM or GRU");
            if (!isReluFamily(run.getActivation())) {
                fixes.add("ReLU-family activations");
            }
        }
        String init = run.getInit().toLowerCase(Locale.ROOT);
        if (!init.equals("orthogonal") && !init.equals("identity")) {
            fixes.add("orthogonal or identity initialisation of W_hh");
        }
        fixes.add("or a shorter truncation (TBPTT)");
        return fixes;
    }

    private static List<String> exploding(RunMetadata run) {
        List<String> fixes = new ArrayList<>();
        if (run.getClipNorm() > 0) {
            fixes.add("the clip norm " + number(run.getClipNorm()) + " is too loose for this run: lower it (e.g. to "
                    + number(Math.min(1, run.getClipNorm() / 10)) + ")");
        } else {
            fixes.add("clip the gradient norm (e.g. clip_grad_norm_ to 1)");
        }
        if (adaptive(run)) {
            fixes.add("lower the learning rate (" + run.getOptimizer() + " normalises the step, so clipping alone "
                    + "does not shrink it)");
        } else {
            fixes.add("lower the learning rate");
            fixes.add("use RMSprop or Adam");
        }
        fixes.add("or initialise W_hh smaller");
        return fixes;
    }

    /**
     * Whether the run's optimizer divides each step by a running scale of the gradient (Adam,
     * RMSprop, Adagrad and their variants): clipping the gradient then hardly changes the step.
     */
    public static boolean adaptive(RunMetadata run) {
        String optimizer = run.getOptimizer().toLowerCase(Locale.ROOT);
        return optimizer.contains("adam") || optimizer.contains("rmsprop") || optimizer.contains("adagrad");
    }

    private static List<String> deadRelu(RunMetadata run) {
        List<String> fixes = new ArrayList<>();
        if (run.getActivation() != ActivationFunction.LEAKY_RELU && run.getActivation() != ActivationFunction.ELU) {
            fixes.add("use leaky ReLU or ELU");
        }
        fixes.add("a lower learning rate");
        if (!run.getInit().equalsIgnoreCase("he")) {
            fixes.add("or He initialisation");
        }
        return fixes;
    }

    private static boolean isReluFamily(ActivationFunction activation) {
        return activation == ActivationFunction.RELU || activation == ActivationFunction.LEAKY_RELU
                || activation == ActivationFunction.ELU;
    }

    private static String number(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : String.format(Locale.ROOT, "%.3g", value);
    }

    public static Severity severity(AlertType type) {
        return switch (type) {
            case NON_FINITE, EXPLODING -> Severity.CRITICAL;
            case VANISHING, DEAD_RELU, STALLED, UPDATE_RATIO -> Severity.WARNING;
            default -> Severity.INFO;
        };
    }
}
