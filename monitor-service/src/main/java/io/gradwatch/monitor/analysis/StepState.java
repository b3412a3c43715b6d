package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.TensorRecord;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;

/**
 * What has arrived of one (run, step, layer): per-timestep gradient statistics, which timesteps
 * came, and for activations which units were ever non-zero and how many values sat at a bound.
 * Compact and serialisable, so it can live in a changelogged state store.
 */
public final class StepState {
    private final int seqLen;
    private final CellType cell;
    private final ActivationFunction activation;
    private final long firstSeenMs;
    private int hidden;
    private final double[] norms;
    private final double[] maxAbs;
    private final double[] meanAbs;
    private final BitSet gradients;
    private final BitSet activations;
    private BitSet aliveUnits;
    private long saturated;
    private long activationValues;
    private long nonFinite;
    private long eventTimeMs;

    private StepState(int seqLen, CellType cell, ActivationFunction activation, long firstSeenMs) {
        this.seqLen = seqLen;
        this.cell = cell;
        this.activation = activation;
        this.firstSeenMs = firstSeenMs;
        this.norms = new double[seqLen];
        this.maxAbs = new double[seqLen];
        this.meanAbs = new double[seqLen];
        Arrays.fill(norms, Double.NaN);
        Arrays.fill(maxAbs, Double.NaN);
        Arrays.fill(meanAbs, Double.NaN);
        this.gradients = new BitSet(seqLen);
        this.activations = new BitSet(seqLen);
        this.aliveUnits = new BitSet();
    }

    public static StepState start(TensorRecord first, long nowMs) {
        return new StepState(first.getSeqLen(), first.getCell(), first.getActivation(), nowMs);
    }

    /**
     * Folds one tensor in. Returns false, changing nothing, for a duplicate (same kind and
     * timestep already seen) or a record whose seq_len disagrees with the step's first record.
     */
    public boolean add(TensorRecord record, TensorView view, double saturationMargin) {
        if (record.getSeqLen() != seqLen) {
            return false;
        }
        int t = record.getTimestep();
        switch (record.getKind()) {
            case HIDDEN_GRAD -> {
                if (gradients.get(t)) {
                    return false;
                }
                TensorStats stats = TensorStats.of(view);
                if (stats.nonFinite() < stats.count()) {
                    norms[t] = stats.norm();
                    maxAbs[t] = stats.maxAbs();
                    meanAbs[t] = stats.meanAbs();
                }
                // else: nothing finite to measure; the norms stay NaN (unknown), not 0, which would read
                // as a vanished gradient. The NaN/Inf values themselves raise NON_FINITE.
                nonFinite += stats.nonFinite();
                gradients.set(t);
                hidden = Math.max(hidden, view.columns());
            }
            case ACTIVATION -> {
                if (activations.get(t)) {
                    return false;
                }
                foldActivations(view, saturationMargin);
                activations.set(t);
                hidden = Math.max(hidden, view.columns());
            }
            case PREACT_GRAD -> {
                // Counted for non-finite values only; the signals are defined on dL/dh_t.
                nonFinite += TensorStats.of(view).nonFinite();
            }
            default -> {
                return false;
            }
        }
        eventTimeMs = Math.max(eventTimeMs, record.getEventTimeMs());
        return true;
    }

    private void foldActivations(TensorView view, double margin) {
        int columns = view.columns();
        int rows = view.rows();
        // tanh saturates at -1 and 1, sigmoid at 0 and 1: "within margin of a bound".
        double low = activation == ActivationFunction.SIGMOID ? margin : -1 + margin;
        double high = 1 - margin;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < columns; c++) {
                float value = view.get(r * columns + c);
                if (value != 0f) {
                    aliveUnits.set(c);
                }
                if (value <= low || value >= high) {
                    saturated++;
                }
                if (!Float.isFinite(value)) {
                    nonFinite++;
                }
            }
        }
        activationValues += (long) rows * columns;
    }

    /** All HIDDEN_GRAD timesteps arrived, and all ACTIVATION timesteps too if any came. */
    public boolean isComplete() {
        return isComplete(false);
    }

    /**
     * All HIDDEN_GRAD timesteps arrived, and all ACTIVATION timesteps too if any came or the
     * publisher is known to send them.
     */
    public boolean isComplete(boolean expectActivations) {
        boolean activationsDone = activations.cardinality() == seqLen
                || (activations.isEmpty() && !expectActivations);
        return gradients.cardinality() == seqLen && activationsDone;
    }

    public int seqLen() {
        return seqLen;
    }

    public int gradientTimesteps() {
        return gradients.cardinality();
    }

    public CellType cell() {
        return cell;
    }

    public ActivationFunction activation() {
        return activation;
    }

    public long firstSeenMs() {
        return firstSeenMs;
    }

    public long eventTimeMs() {
        return eventTimeMs;
    }

    public long nonFinite() {
        return nonFinite;
    }

    public double[] norms() {
        return norms;
    }

    public double[] maxAbs() {
        return maxAbs;
    }

    public double[] meanAbs() {
        return meanAbs;
    }

    /** Share of units zero for every sample and timestep; NaN when no activations arrived. */
    public double deadFraction() {
        if (activations.isEmpty() || hidden == 0) {
            return Double.NaN;
        }
        return 1.0 - aliveUnits.cardinality() / (double) hidden;
    }

    /** Share of activation values within the margin of their bounds; NaN when none arrived. */
    public double saturationFraction() {
        return activationValues == 0 ? Double.NaN : saturated / (double) activationValues;
    }

    public byte[] toBytes() {
        byte[] alive = aliveUnits.toByteArray();
        byte[] grads = gradients.toByteArray();
        byte[] acts = activations.toByteArray();
        ByteBuffer buffer = ByteBuffer.allocate(4 * 7 + 8 * 5 + seqLen * 24 + alive.length + grads.length + acts.length);
        buffer.putInt(seqLen).putInt(cell.getNumber()).putInt(activation.getNumber()).putInt(hidden)
                .putLong(firstSeenMs).putLong(saturated).putLong(activationValues).putLong(nonFinite)
                .putLong(eventTimeMs);
        for (int t = 0; t < seqLen; t++) {
            buffer.putDouble(norms[t]).putDouble(maxAbs[t]).putDouble(meanAbs[t]);
        }
        buffer.putInt(grads.length).put(grads).putInt(acts.length).put(acts).putInt(alive.length).put(alive);
        return buffer.array();
    }

    public static StepState fromBytes(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        int seqLen = buffer.getInt();
        CellType cell = CellType.forNumber(buffer.getInt());
        ActivationFunction activation = ActivationFunction.forNumber(buffer.getInt());
        int hidden = buffer.getInt();
        StepState state = new StepState(seqLen, cell == null ? CellType.CELL_UNSPECIFIED : cell,
                activation == null ? ActivationFunction.ACTIVATION_UNSPECIFIED : activation, buffer.getLong());
        state.hidden = hidden;
        state.saturated = buffer.getLong();
        state.activationValues = buffer.getLong();
        state.nonFinite = buffer.getLong();
        state.eventTimeMs = buffer.getLong();
        for (int t = 0; t < seqLen; t++) {
            state.norms[t] = buffer.getDouble();
            state.maxAbs[t] = buffer.getDouble();
            state.meanAbs[t] = buffer.getDouble();
        }
        state.gradients.or(BitSet.valueOf(slice(buffer)));
        state.activations.or(BitSet.valueOf(slice(buffer)));
        state.aliveUnits = BitSet.valueOf(slice(buffer));
        return state;
    }

    private static byte[] slice(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.getInt()];
        buffer.get(bytes);
        return bytes;
    }
}
