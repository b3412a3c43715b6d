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

    default void duplicate() {
    }

    default void late() {
    }

    default void forgotten() {
    }

    default void deadLetter(String reason) {
    }
}
