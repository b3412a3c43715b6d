package io.gradwatch.monitor.metrics;

import io.gradwatch.monitor.topology.MonitorEvents;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;

/**
 * The monitor's own meters, fed by the topology: health records emitted, alert transitions, dead
 * letters by reason, tensors accepted, duplicates and late records dropped, runs forgotten after their retention.
 * Tag values come from small closed sets (types, states, reasons), never from run ids.
 */
public final class MonitorMetrics implements MonitorEvents {
    private final MeterRegistry registry;

    public MonitorMetrics(MeterRegistry registry) {
        this.registry = registry;
        Counter.builder("gradwatch.monitor.dlq.records").description("records routed to gradwatch.dlq")
                .tag("reason", "none").register(registry);
    }

    @Override
    public void health(boolean complete) {
        Counter.builder("gradwatch.monitor.layer.health").description("LayerHealth records emitted")
                .tag("complete", Boolean.toString(complete)).register(registry).increment();
    }

    @Override
    public void alert(AlertType type, AlertState state) {
        Counter.builder("gradwatch.monitor.alert.transitions").description("alert state changes emitted")
                .tag("type", type.name().toLowerCase(Locale.ROOT)).tag("state", state.name().toLowerCase(Locale.ROOT))
                .register(registry).increment();
    }

    @Override
    public void accepted() {
        Counter.builder("gradwatch.monitor.accepted.records").description("tensors folded into their step's state")
                .register(registry).increment();
    }

    @Override
    public void duplicate() {
        Counter.builder("gradwatch.monitor.duplicate.records").description("tensors seen twice, ignored")
                .register(registry).increment();
    }

    @Override
    public void late() {
        Counter.builder("gradwatch.monitor.late.records").description("tensors of steps already analysed, ignored")
                .register(registry).increment();
    }

    @Override
    public void forgotten() {
        Counter.builder("gradwatch.monitor.runs.forgotten").description("runs dropped from state after retention")
                .register(registry).increment();
    }

    @Override
    public void punctuationFailed() {
        Counter.builder("gradwatch.monitor.punctuation.failures")
                .description("expiry/retention passes that threw (see the log)").register(registry).increment();
    }

    @Override
    public void deadLetter(String reason) {
        Counter.builder("gradwatch.monitor.dlq.records").description("records routed to gradwatch.dlq")
                .tag("reason", reason).register(registry).increment();
    }
}
