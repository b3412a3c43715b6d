package io.gradwatch.trainer.nn;

/**
 * LSTM, as torch.nn.LSTM, gates in PyTorch's order i, f, g, o:
 * i = sigma(.), f = sigma(.), g = tanh(.), o = sigma(.) of x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh;
 * c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t).
 */
public final class LstmLayer extends RecurrentLayer {
    /** Gate activations i, f, g, o per row: [T][B][4H]. */
    private double[] act = new double[0];
    /** c_t and tanh(c_t): [T][B][H]. */
    private double[] cs = new double[0];
    private double[] tanhC = new double[0];
    /** dL/dc carried from t+1 to t. */
    private double[] dcNext = new double[0];
    /** c_{-1}: zeros unless an initial state was given. */
    private double[] initialCell;

    public LstmLayer(int index, int inputSize, int hidden) {
        super(index, inputSize, hidden, 4);
    }

    @Override
    protected void resizeCell(int seqLen, int batch) {
        act = new double[seqLen * batch * 4 * hidden];
        cs = new double[seqLen * batch * hidden];
        tanhC = new double[seqLen * batch * hidden];
        dcNext = new double[batch * hidden];
    }

    @Override
    protected void stepForward(int t) {
        int h = hidden;
        int gOff = t * batch * 4 * h;
        System.arraycopy(inputGates, gOff, act, gOff, batch * 4 * h);
        Kernels.gemmTransB(previousHidden(t), previousHiddenOffset(t), weightHh.value(), 0, act, gOff, batch, 4 * h,
                h, true);
        Kernels.addBias(act, gOff, biasHh.value(), batch, 4 * h);
        for (int b = 0; b < batch; b++) {
            int row = gOff + b * 4 * h;
            int hOff = (t * batch + b) * h;
            int prevOff = ((t - 1) * batch + b) * h;
            for (int j = 0; j < h; j++) {
                double i = Activation.sigmoid(act[row + j]);
                double f = Activation.sigmoid(act[row + h + j]);
                double g = Math.tanh(act[row + 2 * h + j]);
                double o = Activation.sigmoid(act[row + 3 * h + j]);
                act[row + j] = i;
                act[row + h + j] = f;
                act[row + 2 * h + j] = g;
                act[row + 3 * h + j] = o;
                double cPrev = t == 0 ? cellAtStart(b * h + j) : cs[prevOff + j];
                double c = f * cPrev + i * g;
                double tc = Math.tanh(c);
                cs[hOff + j] = c;
                tanhC[hOff + j] = tc;
                hs[hOff + j] = o * tc;
            }
        }
    }

    /** Starts the next forward passes from c_{-1} = {@code initialCell} [B][H] (null for zeros). */
    public void setInitialCell(double[] initialCell) {
        this.initialCell = initialCell == null ? null : initialCell.clone();
    }

    /** c_t of the last forward, [T][B][H]. */
    double[] cellStates() {
        return cs;
    }

    private double cellAtStart(int index) {
        return initialCell == null ? 0 : initialCell[index];
    }

    @Override
    protected void clearCellCarry() {
        java.util.Arrays.fill(dcNext, 0.0);
    }

    @Override
    protected void stepBackward(int t) {
        int h = hidden;
        for (int b = 0; b < batch; b++) {
            int row = (t * batch + b) * 4 * h;
            int hOff = (t * batch + b) * h;
            int prevOff = ((t - 1) * batch + b) * h;
            int local = b * h;
            int zRow = b * 4 * h;
            for (int j = 0; j < h; j++) {
                double i = act[row + j];
                double f = act[row + h + j];
                double g = act[row + 2 * h + j];
                double o = act[row + 3 * h + j];
                double tc = tanhC[hOff + j];
                double dhj = dh[local + j];
                double dc = dhj * o * (1 - tc * tc) + dcNext[local + j];
                double cPrev = t == 0 ? cellAtStart(b * h + j) : cs[prevOff + j];
                double dzI = dc * g * i * (1 - i);
                double dzF = dc * cPrev * f * (1 - f);
                double dzG = dc * i * (1 - g * g);
                double dzO = dhj * tc * o * (1 - o);
                dzIh[zRow + j] = dzI;
                dzIh[zRow + h + j] = dzF;
                dzIh[zRow + 2 * h + j] = dzG;
                dzIh[zRow + 3 * h + j] = dzO;
                dcNext[local + j] = dc * f;
            }
        }
        System.arraycopy(dzIh, 0, dzHh, 0, batch * 4 * h);
    }
}
