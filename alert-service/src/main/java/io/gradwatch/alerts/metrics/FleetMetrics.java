package io.gradwatch.alerts.metrics;

import io.gradwatch.alerts.state.FleetListener;
import io.gradwatch.alerts.state.FleetState;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The Prometheus view of the fleet. Per run and layer: gradient norms at {@code positions} evenly
 * spaced timesteps, decay ratio, horizon, dead-ReLU and saturation ratios, non-finite values,
 * active alerts; per run: step, loss, accuracy, global gradient norm before and after clipping,
 * learning rate, and the gradient norm of its first {@value #MAX_PARAMETER_SERIES} parameters. Meters of a run are removed
 * when the run is forgotten, so series do not outlive their run (bounded cardinality).
 *
 * <p>Each run's and each layer's meters are registered once, on its first record, and held in
 * {@link RunMeters} / {@link LayerMeters}: a record then only sets values, without building tags,
 * string keys or registry lookups (the consumer thread applies every record of the fleet).
 */
public final class FleetMetrics implements FleetListener {
    /** Per-parameter norm series per run at most: a bound on cardinality (runs x parameters). */
    public static final int MAX_PARAMETER_SERIES = 32;
    private final MeterRegistry registry;
    private final int positions;
    private final LongSupplier clock;
    private final Map<String, RunMeters> runs = new HashMap<>();
    private final Map<AlertType, Map<AlertState, Counter>> alertCounters = new EnumMap<>(AlertType.class);
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
        RunMeters meters = meters(run.runId());
        meters.step.set(p.step());
        meters.loss.set(p.loss());
        meters.accuracy.set(p.accuracy());
        meters.gradNorm.set(p.gradNorm());
        meters.droppedRecords.set(p.droppedRecords());
        meters.gradNormClipped.set(p.gradNormClipped());
        meters.learningRate.set(p.learningRate());
        int exposed = 0;
        for (Map.Entry<String, Double> norm : run.paramGradNorms().entrySet()) {
            if (exposed++ == MAX_PARAMETER_SERIES) {
                break; // in name order: a model with hundreds of parameter tensors shows its first ones
            }
            meters.parameter(norm.getKey()).set(norm.getValue());
        }
    }

    @Override
    public void health(FleetState.RunView run, LayerHealth health) {
        touch();
        LayerMeters layer = meters(run.runId()).layer(health.getLayer());
        int seqLen = health.getTimestepNormsCount();
        if (seqLen > 0) {
            Value[] norms = layer.positionNorms();
            for (int p = 0; p < norms.length; p++) {
                norms[p].set(health.getTimestepNorms((int) Math.round(p * (seqLen - 1) / (double) (positions - 1))));
            }
        }
        layer.decayRatio.set(health.getDecayRatio());
        layer.horizon.set(health.getHorizon());
        if (health.hasDeadFraction()) {
            layer.deadFraction().set(health.getDeadFraction());
        }
        if (health.hasSaturationFraction()) {
            layer.saturationFraction().set(health.getSaturationFraction());
        }
        layer.nonFinite.increment(health.getNonFiniteCount());
        if (health.getEventTimeMs() > 0) {
            latency.record(Duration.ofMillis(Math.max(0, clock.getAsLong() - health.getEventTimeMs())));
        }
    }

    @Override
    public void alertEvent(AlertEvent event) {
        touch();
        alertCounters.computeIfAbsent(event.getType(), type -> new EnumMap<>(AlertState.class))
                .computeIfAbsent(event.getState(), state -> Counter.builder("gradwatch.alerts")
                        .description("alert events by type and state").tags("type", lower(event.getType()),
                                "state", lower(state)).register(registry))
                .increment();
    }

    @Override
    public void alertChanged(FleetState.RunView run, AlertEvent event, boolean firing) {
        meters(run.runId()).alertActive(event).set(firing ? 1 : 0);
    }

    @Override
    public void forgotten(FleetState.RunView run) {
        RunMeters gone = runs.remove(run.runId());
        if (gone != null) {
            gone.registered.forEach(registry::remove);
        }
    }

    @Override
    public void dropped() {
        dropped.increment();
    }

    private void touch() {
        lastRecord.set(clock.getAsLong() / 1000.0);
    }

    private RunMeters meters(String runId) {
        return runs.computeIfAbsent(runId, RunMeters::new);
    }

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    /** The meters of one run, registered on its first record; {@code registered} is what forgetting removes. */
    private final class RunMeters {
        private final Tags tags;
        private final List<Meter> registered = new ArrayList<>();
        private final Value step;
        private final Value loss;
        private final Value accuracy;
        private final Value gradNorm;
        private final Value droppedRecords;
        private final Value gradNormClipped;
        private final Value learningRate;
        private final Map<String, Value> parameters = new HashMap<>();
        private final Map<Integer, LayerMeters> layers = new HashMap<>();
        private final Map<String, Value> alertsActive = new HashMap<>();

        RunMeters(String runId) {
            tags = Tags.of("run", runId);
            step = gauge("gradwatch.training.step", tags, null, "latest optimizer step");
            loss = gauge("gradwatch.training.loss", tags, null, "training loss");
            accuracy = gauge("gradwatch.training.accuracy.ratio", tags, null, "batch accuracy");
            gradNorm = gauge("gradwatch.gradient.global.norm", tags, null, "global gradient norm before clipping");
            droppedRecords = gauge("gradwatch.trainer.dropped.records", tags, null,
                    "records the trainer could not publish so far");
            gradNormClipped = gauge("gradwatch.gradient.global.norm.clipped", tags, null,
                    "global gradient norm after clipping (equal to the norm before when not clipped)");
            learningRate = gauge("gradwatch.training.learning.rate", tags, null, "the optimizer's learning rate");
        }

        Value parameter(String name) {
            return parameters.computeIfAbsent(name, n -> gauge("gradwatch.parameter.gradient.norm",
                    tags.and("parameter", n), null, "L2 norm of one parameter's gradient, latest step"));
        }

        LayerMeters layer(int layer) {
            return layers.computeIfAbsent(layer, l -> new LayerMeters(this, tags.and("layer", Integer.toString(l))));
        }

        /** Keyed by layer, type and severity: alert changes are rare, so a string key is fine here. */
        Value alertActive(AlertEvent event) {
            String key = event.getLayer() + "/" + event.getType() + "/" + event.getSeverity();
            return alertsActive.computeIfAbsent(key, k -> gauge("gradwatch.alert.active",
                    tags.and("layer", Integer.toString(event.getLayer()), "type", lower(event.getType()),
                            "severity", lower(event.getSeverity())), null, "1 while the alert fires"));
        }

        Value gauge(String name, Tags gaugeTags, String unit, String description) {
            Value value = new Value();
            registered.add(Gauge.builder(name, value, Value::get).tags(gaugeTags).baseUnit(unit)
                    .description(description).register(registry));
            return value;
        }
    }

    /** The meters of one (run, layer); the optional ones are registered when the layer first reports them. */
    private final class LayerMeters {
        private final RunMeters run;
        private final Tags tags;
        private final Value decayRatio;
        private final Value horizon;
        private final Counter nonFinite;
        private Value[] positionNorms;
        private Value deadFraction;
        private Value saturationFraction;

        LayerMeters(RunMeters run, Tags tags) {
            this.run = run;
            this.tags = tags;
            decayRatio = run.gauge("gradwatch.gradient.decay.ratio", tags, null, "g_0 / g_{T-1}");
            horizon = run.gauge("gradwatch.gradient.horizon", tags, "steps", "timesteps back the gradient still reaches 1%");
            nonFinite = Counter.builder("gradwatch.nonfinite.values").tags(tags)
                    .description("NaN/Inf values seen in gradients").register(registry);
            run.registered.add(nonFinite);
        }

        Value[] positionNorms() {
            if (positionNorms == null) {
                positionNorms = new Value[positions];
                for (int p = 0; p < positions; p++) {
                    positionNorms[p] = run.gauge("gradwatch.gradient.norm", tags.and("position", Integer.toString(p)),
                            null, "||dL/dh_t|| at position p of " + positions
                                    + " evenly spaced timesteps (0 = first, last = T-1)");
                }
            }
            return positionNorms;
        }

        Value deadFraction() {
            if (deadFraction == null) {
                deadFraction = run.gauge("gradwatch.dead.relu.ratio", tags, null, "share of dead ReLU units");
            }
            return deadFraction;
        }

        Value saturationFraction() {
            if (saturationFraction == null) {
                saturationFraction = run.gauge("gradwatch.saturation.ratio", tags, null,
                        "share of saturated activations");
            }
            return saturationFraction;
        }
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
