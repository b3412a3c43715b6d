package io.gradwatch.protocol;

import com.google.protobuf.ByteString;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.TensorRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A read-only, zero-copy view of a tensor's bytes as floats. The record's data is wrapped, not
 * copied, and elements are decoded on access, so analysis loops read F32, F16 and BF16 tensors
 * without allocating per element.
 */
public final class TensorView {
    private static final int F32 = 0;
    private static final int F16 = 1;
    private static final int BF16 = 2;

    private final ByteBuffer bytes;
    private final int encoding;
    private final DType dtype;
    private final int size;
    private final int rows;

    private TensorView(ByteBuffer bytes, DType dtype, int size, int rows) {
        this.bytes = bytes;
        this.dtype = dtype;
        this.encoding = switch (dtype) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
            default -> throw new MalformedRecordException(MalformedRecordException.Reason.UNKNOWN_DTYPE,
                    "dtype " + dtype);
        };
        this.size = size;
        this.rows = rows;
    }

    /** Views a record's data; checks dtype and that the shape matches the data length. */
    public static TensorView of(TensorRecord record) {
        long elements = TensorRecords.checkShape(record, TensorRecords.DEFAULT_LIMITS);
        int rows = record.getShapeCount() > 1 ? (int) record.getShape(0) : 1;
        return of(record.getData(), record.getDtype(), (int) elements, rows);
    }

    /** Views raw little-endian bytes holding {@code size} elements of {@code dtype}. */
    public static TensorView of(ByteString data, DType dtype, int size, int rows) {
        int expected = size * TensorRecords.bytesPerElement(dtype);
        if (data.size() != expected) {
            throw new MalformedRecordException(MalformedRecordException.Reason.SHAPE_DATA_MISMATCH,
                    size + " elements of " + dtype + " need " + expected + " bytes, data has " + data.size());
        }
        ByteBuffer buffer = data.asReadOnlyByteBuffer().slice().order(ByteOrder.LITTLE_ENDIAN);
        return new TensorView(buffer, dtype, size, rows);
    }

    public int size() {
        return size;
    }

    /** Leading dimension (the batch for a [batch, hidden] tensor); 1 for a vector. */
    public int rows() {
        return rows;
    }

    /** Elements per row: hidden units for a [batch, hidden] tensor. */
    public int columns() {
        return rows == 0 ? 0 : size / rows;
    }

    public DType dtype() {
        return dtype;
    }

    /** Element {@code index} in row-major order, widened to float. */
    public float get(int index) {
        return switch (encoding) {
            case F32 -> bytes.getFloat(index << 2);
            case F16 -> Float16.halfToFloat(bytes.getShort(index << 1));
            default -> Float16.bfloat16ToFloat(bytes.getShort(index << 1));
        };
    }

    /** Copies all elements into {@code target} starting at {@code offset}. */
    public void copyTo(float[] target, int offset) {
        if (encoding == F32) {
            bytes.asFloatBuffer().get(target, offset, size);
            return;
        }
        for (int i = 0; i < size; i++) {
            target[offset + i] = get(i);
        }
    }
}
