package io.gradwatch.monitor.topology;

import io.gradwatch.monitor.analysis.StepState;
import io.gradwatch.monitor.analysis.TimestepStats;
import io.gradwatch.protocol.state.v1.StepHeader;
import io.gradwatch.protocol.state.v1.TimestepEntry;
import io.gradwatch.protocol.v1.TensorKind;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The open steps of a task, in two stores: a small {@link StepHeader} per (run, step, layer) and
 * one {@link TimestepEntry} per arrived (kind, timestep). A timestep costs a constant amount of
 * work whatever the seq_len: one point lookup for duplicates, one entry and one header written.
 * Only the step's last timestep reads all T entries back, once, to analyse the step.
 *
 * <p>{@link #addTimestep} is the entry point for anything that carries one timestep's statistics
 * (a tensor record, a source-side summary): the caller validates first, because the call writes.
 */
public final class StepAccumulator {
    private static final StringSerializer KEYS = new StringSerializer();
    private final KeyValueStore<String, StepHeader> headers;
    private final KeyValueStore<String, TimestepEntry> timesteps;

    /** What {@link #addTimestep} did. */
    public enum Outcome {
        /** Same kind and timestep already arrived: nothing changed. */
        DUPLICATE,
        /** Stored; the step waits for more. */
        OPEN,
        /** The step's last timestep: it is no longer stored, {@link #completed()} holds it. */
        COMPLETE
    }

    private StepState completed;

    public StepAccumulator(KeyValueStore<String, StepHeader> headers, KeyValueStore<String, TimestepEntry> timesteps) {
        this.headers = headers;
        this.timesteps = timesteps;
    }

    /** The stored header of an open step, or null. A version 0 header's inline timesteps move to their own entries here. */
    public StepHeader header(String stepKey) {
        StepHeader header = headers.get(stepKey);
        if (header != null && (!header.getInlineGradientSet().isEmpty() || !header.getInlineActivationSet().isEmpty()
                || header.getInlineGradientsCount() > 0)) {
            header = migrate(stepKey, header);
        }
        return header;
    }

    /**
     * One timestep's statistics arrive for the step {@code stepKey} whose header is {@code header}
     * (from {@link #header}, or {@link StepState#header} for a step's first record; updated in
     * place). Its seq_len must already be checked against the header's.
     *
     * @param expectActivations the layer's publisher sends ACTIVATION tensors, so the step waits for them
     */
    public Outcome addTimestep(String stepKey, StepHeader.Builder header, TimestepStats stats, long eventTimeMs,
                               boolean expectActivations) {
        return addTimestep(stepKey, header, stats, eventTimeMs, expectActivations, false);
    }

    /** As above; {@code expectPreact}: the layer's publisher sends PREACT_GRAD tensors, so the step waits for them. */
    public Outcome addTimestep(String stepKey, StepHeader.Builder header, TimestepStats stats, long eventTimeMs,
                               boolean expectActivations, boolean expectPreact) {
        int t = stats.timestep();
        String entryKey = entryKey(stepKey, stats.kind(), t);
        if (timesteps.get(entryKey) != null) {
            return Outcome.DUPLICATE;
        }
        StepState.fold(header, stats, eventTimeMs);
        boolean complete = StepState.isComplete(header, expectActivations || stats.kind() == TensorKind.ACTIVATION,
                expectPreact || stats.kind() == TensorKind.PREACT_GRAD);
        if (!complete) {
            timesteps.put(entryKey, StepState.entry(stats));
            headers.put(stepKey, header.build());
            return Outcome.OPEN;
        }
        StepHeader done = header.build();
        StepState state = assemble(stepKey, done);
        if (stats instanceof TimestepStats.Gradient) {
            state.put(t, StepState.entry(stats));
        }
        discard(stepKey, done);
        completed = state;
        return Outcome.COMPLETE;
    }

    /** The step the last {@link Outcome#COMPLETE} finished. */
    public StepState completed() {
        return completed;
    }

    /** Every open step's key and header (the punctuator's scan: headers only, no timesteps). */
    public List<KeyValue<String, StepHeader>> openSteps() {
        List<KeyValue<String, StepHeader>> open = new ArrayList<>();
        try (KeyValueIterator<String, StepHeader> iterator = headers.all()) {
            iterator.forEachRemaining(open::add);
        }
        return open;
    }

    /** Removes an open step and returns it whole, for analysis as it stands (its grace ran out). */
    public StepState close(String stepKey) {
        StepHeader header = header(stepKey);
        if (header == null) {
            return null;
        }
        StepState state = assemble(stepKey, header);
        discard(stepKey, header);
        return state;
    }

    /** The step as the analysis reads it: the header and the gradient entries stored for it. */
    private StepState assemble(String stepKey, StepHeader header) {
        StepState state = StepState.of(header);
        String prefix = entryPrefix(stepKey, TensorKind.HIDDEN_GRAD);
        try (KeyValueIterator<String, TimestepEntry> iterator = timesteps.prefixScan(prefix, KEYS)) {
            while (iterator.hasNext()) {
                KeyValue<String, TimestepEntry> entry = iterator.next();
                state.put(Integer.parseInt(entry.key.substring(prefix.length())), entry.value);
            }
        }
        return state;
    }

    private void discard(String stepKey, StepHeader header) {
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, TimestepEntry> iterator = timesteps.prefixScan(stepKey + StoreKeys.SEPARATOR,
                KEYS)) {
            iterator.forEachRemaining(entry -> keys.add(entry.key));
        }
        keys.forEach(timesteps::delete);
        headers.delete(stepKey);
    }

    private StepHeader migrate(String stepKey, StepHeader header) {
        BitSet gradients = BitSet.valueOf(header.getInlineGradientSet().asReadOnlyByteBuffer());
        BitSet activations = BitSet.valueOf(header.getInlineActivationSet().asReadOnlyByteBuffer());
        for (int t = gradients.nextSetBit(0); t >= 0 && t < header.getInlineGradientsCount();
             t = gradients.nextSetBit(t + 1)) {
            timesteps.put(entryKey(stepKey, TensorKind.HIDDEN_GRAD, t), header.getInlineGradients(t));
        }
        for (int t = activations.nextSetBit(0); t >= 0; t = activations.nextSetBit(t + 1)) {
            timesteps.put(entryKey(stepKey, TensorKind.ACTIVATION, t), TimestepEntry.getDefaultInstance());
        }
        StepHeader migrated = header.toBuilder().clearInlineGradients().clearInlineGradientSet()
                .clearInlineActivationSet().build();
        headers.put(stepKey, migrated);
        return migrated;
    }

    static String entryKey(String stepKey, TensorKind kind, int t) {
        return entryPrefix(stepKey, kind) + t;
    }

    private static String entryPrefix(String stepKey, TensorKind kind) {
        char tag = switch (kind) {
            case HIDDEN_GRAD -> 'G';
            case ACTIVATION -> 'A';
            default -> 'P';
        };
        return stepKey + StoreKeys.SEPARATOR + tag + StoreKeys.SEPARATOR;
    }
}
