package io.gradwatch.alerts.state;

import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.LayerHealth;

/** What the metrics binder needs to hear from the fleet state; every method is called under its lock. */
public interface FleetListener {
    FleetListener NONE = new FleetListener() {
    };

    default void progress(FleetState.RunView run) {
    }

    default void health(FleetState.RunView run, LayerHealth health) {
    }

    default void alertEvent(AlertEvent event) {
    }

    default void alertChanged(FleetState.RunView run, AlertEvent event, boolean firing) {
    }

    default void forgotten(FleetState.RunView run) {
    }

    default void dropped() {
    }
}
