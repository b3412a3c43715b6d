package io.gradwatch.alerts.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.alerts.metrics.FleetMetrics;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.Severity;
import io.gradwatch.protocol.v1.StepRecord;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class FleetStateTest {
    private final AtomicLong now = new AtomicLong(1_000_000);
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final FleetMetrics metrics = new FleetMetrics(registry, 4, now::get);

    @Test
    void exposesPerTimestepNormsAtBoundedPositionsAndTheLayerSignals() {
        FleetState state = state(10);
        state.apply(health("run-a", 7, 0, 10));
        String scrape = registry.scrape();
        // 10 timesteps, 4 positions: t = 0, 3, 6, 9.
        assertThat(scrape).contains("gradwatch_gradient_norm{layer=\"0\",position=\"0\",run=\"run-a\"} 0.0")
                .contains("gradwatch_gradient_norm{layer=\"0\",position=\"1\",run=\"run-a\"} 3.0")
                .contains("gradwatch_gradient_norm{layer=\"0\",position=\"3\",run=\"run-a\"} 9.0")
                .doesNotContain("position=\"4\"")
                .contains("gradwatch_gradient_decay_ratio{layer=\"0\",run=\"run-a\"} 0.001")
                .contains("gradwatch_gradient_horizon_steps{layer=\"0\",run=\"run-a\"} 4.0")
                .contains("gradwatch_dead_relu_ratio{layer=\"0\",run=\"run-a\"} 0.25")
                .contains("gradwatch_pipeline_latency_seconds_bucket");
    }

    @Test
    void activeAlertsFollowFiringAndResolved() {
        FleetState state = state(10);
        state.apply(alert("run-a", AlertState.FIRING));
        assertThat(state.activeAlerts()).hasSize(1);
        assertThat(registry.scrape()).contains(
                "gradwatch_alert_active{layer=\"0\",run=\"run-a\",severity=\"warning\",type=\"vanishing\"} 1.0")
                .contains("gradwatch_alerts_total{state=\"firing\",type=\"vanishing\"} 1.0");
        state.apply(alert("run-a", AlertState.RESOLVED));
        assertThat(state.activeAlerts()).isEmpty();
        assertThat(state.history(10)).extracting(AlertEvent::getState)
                .containsExactly(AlertState.RESOLVED, AlertState.FIRING);
        assertThat(registry.scrape()).contains(
                "gradwatch_alert_active{layer=\"0\",run=\"run-a\",severity=\"warning\",type=\"vanishing\"} 0.0");
    }

    @Test
    void aSilentRunIsForgottenWithAllItsSeries() {
        FleetState state = state(10);
        state.apply(StepRecord.newBuilder().setRunId("run-a").setStep(3).setLoss(0.7).build());
        state.apply(health("run-a", 3, 0, 5));
        state.apply(alert("run-a", AlertState.FIRING));
        assertThat(registry.scrape()).contains("run=\"run-a\"");
        now.addAndGet(60_001);
        state.apply(StepRecord.newBuilder().setRunId("run-b").setStep(1).build());
        assertThat(state.expire()).containsExactly("run-a");
        assertThat(registry.scrape()).doesNotContain("run=\"run-a\"").contains("run=\"run-b\"")
                .contains("gradwatch_runs_tracked 1.0");
        // It comes back as a new run, with fresh series.
        state.apply(health("run-a", 4, 0, 5));
        assertThat(registry.scrape()).contains("gradwatch_gradient_decay_ratio{layer=\"0\",run=\"run-a\"}");
    }

    @Test
    void aRunsMetersAreRegisteredOnItsFirstRecordsAndLaterRecordsOnlySetValues() {
        FleetState state = state(10);
        AtomicLong added = new AtomicLong();
        registry.config().onMeterAdded(meter -> added.incrementAndGet());
        state.apply(StepRecord.newBuilder().setRunId("run-a").setStep(0).setLoss(1).putParamGradNorms("w", 1).build());
        state.apply(health("run-a", 0, 0, 10));
        state.apply(health("run-a", 0, 1, 10));
        long perRunAndLayers = added.get();
        for (int step = 1; step <= 100; step++) {
            state.apply(StepRecord.newBuilder().setRunId("run-a").setStep(step).setLoss(1.0 / step)
                    .putParamGradNorms("w", step).build());
            state.apply(health("run-a", step, 0, 10));
            state.apply(health("run-a", step, 1, 10));
        }
        assertThat(added.get()).as("meters added after the first step").isEqualTo(perRunAndLayers);
        assertThat(registry.scrape()).contains("gradwatch_training_step{run=\"run-a\"} 100.0")
                .contains("gradwatch_parameter_gradient_norm{parameter=\"w\",run=\"run-a\"} 100.0");
    }

    @Test
    void runsBeyondTheCapAreDroppedAndCounted() {
        FleetState state = state(3);
        IntStream.range(0, 5).forEach(i -> state.apply(StepRecord.newBuilder().setRunId("run-" + i).build()));
        assertThat(state.size()).isEqualTo(3);
        assertThat(state.dropped()).isEqualTo(2);
        assertThat(registry.scrape()).contains("gradwatch_runs_dropped_total 2.0");
    }

    @Test
    void stepRecordsExposeNormsBeforeAndAfterClippingLearningRateAndBoundedParameterNorms() {
        FleetState state = state(10);
        StepRecord.Builder step = StepRecord.newBuilder().setRunId("run-a").setStep(5).setGradNorm(4).setGradNormClipped(1)
                .setLearningRate(5e-4);
        for (int p = 0; p < 40; p++) {
            step.putParamGradNorms(String.format("layer%02d.weight", p), p);
        }
        state.apply(step.build());
        String scrape = registry.scrape();
        assertThat(scrape).contains("gradwatch_gradient_global_norm{run=\"run-a\"} 4.0")
                .contains("gradwatch_gradient_global_norm_clipped{run=\"run-a\"} 1.0")
                .contains("gradwatch_training_learning_rate{run=\"run-a\"} 5.0E-4")
                .contains("gradwatch_parameter_gradient_norm{parameter=\"layer31.weight\",run=\"run-a\"} 31.0")
                .doesNotContain("parameter=\"layer32.weight\"");
        now.addAndGet(60_001);
        state.expire();
        assertThat(registry.scrape()).doesNotContain("gradwatch_parameter_gradient_norm{");
    }

    @Test
    void theGradientFlowKeepsTheLastStepsAtBoundedTimestepsAsLog10Norms() {
        FleetState state = new FleetState(10, 60_000, 100, new FleetState.History(3, 4, 5, 10), now::get, metrics);
        for (int step = 0; step < 5; step++) {
            state.apply(health("run-a", step, 0, 10));
        }
        RunSnapshot.Flow flow = state.snapshot("run-a").orElseThrow().layers().get(0).flow();
        assertThat(flow.steps()).containsExactly(2, 3, 4);
        assertThat(flow.timesteps()).containsExactly(0, 3, 6, 9);
        // t = 0 has norm 0: no logarithm, NaN; t = 9 has norm 9.
        assertThat(flow.log10Norms()[0]).isNaN();
        assertThat(flow.log10Norms()[3]).isCloseTo((float) Math.log10(9), org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(flow.log10Norms()).hasSize(3 * 4);
    }

    @Test
    void aSnapshotDoesNotChangeWhenTheStateMovesOn() {
        FleetState state = state(10);
        state.apply(StepRecord.newBuilder().setRunId("run-a").setStep(1).setLoss(0.7).setGradNorm(3)
                .setGradNormClipped(1).setLearningRate(1e-3).putParamGradNorms("weight_hh_l0", 0.5).build());
        state.apply(health("run-a", 1, 0, 5));
        RunSnapshot before = state.snapshot("run-a").orElseThrow();
        state.apply(StepRecord.newBuilder().setRunId("run-a").setStep(2).setLoss(0.6).putParamGradNorms("weight_hh_l0", 0.4)
                .build());
        state.apply(health("run-a", 2, 0, 5));
        state.apply(alert("run-a", AlertState.FIRING));
        assertThat(before.steps().steps()).containsExactly(1);
        assertThat(before.steps().gradNormClipped()).containsExactly(1.0);
        assertThat(before.steps().learningRate()).containsExactly(1e-3);
        assertThat(before.paramGradNorms()).containsEntry("weight_hh_l0", 0.5);
        assertThat(before.layers().get(0).flow().steps()).containsExactly(1);
        assertThat(before.activeAlerts()).isEmpty();
        assertThat(state.snapshot("run-a").orElseThrow().steps().steps()).containsExactly(1, 2);
    }

    @Test
    void theTimelineShowsTransitionsTheActionSentAndTheCommandTheTrainerApplied() {
        FleetState state = state(10);
        state.apply(StepRecord.newBuilder().setRunId("run-a").setStep(0)
                .setMetadata(io.gradwatch.protocol.v1.RunMetadata.newBuilder().putLabels("team", "lm")).build());
        state.apply(alert("run-a", AlertState.FIRING));
        state.apply(alert("run-a", AlertState.ACTION_TAKEN).toBuilder().setStep(12)
                .setAction(io.gradwatch.protocol.v1.ControlCommand.newBuilder().setCommandId("cmd-7")
                        .setSetClipNorm(io.gradwatch.protocol.v1.ControlCommand.SetClipNorm.newBuilder().setMaxNorm(1.0))
                        .setReason("exploding")).build());
        state.apply(StepRecord.newBuilder().setRunId("run-a").setStep(13).addAppliedCommands("cmd-7").build());

        RunSnapshot run = state.snapshot("run-a").orElseThrow();
        assertThat(run.labels()).containsEntry("team", "lm");
        assertThat(run.timeline()).extracting(RunSnapshot.TimelineEntry::kind)
                .containsExactly("FIRING", "ACTION_TAKEN", "APPLIED");
        assertThat(run.timeline().get(1).detail()).isEqualTo("monitor sent set clip norm 1.0: exploding");
        assertThat(run.timeline().get(2).step()).isEqualTo(13);
        assertThat(run.timeline().get(2).detail()).isEqualTo("trainer applied set clip norm 1.0");
        assertThat(state.summaries()).singleElement().satisfies(s -> assertThat(s.labels()).containsEntry("team", "lm"));
    }

    @Test
    void theTimelineIsBounded() {
        FleetState state = new FleetState(10, 60_000, 100, new FleetState.History(3, 4, 5, 10), now::get, metrics);
        for (int i = 0; i < 25; i++) {
            state.apply(StepRecord.newBuilder().setRunId("run-a").setStep(i).addAppliedCommands("c" + i).build());
        }
        RunSnapshot run = state.snapshot("run-a").orElseThrow();
        assertThat(run.timeline()).hasSize(10).first().extracting(RunSnapshot.TimelineEntry::commandId).isEqualTo("c15");
        assertThat(run.steps().steps()).containsExactly(20, 21, 22, 23, 24);
    }

    private FleetState state(int maxRuns) {
        FleetState state = new FleetState(maxRuns, 60_000, 100, now::get, metrics);
        metrics.bindRunsTracked(state);
        return state;
    }

    private LayerHealth health(String run, long step, int layer, int seqLen) {
        LayerHealth.Builder health = LayerHealth.newBuilder().setRunId(run).setStep(step).setLayer(layer)
                .setSeqLen(seqLen).setDecayRatio(0.001).setHorizon(4).setDeadFraction(0.25)
                .setEventTimeMs(now.get() - 150);
        for (int t = 0; t < seqLen; t++) {
            health.addTimestepNorms(t);
        }
        return health.build();
    }

    private AlertEvent alert(String run, AlertState state) {
        return AlertEvent.newBuilder().setRunId(run).setLayer(0).setType(AlertType.VANISHING).setState(state)
                .setSeverity(Severity.WARNING).setEventTimeMs(now.get()).build();
    }
}
