package io.gradwatch.trainer.nn;

/** Elman RNN, as torch.nn.RNN: h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh). */
public final class RnnLayer extends RecurrentLayer {
    private final Activation activation;
    /** Pre-activations z_t, [T][B][H]. */
    private double[] z = new double[0];

    public RnnLayer(int index, int inputSize, int hidden, Activation activation) {
        super(index, inputSize, hidden, 1);
        this.activation = activation;
    }

    public Activation activation() {
        return activation;
    }

    @Override
    protected void resizeCell(int seqLen, int batch) {
        z = inputGates; // x W_ih^T + b_ih + b_hh, then h_{t-1} W_hh^T added in place
    }

    @Override
    protected void stepForward(int t) {
        int bh = batch * hidden;
        int off = t * bh;
        recurrentProduct(t, z, off, true);
        for (int i = off; i < off + bh; i++) {
            hs[i] = activation.apply(z[i]);
        }
    }

    @Override
    protected boolean foldsRecurrentBias() {
        return true;
    }

    @Override
    protected void stepBackward(int t) {
        int off = t * batch * hidden;
        for (int i = 0; i < batch * hidden; i++) {
            double d = dh[i] * activation.derivative(z[off + i], hs[off + i]);
            dzIh[i] = d;
            dzHh[i] = d;
        }
    }
}
