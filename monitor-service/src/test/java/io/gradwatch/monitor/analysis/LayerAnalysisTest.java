package io.gradwatch.monitor.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.monitor.topology.StateSerdes;
import io.gradwatch.protocol.StateSerde;
import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.state.v1.StepHeader;
import io.gradwatch.protocol.state.v1.TimestepEntry;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The lecture notes' worked examples as inputs, with the flags they must raise. */
class LayerAnalysisTest {
    private static final Thresholds TH = Thresholds.DEFAULTS;

    @Test
    void sigmoidChainAcrossDepthIsVanishing() {
        // MLP, timestep = depth; the gradient nearest the loss is 1, each layer back multiplies by sigma'.
        double[] norms = {0.25 * 0.24 * 0.23, 0.25 * 0.24, 0.25, 1.0};
        LayerAnalysis.Result result = analyze(CellType.MLP, ActivationFunction.SIGMOID, norms);
        assertThat(result.health().getDecayRatio()).isCloseTo(0.0138, within(1e-4));
        assertThat(types(result)).containsExactly(AlertType.VANISHING);
    }

    @Test
    void halfPerTimestepOverTenStepsIsVanishing() {
        LayerAnalysis.Result result = analyze(CellType.RNN, ActivationFunction.TANH, geometric(0.5, 11));
        assertThat(result.health().getDecayRatio()).isCloseTo(0.00097, within(1e-5));
        assertThat(types(result)).containsExactly(AlertType.VANISHING);
        assertThat(result.health().getHorizon()).isEqualTo(6); // 0.5^6 = 0.016 >= 0.01 > 0.5^7
    }

    @Test
    void oneAndAHalfPerTimestepOverTenStepsIsExploding() {
        LayerAnalysis.Result result = analyze(CellType.RNN, ActivationFunction.TANH, geometric(1.5, 11));
        assertThat(result.health().getDecayRatio()).isCloseTo(57.665, within(1e-3));
        assertThat(types(result)).containsExactly(AlertType.EXPLODING);
        assertThat(result.flags().get(0).reason()).contains("growth ratio");
    }

    @Test
    void reluChainWithWeight3IsExplodingAndAlive() {
        // Three layers, w = 3, x = 1: activations 3, 9, 27; gradients back from the loss 1, 3, 9.
        StepState state = state(CellType.MLP, ActivationFunction.RELU, new double[] {9, 3, 1});
        double[][] activations = {{3}, {9}, {27}};
        for (int t = 0; t < 3; t++) {
            add(state, record(TensorKind.ACTIVATION, t, 3, ActivationFunction.RELU, activations[t]));
        }
        LayerAnalysis.Result result = LayerAnalysis.analyze("r", 0, 0, state, state.isComplete(), TH, new Baseline(20));
        assertThat(result.health().getDecayRatio()).isEqualTo(9.0);
        assertThat(result.health().getDeadFraction()).isZero();
        assertThat(types(result)).containsExactly(AlertType.EXPLODING);
    }

    @Test
    void steadyGradientsRaiseNothing() {
        assertThat(types(analyze(CellType.LSTM, ActivationFunction.TANH, geometric(0.98, 50)))).isEmpty();
    }

    @Test
    void reluUnitsZeroForEverySampleAndTimestepAreDead() {
        StepState state = state(CellType.RNN, ActivationFunction.RELU, new double[] {1, 1});
        // Four units, batch 2: units 1, 2 and 3 never fire.
        add(state, record(TensorKind.ACTIVATION, 0, 2, ActivationFunction.RELU, new double[] {0.5, 0, 0, 0, 0, 0, 0, 0}));
        add(state, record(TensorKind.ACTIVATION, 1, 2, ActivationFunction.RELU, new double[] {0, 0, 0, 0, 1, 0, 0, 0}));
        LayerAnalysis.Result result = LayerAnalysis.analyze("r", 0, 0, state, true, TH, new Baseline(20));
        assertThat(result.health().getDeadFraction()).isEqualTo(0.75);
        assertThat(types(result)).containsExactly(AlertType.DEAD_RELU);
    }

    @Test
    void tanhActivationsAtTheirBoundsAreSaturated() {
        StepState state = state(CellType.RNN, ActivationFunction.TANH, new double[] {1, 1});
        add(state, record(TensorKind.ACTIVATION, 0, 2, ActivationFunction.TANH, new double[] {0.995, -0.999, 0.2, 1}));
        add(state, record(TensorKind.ACTIVATION, 1, 2, ActivationFunction.TANH, new double[] {-1, 0.995, 0.5, 0.1}));
        LayerAnalysis.Result result = LayerAnalysis.analyze("r", 0, 0, state, true, TH, new Baseline(20));
        assertThat(result.health().getSaturationFraction()).isEqualTo(5 / 8.0);
        assertThat(types(result)).containsExactly(AlertType.SATURATED);
    }

    @Test
    void nanIsASignalNotGarbage() {
        LayerAnalysis.Result result = analyze(CellType.RNN, ActivationFunction.TANH, new double[] {1, Double.NaN, 1});
        assertThat(result.health().getNonFiniteCount()).isEqualTo(1);
        assertThat(types(result)).contains(AlertType.NON_FINITE);
    }

    @Test
    void aSpikeAgainstTheRunsOwnBaselineIsExploding() {
        Baseline baseline = new Baseline(20);
        for (int step = 0; step < 5; step++) {
            baseline.record(step, 0.1, 0);
        }
        StepState state = state(CellType.GRU, ActivationFunction.TANH, new double[] {1.5, 1.6, 2.0});
        LayerAnalysis.Result result = LayerAnalysis.analyze("r", 5, 0, state, true, TH, baseline);
        assertThat(types(result)).containsExactly(AlertType.EXPLODING);
        assertThat(result.flags().get(0).reason()).contains("20x the run's recent mean");
    }

    @Test
    void explodingFiresOnTheFirstStepWhenFarPastTheCeiling() {
        LayerAnalysis.Result far = analyze(CellType.RNN, ActivationFunction.RELU, new double[] {2e5, 10, 1});
        Flag flag = far.flags().get(0);
        assertThat(flag.type()).isEqualTo(AlertType.EXPLODING);
        assertThat(flag.severe()).as("2e5 is 200x the norm ceiling 1e3").isTrue();
        assertThat(AlertMachine.next(AlertMachine.State.CLEAR, AlertType.EXPLODING, true, flag.severe(), TH, 0)
                .transition()).contains(AlertState.FIRING);
        LayerAnalysis.Result moderate = analyze(CellType.RNN, ActivationFunction.RELU, new double[] {2e3, 1500, 1000});
        assertThat(moderate.flags().get(0).severe()).as("2x over the ceiling keeps the debounce").isFalse();
        assertThat(AlertMachine.next(AlertMachine.State.CLEAR, AlertType.EXPLODING, true, false, TH, 0).transition())
                .isEmpty();
    }

    @Test
    void theExplodingInitPresetPagesExplodingAtStepZeroLongBeforeItsNan() throws java.io.IOException {
        List<double[]> rows = HorizonTest.rows("preset-exploding-init.csv");
        double[] first = java.util.Arrays.copyOfRange(rows.get(0), 3, rows.get(0).length);
        LayerAnalysis.Result result = analyze(CellType.RNN, ActivationFunction.RELU, first);
        assertThat(result.flags()).extracting(Flag::type).containsExactly(AlertType.EXPLODING);
        assertThat(result.flags().get(0).severe()).isTrue();
        assertThat(rows.get(1)[1]).as("the loss at the next published step").isNaN();
    }

    @Test
    void aPendingExplosionFiresWhenTheStepTurnsNonFinite() {
        AlertMachine.State pending = AlertMachine.next(AlertMachine.State.CLEAR, AlertType.EXPLODING, true, TH, 0)
                .state();
        assertThat(AlertMachine.explosionTurnedNonFinite(pending, true)).isTrue();
        assertThat(AlertMachine.explosionTurnedNonFinite(pending, false)).isFalse();
        assertThat(AlertMachine.explosionTurnedNonFinite(AlertMachine.State.CLEAR, true))
                .as("a run that did not grow first pages NON_FINITE alone").isFalse();
    }

    @Test
    void alertsFireAfterThreeFlaggedStepsAndResolveAfterFiveClearOnes() {
        AlertMachine.State state = AlertMachine.State.CLEAR;
        for (int i = 1; i <= 3; i++) {
            AlertMachine.Step step = AlertMachine.next(state, AlertType.VANISHING, true, TH, i);
            assertThat(step.transition()).isEqualTo(i == 3 ? java.util.Optional.of(AlertState.FIRING)
                    : java.util.Optional.empty());
            state = step.state();
        }
        assertThat(AlertMachine.next(state, AlertType.VANISHING, true, TH, 4).transition()).isEmpty();
        for (int i = 1; i <= 5; i++) {
            AlertMachine.Step step = AlertMachine.next(state, AlertType.VANISHING, false, TH, 10 + i);
            assertThat(step.transition().isPresent()).isEqualTo(i == 5);
            state = step.state();
        }
        assertThat(state.firing()).isFalse();
        assertThat(AlertMachine.next(AlertMachine.State.CLEAR, AlertType.NON_FINITE, true, TH, 0).transition())
                .contains(AlertState.FIRING);
    }

    @Test
    void duplicatesDoNotCountTwiceAndStateSurvivesSerialisation() {
        StepState state = state(CellType.RNN, ActivationFunction.RELU, new double[] {2, Double.NaN});
        assertThat(state.add(record(TensorKind.HIDDEN_GRAD, 0, 2, ActivationFunction.RELU, new double[] {7}),
                view(new double[] {7}), 0.01)).isFalse();
        assertThat(state.isComplete()).isTrue();
        add(state, record(TensorKind.ACTIVATION, 0, 2, ActivationFunction.RELU, new double[] {0, 3}));
        // Activations started: the step now waits for all of them too.
        assertThat(state.isComplete()).isFalse();
        // As stored: the header through its serde, the gradient timesteps as their own entries.
        StateSerde<StepHeader, StepHeader> serde = StateSerdes.STEP_HEADER;
        StepState copy = StepState.of(serde.decode(serde.encode(state.header())));
        for (int t = 0; t < state.seqLen(); t++) {
            copy.put(t, TimestepEntry.newBuilder().setNorm(state.norms()[t]).setMaxAbs(state.maxAbs()[t])
                    .setMeanAbs(state.meanAbs()[t]).build());
        }
        assertThat(copy.norms()).containsExactly(state.norms());
        assertThat(copy.nonFinite()).isEqualTo(state.nonFinite());
        assertThat(copy.gradientTimesteps()).isEqualTo(2);
        assertThat(copy.deadFraction()).isEqualTo(0.5);
        assertThat(copy.header()).isEqualTo(state.header());
    }

    static double[] geometric(double factor, int seqLen) {
        double[] norms = new double[seqLen];
        for (int t = 0; t < seqLen; t++) {
            norms[t] = Math.pow(factor, seqLen - 1 - t);
        }
        return norms;
    }

    private static LayerAnalysis.Result analyze(CellType cell, ActivationFunction activation, double[] norms) {
        StepState state = state(cell, activation, norms);
        return LayerAnalysis.analyze("r", 0, 0, state, state.isComplete(), TH, new Baseline(20));
    }

    /** A state whose timestep t got a 1x1 gradient of value norms[t] (NaN values count as non-finite). */
    static StepState state(CellType cell, ActivationFunction activation, double[] norms) {
        TensorRecord first = record(TensorKind.HIDDEN_GRAD, 0, norms.length, activation, new double[] {norms[0]})
                .toBuilder().setCell(cell).build();
        StepState state = StepState.start(first, 0);
        for (int t = 0; t < norms.length; t++) {
            add(state, record(TensorKind.HIDDEN_GRAD, t, norms.length, activation, new double[] {norms[t]}));
        }
        return state;
    }

    static TensorRecord record(TensorKind kind, int t, int seqLen, ActivationFunction activation, double[] values) {
        float[] floats = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            floats[i] = (float) values[i];
        }
        int rows = values.length >= 4 && values.length % 4 == 0 ? values.length / 4 : 1;
        return TensorRecord.newBuilder().setRunId("r").setStep(0).setLayer(0).setTimestep(t).setSeqLen(seqLen)
                .setKind(kind).addShape(rows).addShape(values.length / rows).setDtype(DType.F32)
                .setData(TensorRecords.encode(floats, 0, floats.length, DType.F32)).setActivation(activation).build();
    }

    private static void add(StepState state, TensorRecord record) {
        assertThat(state.add(record, TensorView.of(record), TH.saturationMargin())).isTrue();
    }

    private static TensorView view(double[] values) {
        return TensorView.of(record(TensorKind.HIDDEN_GRAD, 0, 1, ActivationFunction.TANH, values));
    }

    private static List<AlertType> types(LayerAnalysis.Result result) {
        LayerHealth health = result.health();
        assertThat(health.getFlagsList()).isEqualTo(result.flags().stream().map(Flag::type).toList());
        return health.getFlagsList();
    }
}
