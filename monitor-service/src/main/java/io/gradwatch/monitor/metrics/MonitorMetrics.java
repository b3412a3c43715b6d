package io.gradwatch.monitor.metrics;

import io.gradwatch.monitor.topology.MonitorEvents;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The monitor's own meters, fed by the topology: health records emitted, alert transitions, dead
 * letters by reason, tensors accepted, duplicates and late records dropped, runs forgotten after their retention.
 * Tag values come from small closed sets (types, states, reasons), never from run ids.
 */
public final class MonitorMetrics implements MonitorEvents {
    private final MeterRegistry registry;
    // Built once: the per-record counters are hit tens of thousands of times a second, and building
    // a meter (even one already registered) costs more than the analysis of a small tensor.
    private final Counter accepted;
    private final Counter duplicates;
    private final Counter late;
    private final Counter forgotten;
    private final Counter punctuationFailures;
    private final Counter completeHealth;
    private final Counter incompleteHealth;
    private final Map<String, Counter> alertTransitions = new ConcurrentHashMap<>();
    private final Map<String, Counter> deadLetters = new ConcurrentHashMap<>();
    private final Map<String, Counter> skipped = new ConcurrentHashMap<>();
    private final Counter stepsTracked;

    public MonitorMetrics(MeterRegistry registry) {
        this.registry = registry;
        deadLetter("none", 0);
        accepted = Counter.builder("gradwatch.monitor.accepted.records")
                .description("tensors folded into their step's state").register(registry);
        duplicates = Counter.builder("gradwatch.monitor.duplicate.records").description("tensors seen twice, ignored")
                .register(registry);
        late = Counter.builder("gradwatch.monitor.late.records")
                .description("tensors of steps already analysed, ignored").register(registry);
        forgotten = Counter.builder("gradwatch.monitor.runs.forgotten")
                .description("runs dropped from state after retention").register(registry);
        punctuationFailures = Counter.builder("gradwatch.monitor.punctuation.failures")
                .description("expiry/retention passes that threw (see the log)").register(registry);
        stepsTracked = Counter.builder("gradwatch.monitor.step.records")
                .description("step records folded into their run's info").register(registry);
        completeHealth = healthCounter(true);
        incompleteHealth = healthCounter(false);
    }

    private Counter healthCounter(boolean complete) {
        return Counter.builder("gradwatch.monitor.layer.health").description("LayerHealth records emitted")
                .tag("complete", Boolean.toString(complete)).register(registry);
    }

    @Override
    public void health(boolean complete) {
        (complete ? completeHealth : incompleteHealth).increment();
    }

    @Override
    public void alert(AlertType type, AlertState state) {
        String typeTag = type.name().toLowerCase(Locale.ROOT);
        String stateTag = state.name().toLowerCase(Locale.ROOT);
        alertTransitions.computeIfAbsent(typeTag + "/" + stateTag, key -> Counter
                .builder("gradwatch.monitor.alert.transitions").description("alert state changes emitted")
                .tag("type", typeTag).tag("state", stateTag).register(registry)).increment();
    }

    @Override
    public void accepted() {
        accepted.increment();
    }

    @Override
    public void duplicate() {
        duplicates.increment();
    }

    @Override
    public void late() {
        late.increment();
    }

    @Override
    public void forgotten() {
        forgotten.increment();
    }

    @Override
    public void punctuationFailed() {
        punctuationFailures.increment();
    }

    @Override
    public void deadLetter(String reason) {
        deadLetter(reason, 1);
    }

    @Override
    public void stepTracked() {
        stepsTracked.increment();
    }

    @Override
    public void skipped(String topic, String reason) {
        skipped.computeIfAbsent(topic + "/" + reason, key -> Counter.builder("gradwatch.monitor.skipped.records")
                .description("outputs that could not be sent and were dropped so the partition moves on (see the log)")
                .tag("topic", topic).tag("reason", reason).register(registry)).increment();
    }

    private void deadLetter(String reason, double amount) {
        deadLetters.computeIfAbsent(reason, key -> Counter.builder("gradwatch.monitor.dlq.records")
                .description("records routed to gradwatch.dlq").tag("reason", key).register(registry)).increment(amount);
    }
}
