package io.gradwatch.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TensorViewTest {

    @Test
    void readsLittleEndianF32BytesWritten() {
        // 1.0f is 0x3f800000: little-endian bytes 00 00 80 3f.
        byte[] bytes = {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, (byte) 0xc0};
        TensorView view = TensorView.of(ByteString.copyFrom(bytes), DType.F32, 2, 1);
        assertThat(view.get(0)).isEqualTo(1.0f);
        assertThat(view.get(1)).isEqualTo(-2.0f);
    }

    @Test
    void readsLittleEndianF16AndBf16Bytes() {
        byte[] half = {0x00, 0x3c, 0x00, (byte) 0xc0}; // 0x3c00 = 1.0, 0xc000 = -2.0
        assertThat(TensorView.of(ByteString.copyFrom(half), DType.F16, 2, 1).get(1)).isEqualTo(-2.0f);
        byte[] bf16 = {(byte) 0x80, 0x3f}; // 0x3f80 = 1.0
        assertThat(TensorView.of(ByteString.copyFrom(bf16), DType.BF16, 1, 1).get(0)).isEqualTo(1.0f);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void encodeThenViewGivesTheValuesBack(DType dtype) {
        float[] values = {0f, 1f, -2.5f, 0.125f, 1024f, Float.POSITIVE_INFINITY, Float.NaN};
        TensorRecord record = record(values, dtype, 7);
        TensorView view = TensorView.of(record);
        assertThat(view.size()).isEqualTo(values.length);
        for (int i = 0; i < values.length; i++) {
            assertThat(Float.valueOf(view.get(i))).isEqualTo(Float.valueOf(values[i]));
        }
        float[] copy = new float[values.length + 1];
        view.copyTo(copy, 1);
        assertThat(copy[3]).isEqualTo(-2.5f);
    }

    @Test
    void reportsRowsAndColumnsOfAMatrix() {
        TensorView view = TensorView.of(record(new float[6], DType.F32, 2, 3));
        assertThat(view.rows()).isEqualTo(2);
        assertThat(view.columns()).isEqualTo(3);
    }

    @Test
    void rejectsDataShorterThanTheShape() {
        TensorRecord record = record(new float[6], DType.F32, 2, 4);
        assertThatThrownBy(() -> TensorView.of(record))
                .isInstanceOfSatisfying(MalformedRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(MalformedRecordException.Reason.SHAPE_DATA_MISMATCH))
                .hasMessageContaining("needs 32 bytes, data has 24");
    }

    static TensorRecord record(float[] values, DType dtype, long... shape) {
        TensorRecord.Builder builder = TensorRecord.newBuilder()
                .setRunId("run-1").setStep(3).setLayer(0).setTimestep(1).setSeqLen(4)
                .setKind(TensorKind.HIDDEN_GRAD).setDtype(dtype)
                .setData(TensorRecords.encode(values, 0, values.length, dtype));
        for (long dimension : shape) {
            builder.addShape(dimension);
        }
        return builder.build();
    }
}
