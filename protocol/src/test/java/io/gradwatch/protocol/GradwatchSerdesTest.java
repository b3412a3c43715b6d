package io.gradwatch.protocol;

import static io.gradwatch.protocol.MalformedRecordException.Reason.INVALID_SHAPE;
import static io.gradwatch.protocol.MalformedRecordException.Reason.INVALID_WIRE_FORMAT;
import static io.gradwatch.protocol.MalformedRecordException.Reason.MISSING_FIELD;
import static io.gradwatch.protocol.MalformedRecordException.Reason.SHAPE_DATA_MISMATCH;
import static io.gradwatch.protocol.MalformedRecordException.Reason.TIMESTEP_OUT_OF_RANGE;
import static io.gradwatch.protocol.MalformedRecordException.Reason.TOO_LARGE;
import static io.gradwatch.protocol.MalformedRecordException.Reason.TRUNCATED;
import static io.gradwatch.protocol.MalformedRecordException.Reason.UNKNOWN_DTYPE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.gradwatch.protocol.MalformedRecordException.Reason;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.Arrays;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class GradwatchSerdesTest {
    private static final TensorRecord GOOD = TensorViewTest.record(new float[] {1, 2, 3, 4, 5, 6}, DType.F32, 2, 3);

    @Test
    void roundTripsEveryRecordType() {
        assertThat(roundTrip(GradwatchSerdes.tensorRecord(), GOOD)).isEqualTo(GOOD);
        StepRecord step = StepRecord.newBuilder().setRunId("r").setStep(9).setLoss(0.69)
                .putParamGradNorms("weight_hh_l0", 0.5).build();
        assertThat(roundTrip(GradwatchSerdes.stepRecord(), step)).isEqualTo(step);
        AlertEvent alert = AlertEvent.newBuilder().setRunId("r").setType(AlertType.VANISHING)
                .setState(AlertState.FIRING).setValue(1e-5).build();
        assertThat(roundTrip(GradwatchSerdes.alertEvent(), alert)).isEqualTo(alert);
        ControlCommand stop = ControlCommand.newBuilder().setRunId("r")
                .setStop(ControlCommand.Stop.getDefaultInstance()).build();
        assertThat(roundTrip(GradwatchSerdes.controlCommand(), stop)).isEqualTo(stop);
    }

    @Test
    void rejectsTruncatedBytes() {
        byte[] bytes = GOOD.toByteArray();
        assertRejected(Arrays.copyOf(bytes, bytes.length - 3), TRUNCATED);
    }

    @Test
    void rejectsRandomBytes() {
        assertRejected(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f}, INVALID_WIRE_FORMAT);
    }

    @Test
    void rejectsUnknownAndMissingDtype() {
        assertRejected(GOOD.toBuilder().setDtypeValue(42).build().toByteArray(), MalformedRecordException.Reason.UNKNOWN_ENUM);
        assertRejected(GOOD.toBuilder().clearDtype().build().toByteArray(), UNKNOWN_DTYPE);
    }

    @Test
    void rejectsShapeDataMismatch() {
        assertRejected(mutate(b -> b.setShape(1, 4)), SHAPE_DATA_MISMATCH);
        assertRejected(mutate(b -> b.setData(ByteString.copyFrom(new byte[5]))), SHAPE_DATA_MISMATCH);
    }

    @Test
    void rejectsEmptyOrNonPositiveShape() {
        assertRejected(mutate(TensorRecord.Builder::clearShape), INVALID_SHAPE);
        assertRejected(mutate(b -> b.setShape(0, -2)), INVALID_SHAPE);
    }

    @Test
    void rejectsAbsurdSizeClaimsWithoutAllocating() {
        assertRejected(mutate(b -> b.setShape(0, 1L << 40)), TOO_LARGE);
        assertRejected(mutate(b -> b.setShape(0, Long.MAX_VALUE).setShape(1, Long.MAX_VALUE)), TOO_LARGE);
    }

    @Test
    void rejectsTimestepsOutsideTheSequence() {
        assertRejected(mutate(b -> b.setTimestep(-1)), TIMESTEP_OUT_OF_RANGE);
        assertRejected(mutate(b -> b.setTimestep(4)), TIMESTEP_OUT_OF_RANGE);
        assertRejected(mutate(b -> b.setSeqLen(0).setTimestep(0)), TIMESTEP_OUT_OF_RANGE);
        assertRejected(mutate(b -> b.setSeqLen(1_000_000_000)), TIMESTEP_OUT_OF_RANGE);
    }

    @Test
    void rejectsMissingRunIdAndKind() {
        assertRejected(mutate(TensorRecord.Builder::clearRunId), MISSING_FIELD);
        assertRejected(mutate(TensorRecord.Builder::clearKind), MISSING_FIELD);
        assertThatThrownBy(() -> GradwatchSerdes.stepRecord().decode(StepRecord.newBuilder().setStep(1).build()
                .toByteArray())).isInstanceOf(MalformedRecordException.class).hasMessageContaining("run_id");
    }

    @Test
    void rejectsRunIdsWithControlCharactersOrTooLong() {
        assertRejected(mutate(b -> b.setRunId("run\u0000a")), Reason.INVALID_RUN_ID);
        assertRejected(mutate(b -> b.setRunId("run\r\nSet-Cookie: x")), Reason.INVALID_RUN_ID);
        assertRejected(mutate(b -> b.setRunId("r".repeat(TensorRecords.MAX_RUN_ID_LENGTH + 1))), Reason.INVALID_RUN_ID);
        // The same rule for every record type: run ids become keys, labels and state-store prefixes.
        assertThatThrownBy(() -> GradwatchSerdes.stepRecord().decode(StepRecord.newBuilder().setRunId("a\nb").build()
                .toByteArray())).isInstanceOfSatisfying(MalformedRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.INVALID_RUN_ID));
        // Slashes, spaces and non-ASCII letters are fine: team-a/lm-7b/2026-11-23T04:00.
        assertThat(GradwatchSerdes.tensorRecord().decode(mutate(b -> b.setRunId("team-a/lm 7b/\u00e9t\u00e9"))).getRunId())
                .isEqualTo("team-a/lm 7b/\u00e9t\u00e9");
    }

    @Test
    void enumNumbersOutsideTheirEnumAreUnknownEnum() {
        assertRejected(mutate(b -> b.setCellValue(99)), Reason.UNKNOWN_ENUM);
        assertRejected(mutate(b -> b.setActivationValue(99)), Reason.UNKNOWN_ENUM);
        assertRejected(mutate(b -> b.setKindValue(99)), Reason.UNKNOWN_ENUM);
        assertRejected(mutate(b -> b.setDtypeValue(-7)), Reason.UNKNOWN_ENUM);
        byte[] step = StepRecord.newBuilder().setRunId("r").setMetadata(io.gradwatch.protocol.v1.RunMetadata
                .newBuilder().setCellValue(99)).build().toByteArray();
        assertThatThrownBy(() -> GradwatchSerdes.stepRecord().decode(step)).isInstanceOfSatisfying(
                MalformedRecordException.class, e -> assertThat(e.reason()).isEqualTo(Reason.UNKNOWN_ENUM));
    }

    @Test
    void aShapeWithTooManyDimensionsIsRejectedWithAShortMessage() {
        TensorRecord.Builder huge = GOOD.toBuilder().clearShape();
        for (int i = 0; i < 300_000; i++) {
            huge.addShape(1);
        }
        assertThatThrownBy(() -> GradwatchSerdes.tensorRecord().decode(huge.build().toByteArray()))
                .isInstanceOfSatisfying(MalformedRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(INVALID_SHAPE))
                .message().hasSizeLessThan(200);
        TensorRecord.Builder widest = GOOD.toBuilder().clearShape();
        for (int i = 0; i < TensorRecords.MAX_DIMENSIONS; i++) {
            widest.addShape(i == 0 ? 0 : 1);
        }
        assertThatThrownBy(() -> GradwatchSerdes.tensorRecord().decode(widest.build().toByteArray()))
                .isInstanceOfSatisfying(MalformedRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(INVALID_SHAPE))
                .message().contains("64 dimensions").hasSizeLessThan(200);
    }

    @Test
    void keysAreDecodedStrictlySoInvalidUtf8IsAKeyMismatch() {
        var keys = GradwatchSerdes.runKey().deserializer();
        assertThat(keys.deserialize("t", "run-\u00e9".getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .isEqualTo("run-\u00e9");
        assertThat(keys.deserialize("t", null)).isNull();
        assertThatThrownBy(() -> keys.deserialize("t", new byte[] {(byte) 0xff}))
                .isInstanceOfSatisfying(MalformedRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.KEY_MISMATCH));
    }

    @Test
    void nullBytesAreATombstoneNotAnError() {
        assertThat(GradwatchSerdes.tensorRecord().deserializer().deserialize("t", null)).isNull();
    }

    private static byte[] mutate(UnaryOperator<TensorRecord.Builder> change) {
        return change.apply(GOOD.toBuilder()).build().toByteArray();
    }

    private static void assertRejected(byte[] bytes, Reason reason) {
        assertThatThrownBy(() -> GradwatchSerdes.tensorRecord().deserializer().deserialize("t", bytes))
                .isInstanceOfSatisfying(MalformedRecordException.class, e -> assertThat(e.reason()).isEqualTo(reason))
                .hasMessageStartingWith(reason.name());
    }

    private static <T extends com.google.protobuf.MessageLite> T roundTrip(ProtobufSerde<T> serde, T record) {
        return serde.deserializer().deserialize("t", serde.serializer().serialize("t", record));
    }
}
