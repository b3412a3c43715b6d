package io.gradwatch.monitor.topology;

import com.google.protobuf.InvalidProtocolBufferException;
import io.gradwatch.protocol.v1.RunMetadata;
import java.nio.ByteBuffer;

/**
 * What the monitor knows of a run from its step records: when it last reported, its latest
 * step, whether it opted into the closed loop (label {@code gradwatch.closed-loop=true}), and
 * its metadata (from its first StepRecord; the remedies are fitted to it). The metadata follows
 * the first 17 bytes, so entries written before it existed still read (as unknown metadata).
 */
public record RunInfo(long lastSeenMs, long lastStep, boolean closedLoop, RunMetadata metadata) {
    public static final String CLOSED_LOOP_LABEL = "gradwatch.closed-loop";

    public RunInfo(long lastSeenMs, long lastStep, boolean closedLoop) {
        this(lastSeenMs, lastStep, closedLoop, RunMetadata.getDefaultInstance());
    }

    /** This run seen again at {@code nowMs} reporting {@code step}. */
    public RunInfo seen(long nowMs, long step) {
        return new RunInfo(nowMs, Math.max(step, lastStep), closedLoop, metadata);
    }

    public byte[] toBytes() {
        byte[] meta = metadata.toByteArray();
        return ByteBuffer.allocate(17 + meta.length).putLong(lastSeenMs).putLong(lastStep)
                .put((byte) (closedLoop ? 1 : 0)).put(meta).array();
    }

    public static RunInfo fromBytes(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        long lastSeen = buffer.getLong();
        long lastStep = buffer.getLong();
        boolean closedLoop = buffer.get() == 1;
        try {
            RunMetadata metadata = RunMetadata.parseFrom(ByteBuffer.wrap(bytes, 17, bytes.length - 17));
            return new RunInfo(lastSeen, lastStep, closedLoop, metadata);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("unreadable run metadata in the runs store", e);
        }
    }
}
