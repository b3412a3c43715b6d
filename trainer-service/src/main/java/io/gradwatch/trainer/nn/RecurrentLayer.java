package io.gradwatch.trainer.nn;

import java.util.Arrays;
import java.util.List;

/**
 * One recurrent layer with PyTorch's parameter layout: {@code weight_ih_l{k}} [G*H, in],
 * {@code weight_hh_l{k}} [G*H, H], {@code bias_ih_l{k}} and {@code bias_hh_l{k}} [G*H], with G
 * gates stacked in PyTorch's order. The initial hidden state is zero unless
 * {@link #setInitialHidden} gives one.
 *
 * <p>Buffers are sized on the first step for (T, batch) and reused: a step allocates nothing
 * after the first one at a given size. {@code forward} keeps what {@code backward} needs.
 */
public abstract sealed class RecurrentLayer permits RnnLayer, LstmLayer, GruLayer {
    protected final int index;
    protected final int inputSize;
    protected final int hidden;
    protected final int gates;
    protected final Parameter weightIh;
    protected final Parameter weightHh;
    protected final Parameter biasIh;
    protected final Parameter biasHh;

    protected int seqLen;
    protected int batch;
    /** The input of the last forward, [T][B][in]; owned by the caller. */
    protected double[] x;
    /** h_t, [T][B][H]. */
    protected double[] hs = new double[0];
    /** x_t W_ih^T + b_ih for all t, [T][B][G*H]. */
    protected double[] inputGates = new double[0];
    /** dL/dh_t accumulated over all truncated passes, [T][B][H]. */
    protected double[] hiddenGrads = new double[0];
    /** dL/dz_t of the input-side gate pre-activations, [T][B][G*H]. */
    protected double[] preactGrads = new double[0];
    /** Per-timestep scratch: dL/dh_t, dL/dz (input side and recurrent side), carried dL/dh_{t-1}. */
    protected double[] dh = new double[0];
    protected double[] dzIh = new double[0];
    protected double[] dzHh = new double[0];
    protected double[] dhNext = new double[0];
    /** h_{-1}: zeros unless an initial state was given. */
    protected double[] h0 = new double[0];
    /** W_ih^T [in][G*H] and W_hh^T [H][G*H], packed at each forward so the products' inner loops are contiguous. */
    private final double[] weightIhT;
    private final double[] weightHhT;
    /** Per-gate scratch: the input-side bias row (b_ih, or b_ih + b_hh when folded), a bias-gradient sum. */
    private final double[] biasRow;
    private final double[] biasGradSum;
    /**
     * dL/dz_t of the current truncated pass for every t in it, [T][B][G*H] (input side;
     * {@code dzHhAll} the recurrent side, the same array unless the cell's differ). The weight
     * gradients of a pass are then one GEMM each over all its timesteps.
     */
    private double[] dzIhAll = new double[0];
    private double[] dzHhAll = new double[0];
    private double[] initialHidden;

    protected RecurrentLayer(int index, int inputSize, int hidden, int gates) {
        this.index = index;
        this.inputSize = inputSize;
        this.hidden = hidden;
        this.gates = gates;
        this.weightIh = Parameter.zeros("weight_ih_l" + index, gates * hidden, inputSize);
        this.weightHh = Parameter.zeros("weight_hh_l" + index, gates * hidden, hidden);
        this.biasIh = Parameter.zeros("bias_ih_l" + index, gates * hidden);
        this.biasHh = Parameter.zeros("bias_hh_l" + index, gates * hidden);
        this.weightIhT = new double[gates * hidden * inputSize];
        this.weightHhT = new double[gates * hidden * hidden];
        this.biasRow = new double[gates * hidden];
        this.biasGradSum = new double[gates * hidden];
    }

    public List<Parameter> parameters() {
        return List.of(weightIh, weightHh, biasIh, biasHh);
    }

    public int hidden() {
        return hidden;
    }

    public int inputSize() {
        return inputSize;
    }

    /** The layer's outputs h_t of the last forward, [T][B][H]. */
    public double[] output() {
        return hs;
    }

    /** Runs the layer over {@code input} [T][B][in]. */
    public final void forward(double[] input, int seqLen, int batch) {
        if (input.length < seqLen * batch * inputSize) {
            throw new IllegalArgumentException("layer " + index + " needs " + seqLen * batch * inputSize
                    + " inputs, got " + input.length);
        }
        resize(seqLen, batch);
        this.x = input;
        Arrays.fill(h0, 0.0);
        if (initialHidden != null) {
            System.arraycopy(initialHidden, 0, h0, 0, batch * hidden);
        }
        int gh = gates * hidden;
        Kernels.transpose(weightIh.value(), gh, inputSize, weightIhT);
        Kernels.transpose(weightHh.value(), gh, hidden, weightHhT);
        // Every row of inputGates starts as the bias and the GEMM accumulates x W_ih^T onto it.
        System.arraycopy(biasIh.value(), 0, biasRow, 0, gh);
        if (foldsRecurrentBias()) {
            double[] bhh = biasHh.value();
            for (int j = 0; j < gh; j++) {
                biasRow[j] += bhh[j];
            }
        }
        for (int r = 0; r < seqLen * batch; r++) {
            System.arraycopy(biasRow, 0, inputGates, r * gh, gh);
        }
        Kernels.gemmAccumulate(input, 0, inputSize, weightIhT, 0, gh, inputGates, 0, gh, seqLen * batch, gh,
                inputSize);
        for (int t = 0; t < seqLen; t++) {
            stepForward(t);
        }
    }

    /** Clears the accumulated per-timestep gradients before the truncated passes of a step. */
    public final void beginBackward() {
        Arrays.fill(hiddenGrads, 0, seqLen * batch * hidden, 0.0);
        Arrays.fill(preactGrads, 0, seqLen * batch * gates * hidden, 0.0);
    }

    /**
     * Backpropagates through timesteps {@code hi} down to {@code lo}: {@code dhAbove} holds the
     * gradient reaching h_t from outside the recurrence (head or layer above) for t in [lo, hi];
     * the recurrent gradient is not carried below {@code lo} (truncation). Adds parameter
     * gradients, adds to the per-timestep traces, and writes dL/dx_t for t in [lo, hi] into
     * {@code dInput} unless it is null.
     */
    public final void backwardWindow(double[] dhAbove, int lo, int hi, double[] dInput) {
        int bh = batch * hidden;
        int gh = gates * hidden;
        Arrays.fill(dhNext, 0, bh, 0.0);
        clearCellCarry();
        for (int t = hi; t >= lo; t--) {
            int off = t * bh;
            for (int i = 0; i < bh; i++) {
                dh[i] = dhAbove[off + i] + dhNext[i];
                hiddenGrads[off + i] += dh[i];
            }
            stepBackward(t);
            int zOff = t * batch * gh;
            for (int i = 0; i < batch * gh; i++) {
                preactGrads[zOff + i] += dzIh[i];
            }
            System.arraycopy(dzIh, 0, dzIhAll, zOff, batch * gh);
            if (dzHhAll != dzIhAll) {
                System.arraycopy(dzHh, 0, dzHhAll, zOff, batch * gh);
            }
            if (dInput != null) {
                Kernels.gemm(dzIh, 0, weightIh.value(), 0, dInput, t * batch * inputSize, batch, inputSize, gh, false);
            }
            if (t > lo) {
                Kernels.gemm(dzHh, 0, weightHh.value(), 0, dhNext, 0, batch, hidden, gh, false);
                addDirectRecurrentGradient(t);
            }
        }
        // Weight and bias gradients of the whole pass at once: dW_ih += dZ^T X, dW_hh += dZ^T H_prev,
        // where H_prev's rows are h_{t-1}: h_{-1} (the initial state) for t = 0, then hs.
        int len = hi - lo + 1;
        int zLo = lo * batch * gh;
        Kernels.gemmTransAAccumulate(dzIhAll, zLo, gh, x, lo * batch * inputSize, inputSize, weightIh.grad(), 0,
                inputSize, gh, inputSize, len * batch);
        if (lo == 0) {
            Kernels.gemmTransAAccumulate(dzHhAll, 0, gh, h0, 0, hidden, weightHh.grad(), 0, hidden, gh, hidden,
                    batch);
            Kernels.gemmTransAAccumulate(dzHhAll, batch * gh, gh, hs, 0, hidden, weightHh.grad(), 0, hidden, gh,
                    hidden, hi * batch);
        } else {
            Kernels.gemmTransAAccumulate(dzHhAll, zLo, gh, hs, (lo - 1) * bh, hidden, weightHh.grad(), 0, hidden, gh,
                    hidden, len * batch);
        }
        if (dzHhAll == dzIhAll) {
            // One dz for both sides: db_ih and db_hh get the same sum.
            Arrays.fill(biasGradSum, 0.0);
            Kernels.sumRowsInto(dzIhAll, zLo, biasGradSum, len * batch, gh);
            double[] gIh = biasIh.grad();
            double[] gHh = biasHh.grad();
            for (int j = 0; j < gh; j++) {
                gIh[j] += biasGradSum[j];
                gHh[j] += biasGradSum[j];
            }
        } else {
            Kernels.sumRowsInto(dzIhAll, zLo, biasIh.grad(), len * batch, gh);
            Kernels.sumRowsInto(dzHhAll, zLo, biasHh.grad(), len * batch, gh);
        }
    }

    /** out[t] (+)= h_{t-1} W_hh^T for the batch, [B][G*H] at {@code outOff}. */
    protected final void recurrentProduct(int t, double[] out, int outOff, boolean accumulate) {
        int gh = gates * hidden;
        if (!accumulate) {
            Arrays.fill(out, outOff, outOff + batch * gh, 0.0);
        }
        Kernels.gemmAccumulate(previousHidden(t), previousHiddenOffset(t), hidden, weightHhT, 0, gh, out, outOff,
                gh, batch, gh, hidden);
    }

    /**
     * Whether b_hh is added with b_ih to the input-side pre-activations up front (RNN, LSTM: it
     * only ever appears in their sum), instead of by the cell at each step (GRU's n gate).
     */
    protected boolean foldsRecurrentBias() {
        return false;
    }

    /** Whether the recurrent-side dz differs from the input-side one (GRU's n gate); otherwise one buffer serves. */
    protected boolean separateRecurrentGrad() {
        return false;
    }

    public LayerTrace trace(Activation activation) {
        return new LayerTrace(index, seqLen, batch, hidden, activation, hs, hiddenGrads, preactGrads, gates * hidden);
    }

    /**
     * Starts the next forward passes from h_{-1} = {@code initialHidden} [B][H] instead of zeros
     * (null for zeros). Gradients do not flow into it: it is a constant, as a detached state.
     */
    public void setInitialHidden(double[] initialHidden) {
        this.initialHidden = initialHidden == null ? null : initialHidden.clone();
    }

    /** h_{t-1}: the initial state at t = 0. */
    protected final double[] previousHidden(int t) {
        return t == 0 ? h0 : hs;
    }

    protected final int previousHiddenOffset(int t) {
        return t == 0 ? 0 : (t - 1) * batch * hidden;
    }

    /** Computes h_t (and the cell's own state) from inputGates[t] and h_{t-1}. */
    protected abstract void stepForward(int t);

    /** From dh (dL/dh_t, total), fills dzIh and dzHh for timestep t. */
    protected abstract void stepBackward(int t);

    /** Resets a carried cell-state gradient (LSTM) at the start of a truncated pass. */
    protected void clearCellCarry() {
    }

    /** Adds gradient that reaches h_{t-1} other than through W_hh (GRU's z * h_{t-1}) to dhNext. */
    protected void addDirectRecurrentGradient(int t) {
    }

    /** Sizes the cell's own buffers for (T, B). */
    protected abstract void resizeCell(int seqLen, int batch);

    private void resize(int newSeqLen, int newBatch) {
        if (newSeqLen == seqLen && newBatch == batch) {
            return;
        }
        seqLen = newSeqLen;
        batch = newBatch;
        int th = newSeqLen * newBatch * hidden;
        int tg = newSeqLen * newBatch * gates * hidden;
        hs = new double[th];
        hiddenGrads = new double[th];
        inputGates = new double[tg];
        preactGrads = new double[tg];
        h0 = new double[newBatch * hidden];
        dh = new double[newBatch * hidden];
        dhNext = new double[newBatch * hidden];
        dzIh = new double[newBatch * gates * hidden];
        dzHh = new double[newBatch * gates * hidden];
        dzIhAll = new double[tg];
        dzHhAll = separateRecurrentGrad() ? new double[tg] : dzIhAll;
        resizeCell(newSeqLen, newBatch);
    }
}
