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
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;

/**
 * Scenario 3: the same training (same preset, same seed) publishing every step to Kafka and with
 * {@code --no-kafka}'s console publisher (its output discarded), alternated so drift hits both.
 * Besides the median step time of each, where the time goes: CPU of the training thread per
 * step, of the trainer's publishing threads (its sender and the Kafka producer's I/O thread), and
 * of the broker, which on this machine shares the two cores with the trainer.
 */
final class PublishOverhead {
    /** Times in ms per step; CPU figures are medians over the rounds. */
    record Result(String preset, int steps, double kafkaStepMillis, double offlineStepMillis,
                  double kafkaTrainingCpuMillis, double offlineTrainingCpuMillis, double publisherCpuMillis,
                  double brokerCpuMillis) {
        double overhead() {
            return kafkaStepMillis / offlineStepMillis - 1;
        }

        /** Extra CPU the training thread itself spends per step to publish (copying the tensors out). */
        double trainingThreadOverhead() {
            return kafkaTrainingCpuMillis / offlineTrainingCpuMillis - 1;
        }
    }

    /** One training: median wall time and mean CPU per step. */
    private record Round(double stepMillis, double trainingCpuMillis, double publisherCpuMillis,
                         double brokerCpuMillis) {
    }

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private PublishOverhead() {
    }

    static Result run(BenchStack stack, String preset, int steps, int rounds, Consumer<String> progress)
            throws IOException {
        progress.accept("publish overhead: " + preset + ", " + steps + " steps x " + rounds
                + " rounds, Kafka vs --no-kafka");
        train(preset, Math.max(20, steps / 4), null);
        Round[] kafka = new Round[rounds];
        Round[] offline = new Round[rounds];
        for (int round = 0; round < rounds; round++) {
            kafka[round] = train(preset, steps, stack.bootstrap());
            offline[round] = train(preset, steps, null);
        }
        return new Result(preset, steps, median(kafka, Round::stepMillis), median(offline, Round::stepMillis),
                median(kafka, Round::trainingCpuMillis), median(offline, Round::trainingCpuMillis),
                median(kafka, Round::publisherCpuMillis), median(kafka, Round::brokerCpuMillis));
    }

    private static Round train(String preset, int steps, String bootstrap) throws IOException {
        TrainingSpec spec = TrainCommand.specFor("--preset", preset, "--run-id", "bench-publish-" + preset,
                "--steps", Integer.toString(steps), "--publish-every", "1", "--seed", "7");
        TrainingSetup setup = TrainingSetup.of(spec, 1);
        long[] stamps = new long[steps + 1];
        int[] index = {0};
        double publisherCpu;
        long brokerCpuBefore = childrenCpuNanos();
        long cpuBefore = THREADS.getCurrentThreadCpuTime();
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
            // Before close: the publishing threads are still alive, their CPU time readable.
            publisherCpu = publishingThreadsCpuNanos();
        }
        double trainingCpu = THREADS.getCurrentThreadCpuTime() - cpuBefore;
        double brokerCpu = childrenCpuNanos() - brokerCpuBefore;
        double[] stepMillis = new double[index[0] - 1];
        for (int i = 1; i < index[0]; i++) {
            stepMillis[i - 1] = (stamps[i] - stamps[i - 1]) / 1e6;
        }
        int done = stepMillis.length;
        return new Round(median(stepMillis), trainingCpu / done / 1e6, publisherCpu / done / 1e6,
                brokerCpu / done / 1e6);
    }

    private static GradientPublisher publisher(TrainingSpec spec, String bootstrap) {
        if (bootstrap == null) {
            return new ConsolePublisher(new PrintStream(OutputStream.nullOutputStream()));
        }
        Properties kafka = new Properties();
        kafka.put("bootstrap.servers", bootstrap);
        return KafkaGradientPublisher.create(kafka, DType.F32, spec.publishing().queueSteps());
    }

    /** CPU of the trainer's sender thread and the Kafka producer's network thread. */
    private static double publishingThreadsCpuNanos() {
        double total = 0;
        for (ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (info != null && (info.getThreadName().equals("gradwatch-publisher")
                    || info.getThreadName().startsWith("kafka-producer-network-thread | gradwatch-trainer"))) {
                total += Math.max(0, THREADS.getThreadCpuTime(info.getThreadId()));
            }
        }
        return total;
    }

    /** CPU time of this JVM's child processes (the broker) so far. */
    private static long childrenCpuNanos() {
        return ProcessHandle.current().descendants()
                .map(child -> child.info().totalCpuDuration().orElse(Duration.ZERO).toNanos())
                .reduce(0L, Long::sum);
    }

    private static double median(Round[] rounds, ToDoubleFunction<Round> figure) {
        return median(Arrays.stream(rounds).mapToDouble(figure).toArray());
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
