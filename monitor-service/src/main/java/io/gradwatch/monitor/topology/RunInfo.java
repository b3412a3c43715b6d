package io.gradwatch.monitor.topology;

import io.gradwatch.protocol.v1.RunMetadata;

/**
 * What the monitor knows of a run from its step records: when it last reported, its latest
 * step, whether it opted into the closed loop (label {@code gradwatch.closed-loop=true}), and
 * its metadata (from its first StepRecord; the remedies are fitted to it). Stored as
 * {@code gradwatch.state.v1.RunState} (StateSerdes.RUN).
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
}
