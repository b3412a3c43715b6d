package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.ActivationStats;
import io.gradwatch.protocol.TensorStats;
import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.ActivationSummary;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.GradientSummary;
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
     * The whole step from its summary (validated by the serde): the same state its TensorRecords
     * would have left, because the producer reduced them with the same {@link TensorStats} and
     * {@link ActivationStats}.
     */
    public static StepState of(GradientSummary summary, long nowMs) {
        int seqLen = summary.getSeqLen();
        StepState state = new StepState(seqLen, summary.getCell(), summary.getActivation(), nowMs);
        for (int t = 0; t < seqLen; t++) {
            state.norms[t] = summary.getNorm(t);
            state.maxAbs[t] = summary.getMaxAbs(t);
            state.meanAbs[t] = summary.getMeanAbs(t);
            state.nonFinite += summary.getNonFinite(t);
        }
        state.gradients.set(0, seqLen);
        state.hidden = summary.getUnits();
        if (summary.hasActivations()) {
            ActivationSummary activations = summary.getActivations();
            state.activations.set(0, seqLen);
            state.aliveUnits = BitSet.valueOf(activations.getEverNonzero().toByteArray());
            state.saturated = activations.getSaturated();
            state.activationValues = activations.getValues();
            state.hidden = Math.max(state.hidden, activations.getUnits());
        }
        state.eventTimeMs = summary.getEventTimeMs();
        return state;
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
        ActivationStats stats = ActivationStats.of(view, activation, margin, aliveUnits);
        saturated += stats.saturated();
        nonFinite += stats.nonFinite();
        activationValues += stats.values();
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
