package io.gradwatch.trainer.nn;

/**
 * GRU, as torch.nn.GRU, gates in PyTorch's order r, z, n:
 * r = sigma(W_ir x + b_ir + W_hr h + b_hr), z = sigma(W_iz x + b_iz + W_hz h + b_hz),
 * n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.
 */
public final class GruLayer extends RecurrentLayer {
    /** h_{t-1} W_hh^T + b_hh per row: [T][B][3H] (the n part is needed apart from the input side). */
    private double[] hiddenGates = new double[0];
    /** r, z, n per row: [T][B][3H]. */
    private double[] act = new double[0];

    public GruLayer(int index, int inputSize, int hidden) {
        super(index, inputSize, hidden, 3);
    }

    @Override
    protected void resizeCell(int seqLen, int batch) {
        hiddenGates = new double[seqLen * batch * 3 * hidden];
        act = new double[seqLen * batch * 3 * hidden];
    }

    @Override
    protected void stepForward(int t) {
        int h = hidden;
        int gOff = t * batch * 3 * h;
        recurrentProduct(t, hiddenGates, gOff, false);
        Kernels.addBias(hiddenGates, gOff, biasHh.value(), batch, 3 * h);
        for (int b = 0; b < batch; b++) {
            int row = gOff + b * 3 * h;
            int hOff = (t * batch + b) * h;
            int prevOff = ((t - 1) * batch + b) * h;
            for (int j = 0; j < h; j++) {
                double r = Activation.sigmoid(inputGates[row + j] + hiddenGates[row + j]);
                double z = Activation.sigmoid(inputGates[row + h + j] + hiddenGates[row + h + j]);
                double n = Activation.tanh(inputGates[row + 2 * h + j] + r * hiddenGates[row + 2 * h + j]);
                act[row + j] = r;
                act[row + h + j] = z;
                act[row + 2 * h + j] = n;
                double hPrev = t == 0 ? h0[b * h + j] : hs[prevOff + j];
                hs[hOff + j] = (1 - z) * n + z * hPrev;
            }
        }
    }

    @Override
    protected void stepBackward(int t) {
        int h = hidden;
        for (int b = 0; b < batch; b++) {
            int row = (t * batch + b) * 3 * h;
            int prevOff = ((t - 1) * batch + b) * h;
            int local = b * h;
            int zRow = b * 3 * h;
            for (int j = 0; j < h; j++) {
                double r = act[row + j];
                double z = act[row + h + j];
                double n = act[row + 2 * h + j];
                double hPrev = t == 0 ? h0[b * h + j] : hs[prevOff + j];
                double dhj = dh[local + j];
                double dnPre = dhj * (1 - z) * (1 - n * n);
                double dzPre = dhj * (hPrev - n) * z * (1 - z);
                double drPre = dnPre * hiddenGates[row + 2 * h + j] * r * (1 - r);
                dzIh[zRow + j] = drPre;
                dzIh[zRow + h + j] = dzPre;
                dzIh[zRow + 2 * h + j] = dnPre;
                dzHh[zRow + j] = drPre;
                dzHh[zRow + h + j] = dzPre;
                dzHh[zRow + 2 * h + j] = dnPre * r;
            }
        }
    }

    @Override
    protected boolean separateRecurrentGrad() {
        return true;
    }

    @Override
    protected void addDirectRecurrentGradient(int t) {
        int h = hidden;
        for (int b = 0; b < batch; b++) {
            int row = (t * batch + b) * 3 * h;
            for (int j = 0; j < h; j++) {
                dhNext[b * h + j] += dh[b * h + j] * act[row + h + j];
            }
        }
    }
}
