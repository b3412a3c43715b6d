package io.gradwatch.protocol;

import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.GradientSummary;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.protocol.v1.TensorRecord;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;

/** The one serde of each record type. Instances are stateless and thread-safe. */
public final class GradwatchSerdes {
    private static final ProtobufSerde<TensorRecord> TENSOR_RECORD = new ProtobufSerde<>(TensorRecord.class,
            TensorRecord.parser(), record -> TensorRecords.validate(record, TensorRecords.DEFAULT_LIMITS));
    private static final ProtobufSerde<GradientSummary> GRADIENT_SUMMARY = new ProtobufSerde<>(
            GradientSummary.class, GradientSummary.parser(),
            record -> GradientSummaries.validate(record, TensorRecords.DEFAULT_LIMITS));
    private static final ProtobufSerde<StepRecord> STEP_RECORD = new ProtobufSerde<>(StepRecord.class,
            StepRecord.parser(), GradwatchSerdes::validateStep);
    private static final ProtobufSerde<LayerHealth> LAYER_HEALTH = new ProtobufSerde<>(LayerHealth.class,
            LayerHealth.parser(), record -> requireRunId(record.getRunId()));
    private static final ProtobufSerde<AlertEvent> ALERT_EVENT = new ProtobufSerde<>(AlertEvent.class,
            AlertEvent.parser(), record -> requireRunId(record.getRunId()));
    private static final ProtobufSerde<ControlCommand> CONTROL_COMMAND = new ProtobufSerde<>(ControlCommand.class,
            ControlCommand.parser(), record -> requireRunId(record.getRunId()));

    private GradwatchSerdes() {
    }

    public static ProtobufSerde<TensorRecord> tensorRecord() {
        return TENSOR_RECORD;
    }

    public static ProtobufSerde<GradientSummary> gradientSummary() {
        return GRADIENT_SUMMARY;
    }

    public static ProtobufSerde<StepRecord> stepRecord() {
        return STEP_RECORD;
    }

    public static ProtobufSerde<LayerHealth> layerHealth() {
        return LAYER_HEALTH;
    }

    public static ProtobufSerde<AlertEvent> alertEvent() {
        return ALERT_EVENT;
    }

    public static ProtobufSerde<ControlCommand> controlCommand() {
        return CONTROL_COMMAND;
    }

    /**
     * The key of every gradwatch record: its run id as UTF-8, decoded strictly. A lenient decoder
     * turns invalid bytes into U+FFFD, so the key 0xFF would equal the run id "\uFFFD"; here it is
     * a {@code KEY_MISMATCH}. Null stays null (the processors reject it with the same reason).
     */
    public static Serde<String> runKey() {
        return RUN_KEY;
    }

    private static final Serde<String> RUN_KEY = Serdes.serdeFrom(new StringSerializer(),
            (topic, bytes) -> bytes == null ? null : decodeKey(bytes));

    private static String decodeKey(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new MalformedRecordException(MalformedRecordException.Reason.KEY_MISMATCH,
                    "the key (" + bytes.length + " bytes) is not valid UTF-8, so it cannot be a run id");
        }
    }

    private static void validateStep(StepRecord record) {
        requireRunId(record.getRunId());
        if (record.hasMetadata()) {
            TensorRecords.checkEnum("metadata.cell", record.getMetadata().getCellValue(),
                    record.getMetadata().getCell() == CellType.UNRECOGNIZED);
            TensorRecords.checkEnum("metadata.activation", record.getMetadata().getActivationValue(),
                    record.getMetadata().getActivation() == ActivationFunction.UNRECOGNIZED);
        }
    }

    private static void requireRunId(String runId) {
        if (runId.isEmpty()) {
            throw new MalformedRecordException(MalformedRecordException.Reason.MISSING_FIELD, "run_id is empty");
        }
        TensorRecords.checkRunId(runId);
    }
}
