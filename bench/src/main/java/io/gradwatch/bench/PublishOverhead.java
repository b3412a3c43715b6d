package io.gradwatch.bench;

import io.gradwatch.protocol.v1.DType;
import io.gradwatch.trainer.TrainingRun;
import io.gradwatch.trainer.TrainingSetup;
import io.gradwatch.trainer.TrainingSpec;
import io.gradwatch.trainer.cli.TrainCommand;
import io.gradwatch.trainer.publish.ConsolePublisher;
import io.gradwatch.trainer.publish.GradientPublisher;
import io.gradwatch.trainer.publish.KafkaGradientPublisher;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.function.Consumer;

/**
 * Scenario 3: the same training (same preset, same seed) publishing every step to Kafka and with
 * {@code --no-kafka}'s console publisher (its output discarded), alternated so drift hits both;
 * the figure is the median step time of each.
 */
final class PublishOverhead {
    record Result(String preset, int steps, double kafkaStepMillis, double offlineStepMillis) {
        double overhead() {
            return kafkaStepMillis / offlineStepMillis - 1;
        }
    }

    private PublishOverhead() {
    }

    static Result run(BenchStack stack, String preset, int steps, int rounds, Consumer<String> progress)
            throws IOException {
        progress.accept("publish overhead: " + preset + ", " + steps + " steps x " + rounds
                + " rounds, Kafka vs --no-kafka");
        train(preset, Math.max(20, steps / 4), null);
        double[] kafka = new double[rounds];
        double[] offline = new double[rounds];
        for (int round = 0; round < rounds; round++) {
            kafka[round] = train(preset, steps, stack.bootstrap());
            offline[round] = train(preset, steps, null);
        }
        return new Result(preset, steps, median(kafka), median(offline));
    }

    /** Median step time in ms of one training, publishing to Kafka when {@code bootstrap} is set. */
    private static double train(String preset, int steps, String bootstrap) throws IOException {
        TrainingSpec spec = TrainCommand.specFor("--preset", preset, "--run-id", "bench-publish-" + preset,
                "--steps", Integer.toString(steps), "--publish-every", "1", "--seed", "7");
        TrainingSetup setup = TrainingSetup.of(spec, 1);
        long[] stamps = new long[steps + 1];
        int[] index = {0};
        stamps[index[0]++] = System.nanoTime();
        try (GradientPublisher publisher = publisher(spec, bootstrap)) {
            new TrainingRun(spec, setup.task(), setup.network(), setup.optimizer(), publisher, List::of, line -> { },
                    0, setup.rng())
                    .observe((completed, loss, norm) -> {
                        if (index[0] < stamps.length) {
                            stamps[index[0]++] = System.nanoTime();
                        }
                    })
                    .run();
        }
        double[] stepMillis = new double[index[0] - 1];
        for (int i = 1; i < index[0]; i++) {
            stepMillis[i - 1] = (stamps[i] - stamps[i - 1]) / 1e6;
        }
        return median(stepMillis);
    }

    private static GradientPublisher publisher(TrainingSpec spec, String bootstrap) {
        if (bootstrap == null) {
            return new ConsolePublisher(new PrintStream(OutputStream.nullOutputStream()));
        }
        Properties kafka = new Properties();
        kafka.put("bootstrap.servers", bootstrap);
        return KafkaGradientPublisher.create(kafka, DType.F32, spec.publishing().queueSteps());
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
