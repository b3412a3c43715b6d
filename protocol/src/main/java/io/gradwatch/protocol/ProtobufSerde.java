package io.gradwatch.protocol;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.util.function.Consumer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Serde for one protobuf record type. Undecodable bytes and records that break the type's
 * invariants fail with a {@link MalformedRecordException}, never a bare protobuf exception.
 */
public final class ProtobufSerde<T extends MessageLite> implements Serde<T> {
    private final Parser<T> parser;
    private final Consumer<T> validator;
    private final String typeName;

    ProtobufSerde(Class<T> type, Parser<T> parser, Consumer<T> validator) {
        this.parser = parser;
        this.validator = validator;
        this.typeName = type.getSimpleName();
    }

    /** Decodes and validates; throws {@link MalformedRecordException} naming what is wrong. */
    public T decode(byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        T record;
        try {
            record = parser.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new MalformedRecordException(classify(e), typeName + " of " + bytes.length + " bytes: "
                    + e.getMessage(), e);
        }
        validator.accept(record);
        return record;
    }

    private static MalformedRecordException.Reason classify(InvalidProtocolBufferException e) {
        String message = String.valueOf(e.getMessage());
        return message.contains("ended unexpectedly") || message.contains("truncated")
                ? MalformedRecordException.Reason.TRUNCATED
                : MalformedRecordException.Reason.INVALID_WIRE_FORMAT;
    }

    @Override
    public Serializer<T> serializer() {
        return (topic, record) -> record == null ? null : record.toByteArray();
    }

    @Override
    public Deserializer<T> deserializer() {
        return (topic, bytes) -> decode(bytes);
    }
}
