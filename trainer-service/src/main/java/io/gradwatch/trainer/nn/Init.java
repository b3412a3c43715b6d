package io.gradwatch.trainer.nn;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Weight initialisation schemes. {@code initGain} multiplies the recurrent weights W_hh (and the
 * MLP's hidden-to-hidden weights) under every scheme, so a gain above 1 makes gradients grow
 * across time on purpose.
 */
public enum Init {
    /** PyTorch's default: every RNN parameter U(-1/sqrt(H), 1/sqrt(H)); Linear: U(-1/sqrt(fan_in), ..). */
    DEFAULT,
    /** Glorot/Xavier uniform weights, zero biases. */
    XAVIER,
    /** He/Kaiming normal weights (fan_in), zero biases: for ReLU-family units. */
    HE,
    /** Orthogonal W_hh per gate block, Xavier W_ih, zero biases (Saxe et al. 2014). */
    ORTHOGONAL,
    /** Identity W_hh per gate block, W_ih ~ N(0, 0.001^2), zero biases: the IRNN of Le et al. (2015). */
    IDENTITY,
    /** PyTorch's default, but W_hh orthogonal times the gain: reproduces exploding gradients on purpose. */
    SCALED;

    static void initialize(Network network, ModelConfig config, SplittableRandom rng) {
        Init scheme = config.init();
        double gain = config.initGain();
        if (network instanceof SequenceModel model) {
            for (RecurrentLayer layer : model.layers()) {
                scheme.initializeRecurrent(layer, rng, gain);
                if (config.gateBias() != 0 && config.cell() != CellKind.RNN) {
                    // LSTM gates i,f,g,o and GRU gates r,z,n: the remembering gate is block 1 in both.
                    int hidden = layer.hidden();
                    Arrays.fill(layer.biasIh.value(), hidden, 2 * hidden, config.gateBias());
                    Arrays.fill(layer.biasHh.value(), hidden, 2 * hidden, 0.0);
                }
            }
        } else if (network instanceof MlpModel mlp) {
            for (int k = 0; k < mlp.weights().size(); k++) {
                Parameter weight = mlp.weights().get(k);
                scheme.initializeDense(weight, mlp.biases().get(k), rng, k == 0 ? 1.0 : gain);
            }
        }
        // The head is a plain torch.nn.Linear under every scheme.
        List<Parameter> all = network.parameters();
        Parameter headWeight = all.get(all.size() - 2);
        Parameter headBias = all.get(all.size() - 1);
        double bound = 1 / Math.sqrt(headWeight.shape()[1]);
        uniform(headWeight.value(), bound, rng);
        uniform(headBias.value(), bound, rng);
    }

    private void initializeRecurrent(RecurrentLayer layer, SplittableRandom rng, double gain) {
        int hidden = layer.hidden();
        Parameter wIh = layer.weightIh;
        Parameter wHh = layer.weightHh;
        switch (this) {
            case DEFAULT, SCALED -> {
                double bound = 1 / Math.sqrt(hidden);
                for (Parameter p : layer.parameters()) {
                    uniform(p.value(), bound, rng);
                }
                if (this == SCALED) {
                    blocks(wHh, hidden, rng, true);
                }
            }
            case XAVIER -> {
                xavier(wIh, rng);
                xavier(wHh, rng);
            }
            case HE -> {
                he(wIh, rng);
                he(wHh, rng);
            }
            case ORTHOGONAL -> {
                xavier(wIh, rng);
                blocks(wHh, hidden, rng, true);
            }
            case IDENTITY -> {
                for (int i = 0; i < wIh.size(); i++) {
                    wIh.value()[i] = 0.001 * rng.nextGaussian();
                }
                blocks(wHh, hidden, rng, false);
            }
        }
        for (int i = 0; i < wHh.size(); i++) {
            wHh.value()[i] *= gain;
        }
    }

    private void initializeDense(Parameter weight, Parameter bias, SplittableRandom rng, double gain) {
        int out = weight.shape()[0];
        int in = weight.shape()[1];
        switch (this) {
            case DEFAULT, SCALED -> {
                double bound = 1 / Math.sqrt(in);
                uniform(weight.value(), bound, rng);
                uniform(bias.value(), bound, rng);
            }
            case XAVIER -> xavier(weight, rng);
            case HE -> he(weight, rng);
            case ORTHOGONAL -> orthogonal(weight.value(), 0, out, in, rng);
            case IDENTITY -> {
                if (out == in) {
                    for (int i = 0; i < out; i++) {
                        weight.value()[i * in + i] = 1;
                    }
                } else {
                    xavier(weight, rng);
                }
            }
        }
        for (int i = 0; i < weight.size(); i++) {
            weight.value()[i] *= gain;
        }
    }

    /** Fills each H x H gate block of W_hh with an orthogonal matrix or the identity. */
    private static void blocks(Parameter wHh, int hidden, SplittableRandom rng, boolean orthogonal) {
        Arrays.fill(wHh.value(), 0.0);
        int gates = wHh.shape()[0] / hidden;
        for (int g = 0; g < gates; g++) {
            int off = g * hidden * hidden;
            if (orthogonal) {
                orthogonal(wHh.value(), off, hidden, hidden, rng);
            } else {
                for (int i = 0; i < hidden; i++) {
                    wHh.value()[off + i * hidden + i] = 1;
                }
            }
        }
    }

    /** A rows x cols matrix with orthonormal rows (or columns, if rows > cols), by Gram-Schmidt. */
    static void orthogonal(double[] target, int off, int rows, int cols, SplittableRandom rng) {
        boolean transpose = rows > cols;
        int n = transpose ? cols : rows;
        int m = transpose ? rows : cols;
        double[] q = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int attempt = 0; ; attempt++) {
                for (int j = 0; j < m; j++) {
                    q[i * m + j] = rng.nextGaussian();
                }
                for (int k = 0; k < i; k++) {
                    double dot = 0;
                    for (int j = 0; j < m; j++) {
                        dot += q[i * m + j] * q[k * m + j];
                    }
                    for (int j = 0; j < m; j++) {
                        q[i * m + j] -= dot * q[k * m + j];
                    }
                }
                double norm = 0;
                for (int j = 0; j < m; j++) {
                    norm += q[i * m + j] * q[i * m + j];
                }
                norm = Math.sqrt(norm);
                if (norm > 1e-6 || attempt > 10) {
                    for (int j = 0; j < m; j++) {
                        q[i * m + j] /= norm;
                    }
                    break;
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                target[off + r * cols + c] = transpose ? q[c * m + r] : q[r * m + c];
            }
        }
    }

    private static void uniform(double[] values, double bound, SplittableRandom rng) {
        for (int i = 0; i < values.length; i++) {
            values[i] = rng.nextDouble(-bound, bound);
        }
    }

    private static void xavier(Parameter weight, SplittableRandom rng) {
        double bound = Math.sqrt(6.0 / (weight.shape()[0] + weight.shape()[1]));
        uniform(weight.value(), bound, rng);
    }

    private static void he(Parameter weight, SplittableRandom rng) {
        double std = Math.sqrt(2.0 / weight.shape()[1]);
        for (int i = 0; i < weight.size(); i++) {
            weight.value()[i] = std * rng.nextGaussian();
        }
    }
}
