package io.gradwatch.protocol;

import com.google.protobuf.ByteString;
import io.gradwatch.protocol.MalformedRecordException.Reason;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.ActivationSummary;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.GradientSummary;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/** Validation of {@link GradientSummary} records, and the reduction of one step's tensors into one. */
public final class GradientSummaries {
    /** Most units a summary may describe: the element limit of one tensor, as for TensorRecords. */
    public static final int MAX_UNITS = 1 << 24;

    private GradientSummaries() {
    }

    /** Checks every invariant the monitor relies on; throws naming the first one broken. */
    public static void validate(GradientSummary summary, TensorLimits limits) {
        if (summary.getRunId().isEmpty()) {
            throw new MalformedRecordException(Reason.MISSING_FIELD, "run_id is empty");
        }
        TensorRecords.checkRunId(summary.getRunId());
        TensorRecords.checkEnum("cell", summary.getCellValue(), summary.getCell() == CellType.UNRECOGNIZED);
        TensorRecords.checkEnum("activation", summary.getActivationValue(),
                summary.getActivation() == ActivationFunction.UNRECOGNIZED);
        if (summary.getStep() < 0 || summary.getLayer() < 0) {
            throw new MalformedRecordException(Reason.MISSING_FIELD,
                    "step " + summary.getStep() + " and layer " + summary.getLayer() + " must be >= 0");
        }
        int seqLen = summary.getSeqLen();
        if (seqLen < 1 || seqLen > limits.maxSeqLen()) {
            throw new MalformedRecordException(Reason.TIMESTEP_OUT_OF_RANGE,
                    "seq_len " + seqLen + " outside 1.." + limits.maxSeqLen());
        }
        requireLength("norm", summary.getNormCount(), seqLen);
        requireLength("max_abs", summary.getMaxAbsCount(), seqLen);
        requireLength("mean_abs", summary.getMeanAbsCount(), seqLen);
        requireLength("non_finite", summary.getNonFiniteCount(), seqLen);
        for (int t = 0; t < seqLen; t++) {
            checkTimestep(summary, t);
        }
        if (summary.getUnits() < 1 || summary.getUnits() > MAX_UNITS) {
            throw invalid("units " + summary.getUnits() + " outside 1.." + MAX_UNITS);
        }
        if (summary.hasActivations()) {
            checkActivations(summary.getActivations(), seqLen);
        }
    }

    private static void requireLength(String field, int count, int seqLen) {
        if (count != seqLen) {
            throw new MalformedRecordException(Reason.SUMMARY_LENGTH_MISMATCH,
                    field + " has " + count + " entries, seq_len is " + seqLen);
        }
    }

    /** A norm is NaN (nothing finite at t) or finite and >= 0, and then max-abs and mean-abs are too. */
    private static void checkTimestep(GradientSummary summary, int t) {
        double norm = summary.getNorm(t);
        double maxAbs = summary.getMaxAbs(t);
        double meanAbs = summary.getMeanAbs(t);
        boolean unknown = Double.isNaN(norm) && Double.isNaN(maxAbs) && Double.isNaN(meanAbs);
        boolean measured = norm >= 0 && maxAbs >= 0 && meanAbs >= 0 && Double.isFinite(norm)
                && Double.isFinite(maxAbs) && Double.isFinite(meanAbs);
        if (!unknown && !measured) {
            throw invalid("timestep " + t + ": norm " + norm + ", max_abs " + maxAbs + ", mean_abs " + meanAbs
                    + " (each finite and >= 0, or all three NaN)");
        }
        if (summary.getNonFinite(t) < 0) {
            throw invalid("timestep " + t + ": non_finite " + summary.getNonFinite(t) + " < 0");
        }
    }

    private static void checkActivations(ActivationSummary activations, int seqLen) {
        int units = activations.getUnits();
        if (units < 1 || units > MAX_UNITS) {
            throw invalid("activations.units " + units + " outside 1.." + MAX_UNITS);
        }
        int bytes = (units + 7) / 8;
        if (activations.getEverNonzero().size() != bytes) {
            throw new MalformedRecordException(Reason.SUMMARY_LENGTH_MISMATCH, "activations.ever_nonzero has "
                    + activations.getEverNonzero().size() + " bytes, " + units + " units need " + bytes);
        }
        int spare = bytes * 8 - units;
        if (spare > 0 && (activations.getEverNonzero().byteAt(bytes - 1) & 0xff) >>> (8 - spare) != 0) {
            throw invalid("activations.ever_nonzero sets a bit at or past units (" + units + ")");
        }
        long values = activations.getValues();
        // seq_len x batch x units for a recurrent layer; an MLP's depths may differ in width.
        if (values < seqLen) {
            throw invalid("activations.values " + values + " < seq_len " + seqLen + " (at least one per timestep)");
        }
        if (activations.getSaturated() < 0 || activations.getSaturated() > values) {
            throw invalid("activations.saturated " + activations.getSaturated() + " outside 0.." + values);
        }
        double margin = activations.getSaturationMargin();
        if (!(margin > 0 && margin < 0.5)) {
            throw invalid("activations.saturation_margin " + margin + " outside (0, 0.5)");
        }
    }

    private static MalformedRecordException invalid(String detail) {
        return new MalformedRecordException(Reason.INVALID_SUMMARY, detail);
    }

    /**
     * The summary of one step and layer from its TensorRecords (every kind, any order), reduced as
     * the monitor reduces them: what a producer that has TensorRecords at hand publishes instead.
     */
    public static GradientSummary of(List<TensorRecord> records, double saturationMargin) {
        TensorRecord first = records.get(0);
        Reducer reducer = new Reducer(first.getRunId(), first.getStep(), first.getLayer(), first.getSeqLen(),
                first.getCell(), first.getActivation(), saturationMargin);
        long eventTime = 0;
        int numLayers = 0;
        for (TensorRecord record : records) {
            TensorView view = TensorView.of(record);
            float[] values = TensorStats.scratch(view.size());
            view.copyTo(values, 0);
            reducer.add(record.getKind(), record.getTimestep(), values, 0, view.rows(), view.columns());
            eventTime = Math.max(eventTime, record.getEventTimeMs());
            numLayers = Math.max(numLayers, record.getNumLayers());
        }
        return reducer.build(eventTime, numLayers);
    }

    /**
     * Folds one step and layer's tensors, timestep by timestep, into a {@link GradientSummary}.
     * Not thread-safe; one per (run, step, layer). Every timestep's HIDDEN_GRAD must be added;
     * ACTIVATION tensors are optional, but when one is added all must be.
     */
    public static final class Reducer {
        private final GradientSummary.Builder summary;
        private final ActivationFunction activation;
        private final double margin;
        private final double[] norms;
        private final double[] maxAbs;
        private final double[] meanAbs;
        private final long[] nonFinite;
        private final BitSet gradients;
        private final BitSet everNonZero = new BitSet();
        private int units;
        private int activationUnits;
        private long saturated;
        private long activationValues;
        private int activationTimesteps;

        public Reducer(String runId, long step, int layer, int seqLen, CellType cell, ActivationFunction activation,
                       double saturationMargin) {
            this.summary = GradientSummary.newBuilder().setRunId(runId).setStep(step).setLayer(layer)
                    .setSeqLen(seqLen).setCell(cell).setActivation(activation);
            this.activation = activation;
            this.margin = saturationMargin;
            this.norms = new double[seqLen];
            this.maxAbs = new double[seqLen];
            this.meanAbs = new double[seqLen];
            Arrays.fill(norms, Double.NaN);
            Arrays.fill(maxAbs, Double.NaN);
            Arrays.fill(meanAbs, Double.NaN);
            this.nonFinite = new long[seqLen];
            this.gradients = new BitSet(seqLen);
        }

        /** Folds the tensor of {@code kind} at timestep {@code t}: {@code values[offset ..]} as [rows, columns]. */
        public void add(TensorKind kind, int t, float[] values, int offset, int rows,
                        int columns) {
            switch (kind) {
                case HIDDEN_GRAD -> hiddenGrad(t, values, offset, rows, columns);
                case ACTIVATION -> activation(t, values, offset, rows, columns);
                case PREACT_GRAD -> preactGrad(t, values, offset, rows * columns);
                default -> throw new IllegalArgumentException("no reduction for kind " + kind);
            }
        }

        public void hiddenGrad(int t, float[] values, int offset, int rows, int columns) {
            TensorStats stats = TensorStats.of(values, offset, rows * columns);
            if (stats.nonFinite() < stats.count()) {
                norms[t] = stats.norm();
                maxAbs[t] = stats.maxAbs();
                meanAbs[t] = stats.meanAbs();
            }
            nonFinite[t] += stats.nonFinite();
            gradients.set(t);
            units = Math.max(units, columns);
        }

        public void activation(int t, float[] values, int offset, int rows, int columns) {
            ActivationStats stats = ActivationStats.of(values, offset, rows, columns, activation, margin, everNonZero);
            saturated += stats.saturated();
            activationValues += stats.values();
            nonFinite[t] += stats.nonFinite();
            activationUnits = Math.max(activationUnits, columns);
            activationTimesteps++;
        }

        /** dL/dz_t counts for its non-finite values only; the signals are defined on dL/dh_t. */
        public void preactGrad(int t, float[] values, int offset, int length) {
            nonFinite[t] += TensorStats.of(values, offset, length).nonFinite();
        }

        public GradientSummary build(long eventTimeMs, int numLayers) {
            if (gradients.cardinality() != norms.length) {
                throw new IllegalStateException("HIDDEN_GRAD of " + gradients.cardinality() + " of " + norms.length
                        + " timesteps added");
            }
            GradientSummary.Builder built = summary.clone().setEventTimeMs(eventTimeMs).setNumLayers(numLayers)
                    .setUnits(units);
            for (int t = 0; t < norms.length; t++) {
                built.addNorm(norms[t]).addMaxAbs(maxAbs[t]).addMeanAbs(meanAbs[t]).addNonFinite(nonFinite[t]);
            }
            if (activationTimesteps > 0) {
                // BitSet.toByteArray is little-endian and trimmed; the wire has exactly ceil(units / 8) bytes.
                built.setActivations(ActivationSummary.newBuilder().setUnits(activationUnits)
                        .setEverNonzero(ByteString.copyFrom(
                                Arrays.copyOf(everNonZero.toByteArray(), (activationUnits + 7) / 8)))
                        .setSaturated(saturated).setValues(activationValues).setSaturationMargin(margin));
            }
            return built.build();
        }
    }
}
