package io.gradwatch.protocol;

import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.protocol.v1.TensorRecord;

/** The one serde of each record type. Instances are stateless and thread-safe. */
public final class GradwatchSerdes {
    private static final ProtobufSerde<TensorRecord> TENSOR_RECORD = new ProtobufSerde<>(TensorRecord.class,
            TensorRecord.parser(), record -> TensorRecords.validate(record, TensorRecords.DEFAULT_LIMITS));
    private static final ProtobufSerde<StepRecord> STEP_RECORD = new ProtobufSerde<>(StepRecord.class,
            StepRecord.parser(), record -> requireRunId(record.getRunId()));
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

    private static void requireRunId(String runId) {
        if (runId.isEmpty()) {
            throw new MalformedRecordException(MalformedRecordException.Reason.MISSING_FIELD, "run_id is empty");
        }
        TensorRecords.checkRunId(runId);
    }
}
