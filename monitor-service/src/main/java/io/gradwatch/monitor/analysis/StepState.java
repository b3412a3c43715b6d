package io.gradwatch.monitor.analysis;

import com.google.protobuf.ByteString;
import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.state.v1.StepHeader;
import io.gradwatch.protocol.state.v1.TimestepEntry;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.GradientSummary;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.Arrays;
import java.util.BitSet;

/**
 * One (run, step, layer) as the analysis reads it: its {@link StepHeader} (counters of O(1) size)
 * and the per-timestep gradient statistics. The monitor keeps the two apart in its stores, so a
 * record rewrites the header and one timestep entry, and assembles a StepState once, when the
 * step is analysed. {@link #fold} is the one definition of how a timestep changes the header.
 */
public final class StepState {
    private final StepHeader.Builder header;
    private final double[] norms;
    private final double[] maxAbs;
    private final double[] meanAbs;
    private final BitSet gradients;
    private final BitSet activations;
    private final BitSet preacts;

    private StepState(StepHeader.Builder header) {
        int seqLen = header.getSeqLen();
        this.header = header;
        this.norms = new double[seqLen];
        this.maxAbs = new double[seqLen];
        this.meanAbs = new double[seqLen];
        Arrays.fill(norms, Double.NaN);
        Arrays.fill(maxAbs, Double.NaN);
        Arrays.fill(meanAbs, Double.NaN);
        this.gradients = new BitSet(seqLen);
        this.activations = new BitSet(seqLen);
        this.preacts = new BitSet(seqLen);
    }

    /** The header of a step whose first record is {@code first}, seen at {@code nowMs}. */
    public static StepHeader.Builder header(TensorRecord first, long nowMs) {
        return StepHeader.newBuilder().setSeqLen(first.getSeqLen()).setCell(first.getCell())
                .setActivation(first.getActivation()).setFirstSeenMs(nowMs);
    }

    /**
     * The whole step of a summary: its timesteps {@link #apply}'d as a tensor's would be, so the
     * analysis reads the same state either way.
     */
    public static StepState of(GradientSummary summary, long nowMs) {
        StepState state = new StepState(StepHeader.newBuilder().setSeqLen(summary.getSeqLen())
                .setCell(summary.getCell()).setActivation(summary.getActivation()).setFirstSeenMs(nowMs));
        for (TimestepStats stats : TimestepStats.of(summary)) {
            state.apply(stats, summary.getEventTimeMs());
        }
        return state;
    }

    public static StepState start(TensorRecord first, long nowMs) {
        return new StepState(header(first, nowMs));
    }

    /** A step as stored: its header, to which the gradient timesteps are then {@link #put}. */
    public static StepState of(StepHeader header) {
        return new StepState(header.toBuilder());
    }

    /**
     * Folds one timestep's statistics into a header (not the per-timestep values: those are the
     * timestep's own entry). The caller has checked that the timestep is new for its kind.
     */
    public static void fold(StepHeader.Builder header, TimestepStats stats, long eventTimeMs) {
        // if/else, not a pattern switch: Java 17.
        if (stats instanceof TimestepStats.Gradient g) {
            header.setNonFinite(header.getNonFinite() + g.nonFinite())
                    .setGradientTimesteps(header.getGradientTimesteps() + 1)
                    .setHidden(Math.max(header.getHidden(), g.hidden()));
        } else if (stats instanceof TimestepStats.Activation a) {
            BitSet alive = BitSet.valueOf(header.getAliveUnits().asReadOnlyByteBuffer());
            alive.or(a.aliveUnits());
            header.setAliveUnits(ByteString.copyFrom(alive.toByteArray()))
                    .setSaturated(header.getSaturated() + a.saturated())
                    .setActivationValues(header.getActivationValues() + a.values())
                    .setNonFinite(header.getNonFinite() + a.nonFinite())
                    .setActivationTimesteps(header.getActivationTimesteps() + 1)
                    .setHidden(Math.max(header.getHidden(), a.hidden()));
        } else if (stats instanceof TimestepStats.PreactGradient p) {
            header.setNonFinite(header.getNonFinite() + p.nonFinite())
                    .setPreactTimesteps(header.getPreactTimesteps() + 1);
        }
        header.setEventTimeMs(Math.max(header.getEventTimeMs(), eventTimeMs));
    }

    /** The stored entry of a gradient timestep; null for kinds whose values live in the header only. */
    public static TimestepEntry entry(TimestepStats stats) {
        if (stats instanceof TimestepStats.Gradient g) {
            return TimestepEntry.newBuilder().setNorm(g.norm()).setMaxAbs(g.maxAbs()).setMeanAbs(g.meanAbs()).build();
        }
        return TimestepEntry.getDefaultInstance();
    }

    /** Sets a gradient timestep's values from its stored entry (assembly; the header already counts it). */
    public void put(int t, TimestepEntry entry) {
        if (t < 0 || t >= norms.length) {
            return;
        }
        norms[t] = entry.getNorm();
        maxAbs[t] = entry.getMaxAbs();
        meanAbs[t] = entry.getMeanAbs();
        gradients.set(t);
    }

    /**
     * Folds one tensor in. Returns false, changing nothing, for a duplicate (same kind and
     * timestep already seen) or a record whose seq_len disagrees with the step's first record.
     */
    public boolean add(TensorRecord record, TensorView view, double saturationMargin) {
        if (record.getSeqLen() != seqLen()) {
            return false;
        }
        TimestepStats stats = TimestepStats.of(record, view, activation(), saturationMargin);
        return stats != null && apply(stats, record.getEventTimeMs());
    }

    /** Folds one timestep's statistics in; false, changing nothing, for a duplicate or a timestep out of range. */
    public boolean apply(TimestepStats stats, long eventTimeMs) {
        int t = stats.timestep();
        if (t < 0 || t >= seqLen()) {
            return false;
        }
        if (stats.kind() == TensorKind.HIDDEN_GRAD && gradients.get(t)
                || stats.kind() == TensorKind.ACTIVATION && activations.get(t)
                || stats.kind() == TensorKind.PREACT_GRAD && preacts.get(t)) {
            return false;
        }
        fold(header, stats, eventTimeMs);
        if (stats instanceof TimestepStats.Gradient) {
            put(t, entry(stats));
        } else if (stats.kind() == TensorKind.ACTIVATION) {
            activations.set(t);
        } else {
            preacts.set(t);
        }
        return true;
    }

    /** All HIDDEN_GRAD timesteps arrived, and all ACTIVATION and PREACT_GRAD timesteps too if any came. */
    public boolean isComplete() {
        return isComplete(header, false, false);
    }

    public boolean isComplete(boolean expectActivations) {
        return isComplete(header, expectActivations, false);
    }

    /**
     * All HIDDEN_GRAD timesteps arrived, and of ACTIVATION and PREACT_GRAD each all timesteps
     * too if any came or the publisher is known to send them: so the step's result does not
     * depend on whether a kind's records came before or after the last gradient.
     */
    public static boolean isComplete(StepHeader.Builder header, boolean expectActivations, boolean expectPreact) {
        int seqLen = header.getSeqLen();
        return header.getGradientTimesteps() == seqLen
                && done(header.getActivationTimesteps(), seqLen, expectActivations)
                && done(header.getPreactTimesteps(), seqLen, expectPreact);
    }

    private static boolean done(int arrived, int seqLen, boolean expected) {
        return arrived == seqLen || (arrived == 0 && !expected);
    }

    public StepHeader header() {
        return header.build();
    }

    public int seqLen() {
        return header.getSeqLen();
    }

    public int gradientTimesteps() {
        return header.getGradientTimesteps();
    }

    public CellType cell() {
        return header.getCell() == CellType.UNRECOGNIZED ? CellType.CELL_UNSPECIFIED : header.getCell();
    }

    public ActivationFunction activation() {
        return header.getActivation() == ActivationFunction.UNRECOGNIZED ? ActivationFunction.ACTIVATION_UNSPECIFIED
                : header.getActivation();
    }

    public long firstSeenMs() {
        return header.getFirstSeenMs();
    }

    public long eventTimeMs() {
        return header.getEventTimeMs();
    }

    public long nonFinite() {
        return header.getNonFinite();
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
        if (header.getActivationTimesteps() == 0 || header.getHidden() == 0) {
            return Double.NaN;
        }
        int alive = BitSet.valueOf(header.getAliveUnits().asReadOnlyByteBuffer()).cardinality();
        return 1.0 - alive / (double) header.getHidden();
    }

    /** Share of activation values within the margin of their bounds; NaN when none arrived. */
    public double saturationFraction() {
        long values = header.getActivationValues();
        return values == 0 ? Double.NaN : header.getSaturated() / (double) values;
    }
}
