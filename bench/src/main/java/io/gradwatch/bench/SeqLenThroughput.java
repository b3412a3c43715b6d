package io.gradwatch.bench;

import io.gradwatch.launcher.ManagedProcess;
import io.gradwatch.launcher.SyntheticGradients;
import io.gradwatch.protocol.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Scenario 1b: monitor-service's records/s as seq_len grows, with small tensors (the cost the
 * monitor adds per record, not the bytes it reads). For each T the topic gets the same number of
 * records (runs x steps x T), the monitor is started on them and its committed offsets on
 * gradwatch.gradients are watched: records, not completed steps, so a T of 10,000 (one step per
 * run) is timed as finely as a T of 10. Exactly-once on, as the stack runs it; the monitor is
 * stopped between sizes, so each size is read from a full topic.
 */
final class SeqLenThroughput {
    /** The rate at one seq_len. */
    record Point(int seqLen, long records, double recordsPerSecond) {
        double microsPerRecord() {
            return 1e6 / recordsPerSecond;
        }
    }

    /** Rates per seq_len, in the order measured. */
    record Result(int tensorBytes, List<Point> points) {
        Point at(int seqLen) {
            return points.stream().filter(p -> p.seqLen() == seqLen).findFirst().orElse(null);
        }

        /** Per-record cost at {@code high} over the cost at {@code low}; NaN if either was not measured. */
        double costRatio(int high, int low) {
            Point a = at(high);
            Point b = at(low);
            return a == null || b == null ? Double.NaN : a.microsPerRecord() / b.microsPerRecord();
        }
    }

    private SeqLenThroughput() {
    }

    static Result run(BenchStack stack, int runs, long recordsPerSize, int[] seqLens, SyntheticGradients gradients,
                      Consumer<String> progress) throws InterruptedException {
        List<Point> points = new ArrayList<>();
        long committedBefore = 0;
        for (int seqLen : seqLens) {
            int steps = (int) Math.max(1, recordsPerSize / ((long) runs * seqLen));
            long records = (long) runs * steps * seqLen;
            progress.accept(String.format("seq_len: producing %,d records of %d B at T %,d (%d runs x %d steps)",
                    records, gradients.tensorBytes(), seqLen, runs, steps));
            MonitorThroughput.produce(stack, "seq" + seqLen + "-", runs, 1, steps, seqLen, 1.0, gradients);
            ManagedProcess monitor = stack.startMonitor("1g");
            double rate = committedRate(stack, committedBefore, records);
            monitor.stop();
            committedBefore += records;
            points.add(new Point(seqLen, records, rate));
            progress.accept(String.format("seq_len: T %,d: %,.0f records/s (%.1f us per record)", seqLen, rate,
                    1e6 / rate));
        }
        return new Result(gradients.tensorBytes(), points);
    }

    /** Records/s of the monitor's committed progress between 10% and 90% of {@code records} past {@code before}. */
    private static double committedRate(BenchStack stack, long before, long records) throws InterruptedException {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrap());
        try (Admin admin = Admin.create(props)) {
            MonitorThroughput.Window window = new MonitorThroughput.Window(records);
            long counted = before;
            long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
            while (!window.done() && System.nanoTime() < deadline) {
                long committed = committed(admin);
                if (committed > counted) {
                    window.advance(committed - counted);
                    counted = committed;
                }
                Thread.sleep(20);
            }
            if (!window.done()) {
                throw new IllegalStateException("the monitor committed " + (counted - before) + " of " + records
                        + " records in 15 minutes");
            }
            return window.rate();
        }
    }

    /** The monitor's committed offsets on gradwatch.gradients, summed over partitions. */
    private static long committed(Admin admin) throws InterruptedException {
        try {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets("gradwatch-monitor")
                    .partitionsToOffsetAndMetadata().get();
            return offsets.entrySet().stream().filter(e -> e.getKey().topic().equals(Topics.GRADIENTS)
                    && e.getValue() != null).mapToLong(e -> e.getValue().offset()).sum();
        } catch (ExecutionException e) {
            return 0;
        }
    }
}
