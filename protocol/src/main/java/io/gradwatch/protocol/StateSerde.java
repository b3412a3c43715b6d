package io.gradwatch.protocol;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.io.IOException;
import java.util.Arrays;
import java.util.function.Function;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Versioned serde of one state-store value type. Bytes are {@code [0x47, version] + message}: the
 * magic byte 0x47 is field 8 with wire type 7, which no protobuf message starts with and none of
 * the unversioned ByteBuffer formats of gradwatch 0.x did either, so bytes without it are version 0
 * and go to the legacy decoder. Within version 1 protobuf's own rules (new fields, unknown fields
 * kept) carry state from one release to the next; {@link #VERSION} changes only for a change they
 * cannot express, and the decoder of the old version stays.
 *
 * @param <T> the value the processors work on (a domain object, converted to and from {@code M})
 * @param <M> the protobuf message of the current version
 */
public final class StateSerde<T, M extends MessageLite> implements Serde<T> {
    public static final byte MAGIC = 0x47;
    public static final byte VERSION = 1;

    private final String name;
    private final Parser<M> parser;
    private final Function<T, M> toMessage;
    private final Function<M, T> fromMessage;
    private final Function<byte[], T> legacy;

    /**
     * @param legacy decodes version 0 bytes (gradwatch 0.x's unversioned format), or null if the
     *               store had none
     */
    public StateSerde(String name, Parser<M> parser, Function<T, M> toMessage, Function<M, T> fromMessage,
                      Function<byte[], T> legacy) {
        this.name = name;
        this.parser = parser;
        this.toMessage = toMessage;
        this.fromMessage = fromMessage;
        this.legacy = legacy;
    }

    public byte[] encode(T value) {
        if (value == null) {
            return null;
        }
        M message = toMessage.apply(value);
        byte[] bytes = new byte[2 + message.getSerializedSize()];
        bytes[0] = MAGIC;
        bytes[1] = VERSION;
        // writeTo straight into the array after the envelope: no second copy of the message.
        try {
            message.writeTo(CodedOutputStream.newInstance(bytes, 2, bytes.length - 2));
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode " + name, e);
        }
        return bytes;
    }

    public T decode(byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        if (bytes.length == 0 || bytes[0] != MAGIC) {
            if (legacy == null) {
                throw new IllegalStateException(name + " state of " + bytes.length + " bytes has no version envelope");
            }
            return legacy.apply(bytes);
        }
        if (bytes.length < 2 || bytes[1] != VERSION) {
            throw new IllegalStateException(name + " state has schema version "
                    + (bytes.length < 2 ? "(none)" : bytes[1]) + "; this release reads versions 0 to " + VERSION
                    + " (state written by a newer release: roll back to it or reset the application)");
        }
        try {
            return fromMessage.apply(parser.parseFrom(bytes, 2, bytes.length - 2));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("corrupt " + name + " state (" + bytes.length + " bytes, "
                    + Arrays.toString(Arrays.copyOf(bytes, Math.min(8, bytes.length))) + "...)", e);
        }
    }

    @Override
    public Serializer<T> serializer() {
        return (topic, value) -> encode(value);
    }

    @Override
    public Deserializer<T> deserializer() {
        return (topic, bytes) -> decode(bytes);
    }
}
