package io.gradwatch.trainer.nn;

/**
 * The shape of a network.
 *
 * @param activation the nonlinearity of RNN and MLP layers (LSTM and GRU have their own gates)
 * @param inputSize features per timestep
 * @param layers stacked recurrent layers, or the depth of an MLP
 * @param outputs classes, or regression width
 * @param gateBias initial input-side bias of the LSTM forget gate and the GRU update gate (0 under
 *                 PyTorch's default); a positive value makes a fresh cell keep its state, so the
 *                 gradient reaches far back from the first step (Jozefowicz et al. 2015)
 */
public record ModelConfig(CellKind cell, Activation activation, int inputSize, int hidden, int layers, int outputs,
                          Init init, double initGain, double gateBias) {

    public ModelConfig(CellKind cell, Activation activation, int inputSize, int hidden, int layers, int outputs,
                       Init init, double initGain) {
        this(cell, activation, inputSize, hidden, layers, outputs, init, initGain, 0.0);
    }

    public ModelConfig {
        if (!Double.isFinite(gateBias)) {
            throw new IllegalArgumentException("gate bias must be finite, got " + gateBias);
        }
        if (inputSize < 1 || hidden < 1 || layers < 1 || outputs < 1) {
            throw new IllegalArgumentException("input, hidden, layers and outputs must be >= 1: " + inputSize + ", "
                    + hidden + ", " + layers + ", " + outputs);
        }
        if (!(initGain > 0)) {
            throw new IllegalArgumentException("init gain must be > 0, got " + initGain);
        }
    }
}
