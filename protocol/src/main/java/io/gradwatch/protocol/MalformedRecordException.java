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
        /** The dtype is missing or not one of F32, F16, BF16. */
        UNKNOWN_DTYPE,
        /** product(shape) x element size differs from the length of data. */
        SHAPE_DATA_MISMATCH,
        /** A shape dimension is zero or negative, or the shape is empty. */
        INVALID_SHAPE,
        /** The tensor claims more elements than the configured limit. */
        TOO_LARGE,
        /** timestep outside 0 .. seq_len-1, or seq_len outside 1 .. the configured limit. */
        TIMESTEP_OUT_OF_RANGE,
        /** A required field (run id, kind) is missing or negative where it must not be. */
        MISSING_FIELD
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
