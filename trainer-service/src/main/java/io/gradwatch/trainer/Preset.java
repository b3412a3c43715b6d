package io.gradwatch.trainer;

import io.gradwatch.trainer.nn.Activation;
import io.gradwatch.trainer.nn.CellKind;
import io.gradwatch.trainer.nn.Init;
import java.util.Arrays;
import java.util.Locale;

/**
 * The seeds' scenarios as ready-made settings; any flag given on the command line wins over the
 * preset. All use the long-dependency task unless told otherwise.
 */
public enum Preset {
    /** A tanh RNN with PyTorch's default init and plain SGD: the gradient decays geometrically, the first token is never learned. */
    VANISHING_RNN(Recipe.of(CellKind.RNN, Activation.TANH).optimizer("sgd", 0.1),
            "tanh RNN, default init: vanishing gradients"),
    /**
     * LSTM with its forget gate opened (bias 3): the cell state carries the gradient across the
     * sequence. Adam at 5e-4: larger rates learn as fast but drive the cell into tanh saturation
     * once the task is solved, after which g_0 / g_T-1 sinks (to ~1e-4 at 3e-3, below 1e-2
     * after ~1,200 steps at 1e-3); at 5e-4 it stays between 1e-2 and 1e-1 for 3,000 steps.
     */
    LSTM(Recipe.of(CellKind.LSTM, Activation.TANH).gateBias(3.0).optimizer("adam", 5e-4), "LSTM: learns the long dependency"),
    /** GRU with its update gate biased to keep state (3): the gradient gets through. */
    GRU(Recipe.of(CellKind.GRU, Activation.TANH).gateBias(3.0).optimizer("adam", 3e-3), "GRU: learns the long dependency"),
    /** A ReLU RNN whose recurrent weights are an orthogonal matrix scaled by 2: gradients grow by orders of magnitude. */
    EXPLODING_INIT(Recipe.of(CellKind.RNN, Activation.RELU).init(Init.SCALED, 2.0).optimizer("sgd", 1e-2),
            "ReLU RNN, W_hh x2: exploding gradients"),
    /** The exploding preset with the fix: the global gradient norm clipped to 1. */
    CLIPPED(Recipe.of(CellKind.RNN, Activation.RELU).init(Init.SCALED, 2.0).optimizer("sgd", 1e-2).clipNorm(1.0),
            "exploding init, clipped to norm 1"),
    /** A ReLU RNN driven by too large a learning rate (Adam, 0.1): most units end up dead (output 0, no gradient). */
    DEAD_RELU(Recipe.of(CellKind.RNN, Activation.RELU).init(Init.HE, 1.0).optimizer("adam", 0.1),
            "ReLU RNN, learning rate 0.1: dying ReLUs"),
    /** The dead-relu preset with leaky ReLU, and the global norm clipped to 1 so the large rate cannot explode it: no unit can die. */
    LEAKY_RELU(Recipe.of(CellKind.RNN, Activation.LEAKY_RELU).init(Init.HE, 1.0).optimizer("adam", 0.1).clipNorm(1.0),
            "leaky ReLU (and clipping): no dead units"),
    /**
     * A misconfigured warm-up: a leaky-ReLU IRNN (identity W_hh, spectral radius 1) under Adam whose
     * learning rate rises linearly from 1e-3 to 0.1 over 100 steps, far too high a peak. Adam moves
     * every weight by about the learning rate per step, so W_hh's spectral radius creeps above 1 and
     * the gradient, a product of 49 Jacobians, grows with it over tens of steps (seed 1: ~2 at
     * step 20, 1e3 from step 22, 1e6 at step 48) with the loss still finite. Leaky, because plain
     * ReLU units die at these rates (and then the gradient vanishes instead); SGD either settles or
     * is NaN within 2-3 steps.
     */
    WARMUP_OVERSHOOT(Recipe.of(CellKind.RNN, Activation.LEAKY_RELU).init(Init.IDENTITY, 1.0).optimizer("adam", 1e-3)
            .warmUp(100, 0.1), "leaky-ReLU IRNN, Adam warm-up to lr 0.1: explodes over tens of steps");

    private final Recipe recipe;
    private final String description;

    Preset(Recipe recipe, String description) {
        this.recipe = recipe;
        this.description = description;
    }

    /**
     * The settings of a preset, or of no preset ({@link #DEFAULTS}: what {@code train} uses for a
     * setting neither a preset nor a flag gives). Built by name, from the defaults:
     * {@code Recipe.of(CellKind.RNN, Activation.RELU).init(Init.SCALED, 2.0).optimizer("sgd", 1e-2)}.
     *
     * @param optimizer sgd, momentum, rmsprop or adam
     * @param clipNorm the global gradient norm clipped to, 0 for none
     * @param warmupSteps steps of a linear learning-rate warm-up, 0 for none
     * @param peakLearningRate the learning rate the warm-up ends at (with {@code warmupSteps > 0})
     */
    public record Recipe(CellKind cell, Activation activation, Init init, double initGain, double gateBias,
                         String optimizer, double learningRate, double clipNorm, int warmupSteps,
                         double peakLearningRate) {
        public static final Recipe DEFAULTS = new Recipe(CellKind.RNN, Activation.TANH, Init.DEFAULT, 1.0, 0, "adam",
                1e-3, 0, 0, 0);

        public static Recipe of(CellKind cell, Activation activation) {
            return new Recipe(cell, activation, DEFAULTS.init, DEFAULTS.initGain, DEFAULTS.gateBias, DEFAULTS.optimizer,
                    DEFAULTS.learningRate, DEFAULTS.clipNorm, DEFAULTS.warmupSteps, DEFAULTS.peakLearningRate);
        }

        Recipe init(Init scheme, double gain) {
            return new Recipe(cell, activation, scheme, gain, gateBias, optimizer, learningRate, clipNorm, warmupSteps,
                    peakLearningRate);
        }

        Recipe gateBias(double bias) {
            return new Recipe(cell, activation, init, initGain, bias, optimizer, learningRate, clipNorm, warmupSteps,
                    peakLearningRate);
        }

        Recipe optimizer(String name, double rate) {
            return new Recipe(cell, activation, init, initGain, gateBias, name, rate, clipNorm, warmupSteps,
                    peakLearningRate);
        }

        Recipe clipNorm(double norm) {
            return new Recipe(cell, activation, init, initGain, gateBias, optimizer, learningRate, norm, warmupSteps,
                    peakLearningRate);
        }

        Recipe warmUp(int steps, double peak) {
            return new Recipe(cell, activation, init, initGain, gateBias, optimizer, learningRate, clipNorm, steps, peak);
        }
    }

    /** The preset's command-line name, e.g. {@code vanishing-rnn}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public String description() {
        return description;
    }

    public Recipe recipe() {
        return recipe;
    }

    public static Preset fromCliName(String name) {
        return Arrays.stream(values()).filter(p -> p.cliName().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown preset '" + name + "'; presets: "
                        + String.join(", ", Arrays.stream(values()).map(Preset::cliName).toList())));
    }
}
