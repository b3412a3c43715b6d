package io.gradwatch.monitor.topology;

import java.nio.ByteBuffer;

/**
 * What the monitor knows of a run from its step records: when it last reported, its latest
 * step, and whether it opted into the closed loop (label {@code gradwatch.closed-loop=true}).
 */
public record RunInfo(long lastSeenMs, long lastStep, boolean closedLoop) {
    public static final String CLOSED_LOOP_LABEL = "gradwatch.closed-loop";

    public byte[] toBytes() {
        return ByteBuffer.allocate(17).putLong(lastSeenMs).putLong(lastStep).put((byte) (closedLoop ? 1 : 0)).array();
    }

    public static RunInfo fromBytes(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        return new RunInfo(buffer.getLong(), buffer.getLong(), buffer.get() == 1);
    }
}
