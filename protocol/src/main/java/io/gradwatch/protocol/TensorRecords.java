package io.gradwatch.protocol;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.gradwatch.protocol.MalformedRecordException.Reason;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Locale;

/** Validation and encoding of {@link TensorRecord}s. */
public final class TensorRecords {
    /**
     * 10k timesteps and 16M elements (64 MB of F32): far above any real record, far below harm. The
     * monitor keeps 24 bytes per timestep for an open step and publishes as much in its
     * LayerHealth, and both must fit in one Kafka record (1 MB by default): at 10k timesteps they
     * are 240 kB. (At the former 100k, one valid record made a 2.4 MB changelog record that Kafka
     * refused, and the monitor's stream thread died on it again and again.)
     */
    public static final TensorLimits DEFAULT_LIMITS = new TensorLimits(10_000, 1L << 24);
    /** Longest accepted run id, in UTF-16 code units. */
    public static final int MAX_RUN_ID_LENGTH = 1_000;
    /**
     * Most dimensions a shape may have (PyTorch's own limit is 25 on CUDA, 64 in general). Without
     * it a shape of 300,000 ones is a valid 1-element tensor, and an error text listing such a shape
     * made a dead letter larger than Kafka would take.
     */
    public static final int MAX_DIMENSIONS = 64;
    /** Dimensions an error text lists before it gives only their count. */
    private static final int DESCRIBED_DIMENSIONS = 8;

    private TensorRecords() {
    }

    public static int bytesPerElement(DType dtype) {
        return switch (dtype) {
            case F32 -> 4;
            case F16, BF16 -> 2;
            case UNRECOGNIZED -> throw new MalformedRecordException(Reason.UNKNOWN_ENUM,
                    "dtype is a number that is not one of F32, F16, BF16");
            default -> throw new MalformedRecordException(Reason.UNKNOWN_DTYPE,
                    "dtype " + dtype + " is not one of F32, F16, BF16");
        };
    }

    /** Checks every invariant a reader relies on; throws naming the first one broken. */
    public static void validate(TensorRecord record, TensorLimits limits) {
        if (record.getRunId().isEmpty()) {
            throw new MalformedRecordException(Reason.MISSING_FIELD, "run_id is empty");
        }
        checkRunId(record.getRunId());
        checkEnums(record);
        if (record.getKind() == TensorKind.KIND_UNSPECIFIED) {
            throw new MalformedRecordException(Reason.MISSING_FIELD, "kind is " + record.getKind());
        }
        if (record.getStep() < 0 || record.getLayer() < 0) {
            throw new MalformedRecordException(Reason.MISSING_FIELD,
                    "step " + record.getStep() + " and layer " + record.getLayer() + " must be >= 0");
        }
        if (record.getSeqLen() < 1 || record.getSeqLen() > limits.maxSeqLen()) {
            throw new MalformedRecordException(Reason.TIMESTEP_OUT_OF_RANGE,
                    "seq_len " + record.getSeqLen() + " outside 1.." + limits.maxSeqLen());
        }
        if (record.getTimestep() < 0 || record.getTimestep() >= record.getSeqLen()) {
            throw new MalformedRecordException(Reason.TIMESTEP_OUT_OF_RANGE,
                    "timestep " + record.getTimestep() + " outside 0.." + (record.getSeqLen() - 1));
        }
        checkShape(record, limits);
    }

    /**
     * Numbers outside an enum decode as UNRECOGNIZED, which has no number to store or publish: found
     * here, before anything of the record reaches the monitor's state.
     */
    private static void checkEnums(TensorRecord record) {
        checkEnum("kind", record.getKindValue(), record.getKind() == TensorKind.UNRECOGNIZED);
        checkEnum("dtype", record.getDtypeValue(), record.getDtype() == DType.UNRECOGNIZED);
        checkEnum("cell", record.getCellValue(), record.getCell() == CellType.UNRECOGNIZED);
        checkEnum("activation", record.getActivationValue(),
                record.getActivation() == ActivationFunction.UNRECOGNIZED);
    }

    /** Rejects {@code value} of the enum field {@code field} when it is not one of the enum's numbers. */
    public static void checkEnum(String field, int value, boolean unrecognized) {
        if (unrecognized) {
            throw new MalformedRecordException(Reason.UNKNOWN_ENUM, field + " " + value + " is not in its enum");
        }
    }

    /** A shape as an error text shows it: its first dimensions and their count, never all of them. */
    static String describe(List<Long> shape) {
        if (shape.size() <= DESCRIBED_DIMENSIONS) {
            return shape.toString();
        }
        return shape.subList(0, DESCRIBED_DIMENSIONS).toString().replace("]", ", ... (" + shape.size()
                + " dimensions)]");
    }

    /**
     * A run id is used as the record key and as the first part of the monitor's state-store keys,
     * which separate their parts with NUL: no control characters, and a bounded length.
     */
    public static void checkRunId(String runId) {
        if (runId.length() > MAX_RUN_ID_LENGTH) {
            throw new MalformedRecordException(Reason.INVALID_RUN_ID,
                    "run_id has " + runId.length() + " characters, more than " + MAX_RUN_ID_LENGTH);
        }
        for (int i = 0; i < runId.length(); i++) {
            char c = runId.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new MalformedRecordException(Reason.INVALID_RUN_ID,
                        String.format(Locale.ROOT, "run_id has the control character U+%04X at %d", (int) c, i));
            }
        }
    }

    /** Checks dtype, shape and data length; returns the element count. */
    static long checkShape(TensorRecord record, TensorLimits limits) {
        int elementBytes = bytesPerElement(record.getDtype());
        if (record.getShapeCount() == 0) {
            throw new MalformedRecordException(Reason.INVALID_SHAPE, "shape is empty");
        }
        if (record.getShapeCount() > MAX_DIMENSIONS) {
            throw new MalformedRecordException(Reason.INVALID_SHAPE, "shape has " + record.getShapeCount()
                    + " dimensions, more than " + MAX_DIMENSIONS);
        }
        long elements = 1;
        for (long dimension : record.getShapeList()) {
            if (dimension <= 0) {
                throw new MalformedRecordException(Reason.INVALID_SHAPE,
                        "shape " + describe(record.getShapeList()) + " has a dimension <= 0");
            }
            if (dimension > limits.maxElements() || elements > limits.maxElements() / dimension) {
                throw new MalformedRecordException(Reason.TOO_LARGE,
                        "shape " + describe(record.getShapeList()) + " exceeds " + limits.maxElements() + " elements");
            }
            elements *= dimension;
        }
        long expectedBytes = elements * elementBytes;
        if (expectedBytes != record.getData().size()) {
            throw new MalformedRecordException(Reason.SHAPE_DATA_MISMATCH,
                    "shape " + describe(record.getShapeList()) + " of " + record.getDtype() + " needs " + expectedBytes
                            + " bytes, data has " + record.getData().size());
        }
        return elements;
    }

    /** Encodes {@code length} floats from {@code values[offset]} as little-endian bytes of {@code dtype}. */
    public static ByteString encode(float[] values, int offset, int length, DType dtype) {
        byte[] bytes = new byte[length * bytesPerElement(dtype)];
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> buffer.asFloatBuffer().put(values, offset, length);
            case F16 -> {
                for (int i = 0; i < length; i++) {
                    buffer.putShort(i << 1, Float16.floatToHalf(values[offset + i]));
                }
            }
            default -> {
                for (int i = 0; i < length; i++) {
                    buffer.putShort(i << 1, Float16.floatToBfloat16(values[offset + i]));
                }
            }
        }
        // The array is ours alone and never written again, so it can back the ByteString directly.
        return UnsafeByteOperations.unsafeWrap(bytes);
    }
}
