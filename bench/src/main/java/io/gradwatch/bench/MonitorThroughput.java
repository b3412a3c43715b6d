package io.gradwatch.bench;

import io.gradwatch.launcher.ManagedProcess;
import io.gradwatch.launcher.SyntheticGradients;
import io.gradwatch.protocol.Topics;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Scenario 1: a topic filled with F32 HIDDEN_GRAD records, read by a plain consumer (the ceiling)
 * and then by monitor-service with exactly-once on. Rates are taken between 10% and 90% of the
 * work, so start-up and the last commit do not count.
 */
final class MonitorThroughput {
    /**
     * Rates in records/s and MB/s of tensor payload; {@code monitorCores} and {@code brokerCores}
     * are the CPU the monitor and the broker used while the monitor's rate was timed, in cores.
     */
    record Result(long records, int tensorBytes, double consumerRecordsPerSecond, double monitorRecordsPerSecond,
                  double monitorCores, double brokerCores) {
        double consumerMegabytesPerSecond() {
            return consumerRecordsPerSecond * tensorBytes / 1e6;
        }

        double monitorMegabytesPerSecond() {
            return monitorRecordsPerSecond * tensorBytes / 1e6;
        }

        double ratio() {
            return monitorRecordsPerSecond / consumerRecordsPerSecond;
        }
    }

    private MonitorThroughput() {
    }

    static Result run(BenchStack stack, int runs, int steps, int seqLen, SyntheticGradients gradients,
                      Consumer<String> progress) throws InterruptedException {
        long records = (long) runs * steps * seqLen;
        progress.accept(String.format("monitor throughput: producing %,d records of %d KB (%d runs x %d steps x T %d)",
                records, gradients.tensorBytes() / 1024, runs, steps, seqLen));
        produce(stack, runs, steps, seqLen, gradients);
        double ceiling = 0;
        for (int attempt = 0; attempt < 2; attempt++) {
            ceiling = Math.max(ceiling, plainConsumerRate(stack, records, "bench-ceiling-" + attempt));
        }
        progress.accept(String.format("monitor throughput: plain consumer %,.0f records/s; starting monitor-service",
                ceiling));
        ManagedProcess monitor = stack.startMonitor("1g");
        double[] cores = new double[2];
        double rate = monitorRate(stack, (long) runs * steps, seqLen, monitor.pid(), cores);
        return new Result(records, gradients.tensorBytes(), ceiling, rate, cores[0], cores[1]);
    }

    private static void produce(BenchStack stack, int runs, int steps, int seqLen, SyntheticGradients gradients) {
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(stack.producerProps())) {
            for (int step = 0; step < steps; step++) {
                for (int t = 0; t < seqLen; t++) {
                    for (int run = 0; run < runs; run++) {
                        String runId = "bench-" + run;
                        producer.send(new ProducerRecord<>(Topics.GRADIENTS, runId,
                                gradients.record(runId, step, 0, t, seqLen, 1.0)));
                    }
                }
            }
            producer.flush();
        }
    }

    /** Records/s of a consumer that only reads, between 10% and 90% of the topic. */
    private static double plainConsumerRate(BenchStack stack, long records, String group) {
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(stack.consumerProps(group))) {
            consumer.subscribe(List.of(Topics.GRADIENTS));
            Window window = new Window(records);
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while (!window.done() && System.nanoTime() < deadline) {
                ConsumerRecords<String, byte[]> batch = consumer.poll(Duration.ofMillis(100));
                window.advance(batch.count());
            }
            return window.rate();
        }
    }

    /**
     * Records/s through the monitor: completed (run, step) healths x T, between 10% and 90% of
     * them; {@code cores} receives the monitor's and the broker's CPU over the same stretch.
     */
    private static double monitorRate(BenchStack stack, long expectedHealth, int seqLen, long monitorPid,
                                      double[] cores) {
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(stack.consumerProps("bench-health"))) {
            consumer.subscribe(List.of(Topics.HEALTH));
            Window window = new Window(expectedHealth);
            long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
            long[] atStart = null;
            long[] atEnd = null;
            while (!window.done() && System.nanoTime() < deadline) {
                window.advance(consumer.poll(Duration.ofMillis(50)).count());
                if (atStart == null && window.started()) {
                    atStart = cpu(monitorPid);
                }
                if (atEnd == null && window.ended()) {
                    atEnd = cpu(monitorPid);
                }
            }
            if (atStart != null && atEnd != null) {
                double seconds = window.seconds();
                cores[0] = (atEnd[0] - atStart[0]) / 1e9 / seconds;
                cores[1] = (atEnd[1] - atStart[1]) / 1e9 / seconds;
            }
            return window.rate() * seqLen;
        }
    }

    private static long[] cpu(long monitorPid) {
        return new long[] {BenchStack.cpuNanos(monitorPid), BenchStack.brokerCpuNanos(monitorPid)};
    }

    /** Counts items against a known total and times the stretch from 10% to 90% of it. */
    static final class Window {
        private final long total;
        private long seen;
        private long startNanos;
        private long startCount;
        private long endNanos;
        private long endCount;

        Window(long total) {
            this.total = total;
        }

        void advance(long count) {
            if (count == 0) {
                return;
            }
            seen += count;
            long now = System.nanoTime();
            if (startNanos == 0 && seen >= total / 10) {
                startNanos = now;
                startCount = seen;
            }
            if (endNanos == 0 && seen >= total * 9 / 10) {
                endNanos = now;
                endCount = seen;
            }
        }

        boolean done() {
            return seen >= total;
        }

        boolean started() {
            return startNanos != 0;
        }

        boolean ended() {
            return endNanos != 0;
        }

        double seconds() {
            return (endNanos - startNanos) / 1e9;
        }

        double rate() {
            if (endNanos <= startNanos) {
                return Double.NaN;
            }
            return (endCount - startCount) / ((endNanos - startNanos) / 1e9);
        }
    }
}
