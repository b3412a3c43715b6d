package io.gradwatch.protocol;

import org.apache.kafka.common.errors.SerializationException;

/**
 * A record whose bytes cannot be turned into a valid gradwatch record. The {@link Reason} names
 * what is wrong, so a dead-letter queue can say it in a header and a publisher can fix it.
 */
public final class MalformedRecordException extends SerializationException {

    /** What is wrong with a record. */
    public enum Reason {
        /** The bytes end in the middle of a field. */
        TRUNCATED,
        /** The bytes are not a protobuf message of the expected type. */
        INVALID_WIRE_FORMAT,
        /** The dtype is missing (DTYPE_UNSPECIFIED); a number outside the enum is {@link #UNKNOWN_ENUM}. */
        UNKNOWN_DTYPE,
        /** product(shape) x element size differs from the length of data. */
        SHAPE_DATA_MISMATCH,
        /** A shape dimension is zero or negative, the shape is empty, or it has more than {@link TensorRecords#MAX_DIMENSIONS} dimensions. */
        INVALID_SHAPE,
        /** The tensor claims more elements than the configured limit. */
        TOO_LARGE,
        /** timestep outside 0 .. seq_len-1, or seq_len outside 1 .. the configured limit. */
        TIMESTEP_OUT_OF_RANGE,
        /** A required field (run id, kind, the value itself) is missing, or step or layer is negative. */
        MISSING_FIELD,
        /** The run id has a control character (such as NUL) or is longer than {@link TensorRecords#MAX_RUN_ID_LENGTH}. */
        INVALID_RUN_ID,
        /** The record's key is not its run id (null, not valid UTF-8, or another run's). */
        KEY_MISMATCH,
        /** The record's seq_len differs from that of the records already seen for the same step and layer. */
        SEQ_LEN_CONFLICT,
        /** An enum field (kind, dtype, cell, activation) holds a number that is not in its enum. */
        UNKNOWN_ENUM,
        /** The record has no value (a tombstone): nothing a publisher should send on an input topic. */
        TOMBSTONE,
        /** A GradientSummary's per-timestep field has not seq_len entries, or ever_nonzero not ceil(units / 8) bytes. */
        SUMMARY_LENGTH_MISMATCH,
        /** A GradientSummary's values contradict each other (a negative or infinite norm, more saturated than values, ...). */
        INVALID_SUMMARY,
        /** A GradientSummary for a step and layer whose TensorRecords are also arriving: one source per step. */
        MIXED_SOURCES
    }

    private final Reason reason;

    public MalformedRecordException(Reason reason, String detail) {
        super(reason + ": " + detail);
        this.reason = reason;
    }

    public MalformedRecordException(Reason reason, String detail, Throwable cause) {
        super(reason + ": " + detail, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
