package io.gradwatch.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.trainer.Preset;
import io.gradwatch.trainer.TrainingRun;
import io.gradwatch.trainer.TrainingSetup;
import io.gradwatch.trainer.TrainingSpec;
import io.gradwatch.trainer.publish.GradientPublisher;
import io.gradwatch.trainer.publish.LayerSnapshot;
import io.gradwatch.trainer.publish.PublishStats;
import io.gradwatch.trainer.publish.StepSnapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The presets reproduce the seeds on the long-dependency task at T = 50 (seed 1, deterministic):
 * vanishing in a tanh RNN, learning in LSTM and GRU, explosion and its fix by clipping, dying
 * ReLUs and leaky ReLU's cure.
 */
class PresetBehaviourTest {

    @Test
    void tanhRnnStaysAtChanceWithTheGradientVanishingAcrossTime() {
        Observed run = train("vanishing-rnn", 600);
        assertThat(run.outcome.accuracy()).isLessThan(0.65);
        assertThat(run.lastDecayRatio()).isLessThan(1e-3);
        assertThat(run.lastHorizon()).as("timesteps back the gradient keeps 1%").isLessThan(12);
    }

    @Test
    void lstmLearnsTheLongDependency() {
        Observed run = train("lstm", 400);
        assertThat(run.outcome.accuracy()).isGreaterThan(0.95);
        assertThat(run.lastHorizon()).as("the cell state carries the gradient back to the first token").isEqualTo(49);
    }

    @Test
    void anLstmReachesFurtherBackThanATanhRnnAtEveryPublishedStepAfterWarmUp() {
        Observed lstm = train("lstm", 300);
        Observed tanh = train("vanishing-rnn", 300);
        for (int i = 5; i < tanh.horizons.size(); i++) {
            assertThat(lstm.horizons.get(i)).as("published step " + i).isGreaterThan(tanh.horizons.get(i));
        }
    }

    @Test
    void gruLearnsTheLongDependency() {
        Observed run = train("gru", 400);
        assertThat(run.outcome.accuracy()).isGreaterThan(0.95);
        assertThat(run.lastDecayRatio()).isGreaterThan(1e-3);
        assertThat(run.lastHorizon()).isEqualTo(49);
    }

    @Test
    void explodingInitGrowsTheGradientByOrdersOfMagnitudeAndClippingBoundsIt() {
        Observed exploding = train("exploding-init", 120);
        double first = exploding.gradNorms.get(0);
        double largest = exploding.gradNorms.stream().mapToDouble(Double::doubleValue)
                .map(n -> Double.isFinite(n) ? n : Double.POSITIVE_INFINITY).max().orElseThrow();
        assertThat(largest / first).isGreaterThan(1e3);
        assertThat(exploding.firstDecayRatio()).as("g_0 / g_{T-1}: the gradient grows going back in time")
                .isGreaterThan(1e3);

        Observed clipped = train("clipped", 300);
        assertThat(clipped.clippedNorms).allSatisfy(n -> assertThat(n).isFinite().isLessThanOrEqualTo(1.0 + 1e-9));
        assertThat(clipped.outcome.loss()).isFinite();
    }

    @Test
    void aWarmUpToAFarTooHighLearningRateGrowsTheGradientOverTensOfStepsBeforeAnyNaN() {
        Observed run = train("warmup-overshoot", 60, 1);
        List<Double> norms = run.gradNorms;
        int pastHundred = firstAbove(norms, 1e2, 5);
        int pastMillion = firstAbove(norms, 1e6, 5);
        assertThat(norms.subList(5, 20)).as("healthy while the learning rate is still low")
                .allSatisfy(n -> assertThat(n).isLessThan(1e2));
        assertThat(pastHundred).as("the first step past 1e2").isPositive();
        assertThat(pastMillion - pastHundred).as("steps from 1e2 to 1e6").isGreaterThanOrEqualTo(20);
        assertThat(norms.subList(0, pastMillion + 1)).as("no NaN/Inf up to 1e6")
                .allSatisfy(n -> assertThat(n).isFinite());
        assertThat(run.losses.subList(0, pastMillion + 1)).allSatisfy(l -> assertThat(l).isFinite());
    }

    @Test
    void aScaleLearningRateCommandScalesTheWarmUpSchedule() {
        TrainingSpec spec = TrainCommand.specFor("--preset", "warmup-overshoot", "--run-id", "w", "--steps", "3",
                "--no-kafka");
        assertThat(spec.optimization().scheduledLearningRate(0)).isEqualTo(1e-3);
        assertThat(spec.optimization().scheduledLearningRate(50)).isCloseTo(0.0505, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(spec.optimization().scheduledLearningRate(500)).isEqualTo(0.1);
        Observed observed = new Observed();
        try {
            TrainingSetup setup = TrainingSetup.of(spec, 1);
            List<ControlCommand> once = new ArrayList<>(List.of(
                    ControlCommand.newBuilder().setRunId("w").setCommandId("c1")
                            .setScaleLearningRate(ControlCommand.ScaleLearningRate.newBuilder().setFactor(0.1))
                            .build()));
            new TrainingRun(spec, setup.task(), setup.network(), setup.optimizer(), observed, () -> {
                List<ControlCommand> now = List.copyOf(once);
                once.clear();
                return now;
            }, line -> { }, 0, setup.rng()).run();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertThat(observed.learningRates.get(2)).isCloseTo(0.1 * spec.optimization().scheduledLearningRate(2),
                org.assertj.core.data.Offset.offset(1e-15));
    }

    @Test
    void labelsGivenOnTheCommandLineReachTheRunMetadata() {
        TrainingSpec spec = TrainCommand.specFor("--preset", "warmup-overshoot", "--run-id", "l", "--steps", "1",
                "--no-kafka", "--label", "gradwatch.closed-loop=true", "--label", "team=a");
        List<StepRecord> records = new ArrayList<>();
        Observed observed = new Observed() {
            @Override
            public boolean offer(StepSnapshot snapshot) {
                records.add(snapshot.stepRecord());
                return true;
            }
        };
        try {
            TrainingSetup setup = TrainingSetup.of(spec, 1);
            new TrainingRun(spec, setup.task(), setup.network(), setup.optimizer(), observed, List::of, line -> { }, 0,
                    setup.rng()).run();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertThat(records.get(0).getMetadata().getLabelsMap())
                .containsEntry("gradwatch.closed-loop", "true").containsEntry("team", "a");
    }

    private static int firstAbove(List<Double> values, double limit, int from) {
        for (int i = from; i < values.size(); i++) {
            if (!(values.get(i) <= limit)) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void tooLargeALearningRateKillsMostReluUnitsButNoLeakyOnes() {
        assertThat(train("dead-relu", 300).lastDeadFraction()).isGreaterThan(0.5);
        assertThat(train("leaky-relu", 300).lastDeadFraction()).isZero();
    }

    private static Observed train(String preset, long steps) {
        return train(preset, steps, 10);
    }

    private static Observed train(String preset, long steps, int publishEvery) {
        TrainCommand command = new TrainCommand();
        new CommandLine(command).parseArgs("--preset", preset, "--run-id", preset, "--steps", Long.toString(steps),
                "--publish-every", Integer.toString(publishEvery), "--no-kafka");
        TrainingSpec spec = command.spec(Preset.fromCliName(preset), Settings.load(Map.of(), null, Map.of(), Map.of()));
        try {
            TrainingSetup setup = TrainingSetup.of(spec, 1);
            Observed observed = new Observed();
            observed.outcome = new TrainingRun(spec, setup.task(), setup.network(), setup.optimizer(), observed,
                    List::of, line -> { }, 0, setup.rng()).run();
            return observed;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Keeps what each published step showed. */
    private static class Observed implements GradientPublisher {
        final List<Double> decayRatios = new ArrayList<>();
        final List<Integer> horizons = new ArrayList<>();
        final List<Double> deadFractions = new ArrayList<>();
        final List<Double> gradNorms = new ArrayList<>();
        final List<Double> clippedNorms = new ArrayList<>();
        final List<Double> losses = new ArrayList<>();
        final List<Double> learningRates = new ArrayList<>();
        TrainingRun.Outcome outcome;

        @Override
        public boolean offer(StepSnapshot snapshot) {
            LayerSnapshot layer = snapshot.layers().get(0);
            double[] norms = layer.timestepNorms();
            decayRatios.add(norms[0] / norms[norms.length - 1]);
            horizons.add(horizon(norms));
            deadFractions.add(layer.deadFraction());
            gradNorms.add(snapshot.stepRecord().getGradNorm());
            clippedNorms.add(snapshot.stepRecord().getGradNormClipped());
            losses.add(snapshot.stepRecord().getLoss());
            learningRates.add(snapshot.stepRecord().getLearningRate());
            return true;
        }

        double firstDecayRatio() {
            return decayRatios.get(0);
        }

        double lastDecayRatio() {
            return decayRatios.get(decayRatios.size() - 1);
        }

        int lastHorizon() {
            return horizons.get(horizons.size() - 1);
        }

        /**
         * The monitor's definition (LayerAnalysis.horizon, copied: a trainer test cannot depend on
         * a service): timesteps over which a least-squares fit of log g_t over t < T-1 falls 100x,
         * capped at T-1.
         */
        private static int horizon(double[] norms) {
            int last = norms.length - 1;
            int n = 0;
            double sumT = 0;
            double sumY = 0;
            double sumTT = 0;
            double sumTY = 0;
            for (int t = 0; t < last; t++) {
                if (norms[t] > 0 && Double.isFinite(norms[t])) {
                    double y = Math.log(norms[t]);
                    n++;
                    sumT += t;
                    sumY += y;
                    sumTT += (double) t * t;
                    sumTY += t * y;
                }
            }
            double slope = (n * sumTY - sumT * sumY) / (n * sumTT - sumT * sumT);
            return slope > 0 ? (int) Math.min(last, Math.floor(Math.log(100) / slope)) : last;
        }

        double lastDeadFraction() {
            return deadFractions.get(deadFractions.size() - 1);
        }

        @Override
        public PublishStats stats() {
            return new PublishStats(0, 0, 0, 0);
        }

        @Override
        public void close() {
        }
    }
}
