package io.gradwatch.monitor.topology;

import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;

/** What the topology reports as it goes; the metrics binder counts it. */
public interface MonitorEvents {
    MonitorEvents NONE = new MonitorEvents() {
    };

    default void health(boolean complete) {
    }

    default void alert(AlertType type, AlertState state) {
    }

    /** A tensor folded into its step's state (every record in is accepted, a duplicate, late or a dead letter). */
    default void accepted() {
    }

    default void duplicate() {
    }

    default void late() {
    }

    default void forgotten() {
    }

    /** A wall-clock punctuation (expiry of incomplete steps, forgetting silent runs) threw. */
    default void punctuationFailed() {
    }

    default void deadLetter(String reason) {
    }

    /** A StepRecord folded into its run's info (every step record is tracked or a dead letter). */
    default void stepTracked() {
    }

    /**
     * An output for {@code topic} (a dead letter, a result) that could not be sent and was dropped so
     * the partition moves on; logged with the input record's topic, partition and offset.
     */
    default void skipped(String topic, String reason) {
    }
}
