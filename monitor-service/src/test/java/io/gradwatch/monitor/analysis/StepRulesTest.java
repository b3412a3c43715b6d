package io.gradwatch.monitor.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.monitor.topology.StateSerdes;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.StepRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StepRulesTest {
    private static final Thresholds TH = Thresholds.DEFAULTS;
    private static final StepThresholds ST = StepThresholds.DEFAULTS;

    @Test
    void aNonFiniteLossOrGradientNormIsNonFiniteAndSevere() {
        RunSteps history = new RunSteps(10, 20);
        List<Flag> nanLoss = StepRules.evaluate(step(0, Double.NaN, 1), history, TH, ST, 0);
        List<Flag> infNorm = StepRules.evaluate(step(1, 1, Double.POSITIVE_INFINITY), history, TH, ST, 0);
        assertThat(nanLoss).extracting(Flag::type).containsExactly(AlertType.NON_FINITE);
        assertThat(infNorm).extracting(Flag::type).containsExactly(AlertType.NON_FINITE);
        assertThat(nanLoss.get(0).severe()).isTrue();
    }

    @Test
    void aGlobalNormSpikeAgainstTheRunsBaselineIsExplodingAndSevereFarPastIt() {
        RunSteps history = new RunSteps(10, 20);
        for (int s = 0; s < 5; s++) {
            assertThat(StepRules.evaluate(step(s, 1.0 / (s + 1), 2.0), history, TH, ST, 0)).isEmpty();
        }
        List<Flag> moderate = StepRules.evaluate(step(5, 0.1, 30), new RunSteps(10, 20), TH, ST, 0);
        assertThat(moderate).isEmpty(); // no history yet: nothing to compare with
        RunSteps copy = StateSerdes.RUN_STEPS.decode(StateSerdes.RUN_STEPS.encode(history));
        Flag spike = StepRules.evaluate(step(5, 0.1, 30), history, TH, ST, 0).get(0);
        assertThat(spike.type()).isEqualTo(AlertType.EXPLODING);
        assertThat(spike.threshold()).isEqualTo(20);
        assertThat(spike.severe()).isFalse();
        Flag far = StepRules.evaluate(step(5, 0.1, 3e4), copy, TH, ST, 0).get(0);
        assertThat(far.severe()).as("3e4 is 1,500x the spike threshold of 20").isTrue();
    }

    @Test
    void lossNotDecreasingFlagsAWindowOfRecordsWithoutANewBestWindowMean() {
        RunSteps history = new RunSteps(10, 20);
        for (int s = 0; s < 40; s++) {
            assertThat(types(StepRules.evaluate(step(s, 2.0 - 0.04 * s, 1), history, TH, ST, 0))).isEmpty();
        }
        RunSteps flat = new RunSteps(10, 20);
        List<AlertType> flagged = new ArrayList<>();
        for (int s = 0; s < 20; s++) {
            List<AlertType> types = types(StepRules.evaluate(step(s, 0.7, 1), flat, TH, ST, 0));
            if (types.contains(AlertType.LOSS_NOT_DECREASING)) {
                flagged.add(AlertType.LOSS_NOT_DECREASING);
                assertThat(s).as("the first flag: a full window, then a window of records without a new best")
                        .isEqualTo(19);
            }
        }
        assertThat(flagged).hasSize(1);
        StepThresholds tolerant = new StepThresholds(10, -5, ST.stalledAfter(), 10, 1e-8, 1e-9, 10, 10, 0.1);
        RunSteps again = new RunSteps(10, 20);
        List<Flag> last = List.of();
        for (int s = 0; s < 30; s++) {
            last = StepRules.evaluate(step(s, s < 10 ? 0.7 : 0.72, 1), again, TH, tolerant, 0);
        }
        assertThat(types(last)).as("diff_percent -5 allows a 5% rise").isEmpty();
    }

    @Test
    void lossNotDecreasingStaysFiringOnANoisyPlateauInsteadOfFlapping() {
        Random noise = new Random(7);
        RunSteps patience = new RunSteps(10, 20);
        AlertMachine.State alert = AlertMachine.State.CLEAR;
        List<AlertState> transitions = new ArrayList<>();
        for (int s = 0; s < 2000; s++) {
            double loss = 0.69 + 0.02 * noise.nextGaussian(); // a vanishing run: chance level, mini-batch noise
            boolean flagged = types(StepRules.evaluate(step(s, loss, 1), patience, TH, ST, 0))
                    .contains(AlertType.LOSS_NOT_DECREASING);
            AlertMachine.Step next = AlertMachine.next(alert, AlertType.LOSS_NOT_DECREASING, flagged, TH, s);
            next.transition().ifPresent(transitions::add);
            alert = next.state();
        }
        // Comparing each window with the one before made about 140 transitions on such a plateau (a
        // fire or resolve every ~14 records); the best-so-far patience leaves a few, mostly early.
        assertThat(transitions).as("transitions over 2,000 plateau records").hasSizeLessThanOrEqualTo(20)
                .first().isEqualTo(AlertState.FIRING);
        assertThat(alert.firing()).isTrue();
    }

    @Test
    void anUpdateRatioOutsideTheBandNamesTheWorstParameter() {
        StepRecord healthy = step(0, 1, 1).toBuilder().setLearningRate(0.01)
                .putParamGradNorms("weight_hh_l0", 1).putParamNorms("weight_hh_l0", 5).build();
        assertThat(StepRules.updateRatio(healthy, ST)).isNull();
        StepRecord tooLarge = healthy.toBuilder().putParamGradNorms("weight_ih_l0", 1e5).putParamNorms("weight_ih_l0", 10)
                .build();
        Flag flag = StepRules.updateRatio(tooLarge, ST);
        assertThat(flag.type()).isEqualTo(AlertType.UPDATE_RATIO);
        assertThat(flag.value()).isCloseTo(100, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(flag.reason()).contains("weight_ih_l0");
        StepRecord frozen = healthy.toBuilder().putParamGradNorms("bias", 0).putParamNorms("bias", 1).build();
        assertThat(StepRules.updateRatio(frozen, ST).threshold()).isEqualTo(1e-8);
        assertThat(StepRules.updateRatio(step(0, 1, 1), ST)).as("no param_norms: no ratio").isNull();
    }

    @Test
    void theRunsStepHistorySurvivesSerialisation() {
        RunSteps history = new RunSteps(3, 4);
        for (int s = 0; s < 7; s++) {
            history.record(s, 1.0 / (s + 1), s, 5);
        }
        history.loop(new RunSteps.Loop(2, 3, 1, 0.9, 0, false));
        RunSteps copy = StateSerdes.RUN_STEPS.decode(StateSerdes.RUN_STEPS.encode(history));
        assertThat(copy.meanLoss(0)).isEqualTo(history.meanLoss(0));
        assertThat(copy.meanLoss(1)).isEqualTo(history.meanLoss(1));
        assertThat(copy.gradNorms().mean()).isEqualTo(history.gradNorms().mean());
        assertThat(copy.loop()).isEqualTo(history.loop());
        assertThat(StateSerdes.RUN_STEPS.encode(copy)).isEqualTo(StateSerdes.RUN_STEPS.encode(history));
    }

    static StepRecord step(long step, double loss, double gradNorm) {
        return StepRecord.newBuilder().setRunId("r").setStep(step).setLoss(loss).setGradNorm(gradNorm)
                .setGradNormClipped(gradNorm).setLearningRate(0.01).build();
    }

    private static List<AlertType> types(List<Flag> flags) {
        return flags.stream().map(Flag::type).toList();
    }
}
