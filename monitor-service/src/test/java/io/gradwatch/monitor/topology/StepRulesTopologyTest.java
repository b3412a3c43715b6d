package io.gradwatch.monitor.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.RunMetadata;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The step-level rules, explosions before NaN, and the closed loop's ladder, through the real topology. */
class StepRulesTopologyTest {
    private static final int T = 5;
    private MonitorDriver monitor;
    @TempDir
    Path stateDir;

    private void start(Map<String, String> overrides) {
        monitor = new MonitorDriver(stateDir, overrides);
    }

    @AfterEach
    void close() {
        if (monitor != null) {
            monitor.close();
            monitor = null;
        }
    }

    @Test
    void aRunThatSendsOnlyStepRecordsGetsEveryStepLevelRule() {
        start(Map.of("monitor.stalled.after", "10m"));
        for (int s = 0; s < 6; s++) {
            monitor.steps.pipeInput("run-nan", record("run-nan", s, 2.0 - 0.1 * s, 1.0));
            monitor.steps.pipeInput("run-spike", record("run-spike", s, 2.0 - 0.1 * s, 1.0));
            monitor.steps.pipeInput("run-ratio", record("run-ratio", s, 2.0 - 0.1 * s, 1.0).toBuilder()
                    .putParamGradNorms("weight_hh_l0", 2e3).putParamNorms("weight_hh_l0", 1).build());
        }
        for (int s = 0; s < 22; s++) {
            monitor.steps.pipeInput("run-flat", record("run-flat", s, 0.7 + 0.01 * (s % 2), 1.0));
        }
        monitor.steps.pipeInput("run-nan", record("run-nan", 6, Double.NaN, 1.0));
        monitor.steps.pipeInput("run-spike", record("run-spike", 6, 1.5, 3e4));
        List<AlertEvent> events = monitor.alerts.readValuesToList();
        assertThat(events).extracting(e -> e.getRunId() + ":" + e.getType() + ":" + e.getState() + "@" + e.getStep()
                + "/" + e.getLayer()).containsExactlyInAnyOrder(
                "run-ratio:UPDATE_RATIO:FIRING@2/-1",
                "run-flat:LOSS_NOT_DECREASING:FIRING@21/-1",
                "run-nan:NON_FINITE:FIRING@6/-1",
                "run-spike:EXPLODING:FIRING@6/-1");
        AlertEvent ratio = events.stream().filter(e -> e.getType() == AlertType.UPDATE_RATIO).findFirst().orElseThrow();
        assertThat(ratio.getValue()).isCloseTo(20, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(ratio.getMessage()).contains("weight_hh_l0");

        monitor.driver.advanceWallClockTime(Duration.ofMinutes(11));
        assertThat(monitor.alerts.readValuesToList()).extracting(e -> e.getRunId() + ":" + e.getType() + ":" + e.getState())
                .containsExactlyInAnyOrder("run-nan:STALLED:FIRING", "run-spike:STALLED:FIRING",
                        "run-ratio:STALLED:FIRING", "run-flat:STALLED:FIRING");
        monitor.driver.advanceWallClockTime(Duration.ofMinutes(1));
        assertThat(monitor.alerts.isEmpty()).as("a stall pages once").isTrue();
        monitor.steps.pipeInput("run-flat", record("run-flat", 22, 0.5, 1.0));
        AlertEvent resumed = monitor.alerts.readValue();
        assertThat(resumed.getType()).isEqualTo(AlertType.STALLED);
        assertThat(resumed.getState()).isEqualTo(AlertState.RESOLVED);
    }

    @Test
    void aRunThatGrewFirstPagesExplodingBeforeNonFinite() {
        start(Map.of());
        publish("run-g", 0, geometric(2.0)); // growth 16 > 4.16: flagged, not severe, debouncing
        assertThat(monitor.alerts.isEmpty()).isTrue();
        double[] nan = geometric(2.0);
        nan[1] = Double.NaN;
        publish("run-g", 1, nan);
        assertThat(monitor.alerts.readValuesToList()).extracting(e -> e.getType() + ":" + e.getState() + "@" + e.getStep())
                .containsExactly("EXPLODING:FIRING@1", "NON_FINITE:FIRING@1");

        // The same when the run's NaN loss arrives before its tensors.
        publish("run-h", 0, geometric(2.0));
        monitor.steps.pipeInput("run-h", record("run-h", 1, Double.NaN, Double.NaN));
        assertThat(monitor.alerts.readValuesToList()).extracting(e -> e.getType() + ":" + e.getState() + "/" + e.getLayer())
                .containsExactly("EXPLODING:FIRING/0", "NON_FINITE:FIRING/-1");
    }

    @Test
    void aSevereExplosionPagesOnItsFirstStep() {
        start(Map.of());
        publish("run-s", 0, new double[] {2e5, 1e4, 10, 1, 1});
        AlertEvent first = monitor.alerts.readValue();
        assertThat(first.getType()).isEqualTo(AlertType.EXPLODING);
        assertThat(first.getState()).isEqualTo(AlertState.FIRING);
        assertThat(first.getStep()).isZero();
    }

    @Test
    void theClosedLoopEscalatesFromClipToLearningRateToStopWhenNothingHelps() {
        List<AlertEvent> events = explodeWithoutRecovery("sgd");
        assertThat(events).extracting(e -> e.getType() + ":" + e.getState() + "@" + e.getStep()).containsExactly(
                "EXPLODING:FIRING@6", "EXPLODING:ACTION_TAKEN@6", "EXPLODING:ACTION_TAKEN@16",
                "LOSS_NOT_DECREASING:FIRING@21", "EXPLODING:ACTION_TAKEN@26");
        assertThat(monitor.control.readValuesToList()).extracting(c -> c.getCommandCase().name())
                .containsExactly("SET_CLIP_NORM", "SCALE_LEARNING_RATE", "STOP");
        assertThat(events.get(4).getAction().hasStop()).isTrue();
    }

    @Test
    void anAdamRunsLoopStartsAtTheLearningRateSinceAClipWouldNotShrinkItsSteps() {
        List<AlertEvent> events = explodeWithoutRecovery("adam");
        assertThat(events).extracting(e -> e.getType() + ":" + e.getState() + "@" + e.getStep()).containsExactly(
                "EXPLODING:FIRING@6", "EXPLODING:ACTION_TAKEN@6", "EXPLODING:ACTION_TAKEN@16",
                "LOSS_NOT_DECREASING:FIRING@21");
        assertThat(events.get(0).getRemedy()).doesNotContain("use RMSprop or Adam");
        assertThat(events.get(1).getMessage()).contains("adam normalises the step");
        assertThat(monitor.control.readValuesToList()).extracting(c -> c.getCommandCase().name())
                .containsExactly("SCALE_LEARNING_RATE", "STOP");
    }

    /** A run whose global norm spikes at step 6 and whose loss stays worse than before, whatever is done. */
    private List<AlertEvent> explodeWithoutRecovery(String optimizer) {
        start(Map.of("monitor.closed-loop", "true"));
        monitor.steps.pipeInput("run-e", record("run-e", 0, 1.0, 1.0).toBuilder().setMetadata(RunMetadata.newBuilder()
                .setOptimizer(optimizer).setCell(CellType.RNN)).build());
        for (int s = 1; s < 6; s++) {
            monitor.steps.pipeInput("run-e", record("run-e", s, 1.0, 1.0));
        }
        monitor.steps.pipeInput("run-e", record("run-e", 6, 1.2, 3e4));
        for (int s = 7; s < 40; s++) {
            monitor.steps.pipeInput("run-e", record("run-e", s, 5.0, 1.0)); // clipped, yet the loss is worse than before
        }
        return monitor.alerts.readValuesToList();
    }

    @Test
    void anExplosionResolvesOnceTheActionsEffectIsHealthyForTheResolveWindow() {
        start(Map.of("monitor.closed-loop", "true"));
        for (int s = 0; s < 6; s++) {
            monitor.steps.pipeInput("run-r", record("run-r", s, 1.0 - 0.01 * s, 1.0));
            publish("run-r", s, geometric(0.9));
        }
        publish("run-r", 6, new double[] {2e5, 1e4, 10, 1, 1});
        monitor.steps.pipeInput("run-r", record("run-r", 6, 1.3, 50));
        for (int s = 7; s < 12; s++) {
            publish("run-r", s, new double[] {2e5, 1e4, 10, 1, 1}); // dL/dh_t is measured before clipping
            monitor.steps.pipeInput("run-r", record("run-r", s, 0.9, 50).toBuilder().setGradNormClipped(1.0).build());
        }
        assertThat(monitor.alerts.readValuesToList()).extracting(e -> e.getType() + ":" + e.getState() + "@" + e.getStep()
                + "/" + e.getLayer()).containsExactly("EXPLODING:FIRING@6/0", "EXPLODING:ACTION_TAKEN@6/0",
                "EXPLODING:RESOLVED@11/0");
        assertThat(monitor.control.readValuesToList()).extracting(c -> c.getCommandCase().name())
                .containsExactly("SET_CLIP_NORM");
        for (int s = 12; s < 20; s++) {
            publish("run-r", s, new double[] {2e5, 1e4, 10, 1, 1});
        }
        assertThat(monitor.alerts.isEmpty()).as("the resolved explosion does not page again from dL/dh_t").isTrue();
    }

    private static StepRecord record(String run, long step, double loss, double gradNorm) {
        return StepRecord.newBuilder().setRunId(run).setStep(step).setLoss(loss).setGradNorm(gradNorm)
                .setGradNormClipped(gradNorm).setLearningRate(0.01).build();
    }

    private void publish(String run, long step, double[] norms) {
        for (int t = 0; t < norms.length; t++) {
            float[] values = new float[8];
            Arrays.fill(values, (float) (norms[t] / Math.sqrt(8)));
            monitor.gradients.pipeInput(run, TensorRecord.newBuilder().setRunId(run).setStep(step).setLayer(0).setTimestep(t)
                    .setSeqLen(T).setKind(TensorKind.HIDDEN_GRAD).addShape(2).addShape(4).setDtype(DType.F32)
                    .setCell(CellType.RNN).setActivation(ActivationFunction.TANH)
                    .setData(TensorRecords.encode(values, 0, values.length, DType.F32)).setEventTimeMs(1).build());
        }
    }

    private static double[] geometric(double factor) {
        double[] norms = new double[T];
        for (int t = 0; t < T; t++) {
            norms[t] = Math.pow(factor, T - 1 - t);
        }
        return norms;
    }
}
