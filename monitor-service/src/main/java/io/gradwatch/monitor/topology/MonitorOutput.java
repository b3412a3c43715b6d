package io.gradwatch.monitor.topology;

import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.LayerHealth;

/** What the monitor's processors emit: one case per output topic (MonitorTopology routes them). */
sealed interface MonitorOutput {
    /** A layer's analysis of one step, for gradwatch.health. */
    record Health(LayerHealth health) implements MonitorOutput {
    }

    /** An alert transition or a closed-loop action, for gradwatch.alerts. */
    record Alert(AlertEvent event) implements MonitorOutput {
    }

    /** A closed-loop command to a trainer, for gradwatch.control. */
    record Command(ControlCommand command) implements MonitorOutput {
    }
}
