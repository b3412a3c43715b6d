package io.gradwatch.trainer.nn;

import java.util.Arrays;

/**
 * LSTM, as torch.nn.LSTM, gates in PyTorch's order i, f, g, o:
 * i = sigma(.), f = sigma(.), g = tanh(.), o = sigma(.) of x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh;
 * c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t).
 */
public final class LstmLayer extends RecurrentLayer {
    /** Gate activations i, f, g, o per row: [T][B][4H] (the same array as inputGates). */
    private double[] act = new double[0];
    /** c_t and tanh(c_t): [T][B][H]. */
    private double[] cs = new double[0];
    private double[] tanhC = new double[0];
    /** dL/dc carried from t+1 to t. */
    private double[] dcNext = new double[0];
    /** c_{-1} for the current batch size: zeros unless an initial state was given. */
    private double[] c0 = new double[0];
    /** c_{-1}: zeros unless an initial state was given. */
    private double[] initialCell;

    public LstmLayer(int index, int inputSize, int hidden) {
        super(index, inputSize, hidden, 4);
    }

    @Override
    protected void resizeCell(int seqLen, int batch) {
        // The gate pre-activations are computed in place: inputGates (x W_ih^T + b_ih + b_hh) gets
        // h_{t-1} W_hh^T added and is then overwritten by the activations.
        act = inputGates;
        cs = new double[seqLen * batch * hidden];
        tanhC = new double[seqLen * batch * hidden];
        dcNext = new double[batch * hidden];
        c0 = new double[batch * hidden];
    }

    @Override
    protected void stepForward(int t) {
        int h = hidden;
        int gOff = t * batch * 4 * h;
        if (t == 0) {
            Arrays.fill(c0, 0.0);
            if (initialCell != null) {
                System.arraycopy(initialCell, 0, c0, 0, batch * h);
            }
        }
        recurrentProduct(t, act, gOff, true);
        double[] cPrev = t == 0 ? c0 : cs;
        int cPrevBase = t == 0 ? 0 : (t - 1) * batch * h;
        for (int b = 0; b < batch; b++) {
            int row = gOff + b * 4 * h;
            int hOff = (t * batch + b) * h;
            int prevOff = cPrevBase + b * h;
            Kernels.sigmoidInPlace(act, row, 2 * h); // i, f
            Kernels.tanh(act, row + 2 * h, act, row + 2 * h, h); // g
            Kernels.sigmoidInPlace(act, row + 3 * h, h); // o
            for (int j = 0; j < h; j++) {
                cs[hOff + j] = act[row + h + j] * cPrev[prevOff + j] + act[row + j] * act[row + 2 * h + j];
            }
            Kernels.tanh(cs, hOff, tanhC, hOff, h);
            for (int j = 0; j < h; j++) {
                hs[hOff + j] = act[row + 3 * h + j] * tanhC[hOff + j];
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

    @Override
    protected boolean foldsRecurrentBias() {
        return true;
    }

    @Override
    protected void clearCellCarry() {
        Arrays.fill(dcNext, 0.0);
    }

    @Override
    protected void stepBackward(int t) {
        int h = hidden;
        double[] cPrev = t == 0 ? c0 : cs;
        int cPrevBase = t == 0 ? 0 : (t - 1) * batch * h;
        for (int b = 0; b < batch; b++) {
            int row = (t * batch + b) * 4 * h;
            int hOff = (t * batch + b) * h;
            int prevOff = cPrevBase + b * h;
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
                dzIh[zRow + j] = dc * g * i * (1 - i);
                dzIh[zRow + h + j] = dc * cPrev[prevOff + j] * f * (1 - f);
                dzIh[zRow + 2 * h + j] = dc * i * (1 - g * g);
                dzIh[zRow + 3 * h + j] = dhj * tc * o * (1 - o);
                dcNext[local + j] = dc * f;
            }
        }
        System.arraycopy(dzIh, 0, dzHh, 0, batch * 4 * h);
    }
}
