package io.gradwatch.monitor.topology;

/**
 * What the monitor knows of a run from its step records: when it last reported, its latest
 * step, and whether it opted into the closed loop (label {@code gradwatch.closed-loop=true}).
 */
public record RunInfo(long lastSeenMs, long lastStep, boolean closedLoop) {
    public static final String CLOSED_LOOP_LABEL = "gradwatch.closed-loop";
}
