package io.gradwatch.alerts.metrics;

import io.gradwatch.alerts.state.FleetListener;
import io.gradwatch.alerts.state.FleetState;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.LayerHealth;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The Prometheus view of the fleet. Per run and layer: gradient norms at {@code positions} evenly
 * spaced timesteps, decay ratio, horizon, dead-ReLU and saturation ratios, non-finite values,
 * active alerts; per run: step, loss, accuracy, global gradient norm before and after clipping,
 * learning rate, and the gradient norm of its first {@value #MAX_PARAMETER_SERIES} parameters. Meters of a run are removed
 * when the run is forgotten, so series do not outlive their run (bounded cardinality).
 */
public final class FleetMetrics implements FleetListener {
    /** Per-parameter norm series per run at most: a bound on cardinality (runs x parameters). */
    public static final int MAX_PARAMETER_SERIES = 32;
    private final MeterRegistry registry;
    private final int positions;
    private final LongSupplier clock;
    private final Map<String, Map<String, Meter>> meters = new HashMap<>();
    private final Map<String, Value> values = new HashMap<>();
    private final Counter dropped;
    private final Timer latency;
    private final Value lastRecord = new Value();

    public FleetMetrics(MeterRegistry registry, int positions, LongSupplier clock) {
        this.registry = registry;
        this.positions = positions;
        this.clock = clock;
        this.dropped = Counter.builder("gradwatch.runs.dropped").description("records of runs beyond alerts.max-runs")
                .register(registry);
        this.latency = Timer.builder("gradwatch.pipeline.latency")
                .description("from the trainer's event time to exposure here")
                .serviceLevelObjectives(Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(200),
                        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5),
                        Duration.ofSeconds(10), Duration.ofSeconds(30))
                .register(registry);
        Gauge.builder("gradwatch.last.record.timestamp", lastRecord, Value::get).baseUnit("seconds")
                .description("when the last record was applied (Unix seconds)").register(registry);
    }

    /** Exposes how many runs {@code state} tracks. */
    public void bindRunsTracked(FleetState state) {
        Gauge.builder("gradwatch.runs.tracked", state, FleetState::size).description("runs alert-service tracks")
                .register(registry);
    }

    @Override
    public void progress(FleetState.RunView run) {
        touch();
        FleetState.Progress p = run.progress();
        String id = run.runId();
        gauge(id, "gradwatch.training.step", Tags.of("run", id), null, "latest optimizer step").set(p.step());
        gauge(id, "gradwatch.training.loss", Tags.of("run", id), null, "training loss").set(p.loss());
        gauge(id, "gradwatch.training.accuracy.ratio", Tags.of("run", id), null, "batch accuracy").set(p.accuracy());
        gauge(id, "gradwatch.gradient.global.norm", Tags.of("run", id), null, "global gradient norm before clipping")
                .set(p.gradNorm());
        gauge(id, "gradwatch.trainer.dropped.records", Tags.of("run", id), null,
                "records the trainer could not publish so far").set(p.droppedRecords());
        gauge(id, "gradwatch.gradient.global.norm.clipped", Tags.of("run", id), null,
                "global gradient norm after clipping (equal to the norm before when not clipped)")
                .set(p.gradNormClipped());
        gauge(id, "gradwatch.training.learning.rate", Tags.of("run", id), null, "the optimizer's learning rate")
                .set(p.learningRate());
        int exposed = 0;
        for (Map.Entry<String, Double> norm : run.paramGradNorms().entrySet()) {
            if (exposed++ == MAX_PARAMETER_SERIES) {
                break; // in name order: a model with hundreds of parameter tensors shows its first ones
            }
            gauge(id, "gradwatch.parameter.gradient.norm", Tags.of("run", id, "parameter", norm.getKey()), null,
                    "L2 norm of one parameter's gradient, latest step").set(norm.getValue());
        }
    }

    @Override
    public void health(FleetState.RunView run, LayerHealth health) {
        touch();
        String id = run.runId();
        Tags layer = Tags.of("run", id, "layer", Integer.toString(health.getLayer()));
        int seqLen = health.getTimestepNormsCount();
        for (int p = 0; p < positions && seqLen > 0; p++) {
            int t = (int) Math.round(p * (seqLen - 1) / (double) (positions - 1));
            gauge(id, "gradwatch.gradient.norm", layer.and("position", Integer.toString(p)), null,
                    "||dL/dh_t|| at position p of " + positions + " evenly spaced timesteps (0 = first, last = T-1)")
                    .set(health.getTimestepNorms(t));
        }
        gauge(id, "gradwatch.gradient.decay.ratio", layer, null, "g_0 / g_{T-1}").set(health.getDecayRatio());
        gauge(id, "gradwatch.gradient.horizon", layer, "steps", "timesteps back the gradient still reaches 1%")
                .set(health.getHorizon());
        if (health.hasDeadFraction()) {
            gauge(id, "gradwatch.dead.relu.ratio", layer, null, "share of dead ReLU units").set(health.getDeadFraction());
        }
        if (health.hasSaturationFraction()) {
            gauge(id, "gradwatch.saturation.ratio", layer, null, "share of saturated activations")
                    .set(health.getSaturationFraction());
        }
        Counter nonFinite = Counter.builder("gradwatch.nonfinite.values").tags(layer)
                .description("NaN/Inf values seen in gradients").register(registry);
        remember(id, "gradwatch.nonfinite.values" + layer, nonFinite);
        nonFinite.increment(health.getNonFiniteCount());
        if (health.getEventTimeMs() > 0) {
            latency.record(Duration.ofMillis(Math.max(0, clock.getAsLong() - health.getEventTimeMs())));
        }
    }

    @Override
    public void alertEvent(AlertEvent event) {
        touch();
        Counter.builder("gradwatch.alerts").description("alert events by type and state")
                .tags("type", event.getType().name().toLowerCase(Locale.ROOT),
                        "state", event.getState().name().toLowerCase(Locale.ROOT))
                .register(registry).increment();
    }

    @Override
    public void alertChanged(FleetState.RunView run, AlertEvent event, boolean firing) {
        Tags tags = Tags.of("run", run.runId(), "layer", Integer.toString(event.getLayer()),
                "type", event.getType().name().toLowerCase(Locale.ROOT),
                "severity", event.getSeverity().name().toLowerCase(Locale.ROOT));
        gauge(run.runId(), "gradwatch.alert.active", tags, null, "1 while the alert fires").set(firing ? 1 : 0);
    }

    @Override
    public void forgotten(FleetState.RunView run) {
        Map<String, Meter> gone = meters.remove(run.runId());
        if (gone != null) {
            gone.forEach((key, meter) -> {
                registry.remove(meter);
                values.remove(key);
            });
        }
    }

    @Override
    public void dropped() {
        dropped.increment();
    }

    private void touch() {
        lastRecord.set(clock.getAsLong() / 1000.0);
    }

    private Value gauge(String runId, String name, Tags tags, String unit, String description) {
        String key = name + tags;
        Value value = values.get(key);
        if (value == null) {
            value = new Value();
            Gauge gauge = Gauge.builder(name, value, Value::get).tags(tags).baseUnit(unit).description(description)
                    .register(registry);
            values.put(key, value);
            remember(runId, key, gauge);
        }
        return value;
    }

    private void remember(String runId, String key, Meter meter) {
        meters.computeIfAbsent(runId, id -> new HashMap<>()).putIfAbsent(key, meter);
    }

    /** A mutable gauge value. */
    static final class Value {
        private volatile double value = Double.NaN;

        double get() {
            return value;
        }

        void set(double newValue) {
            value = newValue;
        }
    }
}
