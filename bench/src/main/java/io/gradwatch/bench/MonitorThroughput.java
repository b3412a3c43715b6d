package io.gradwatch.bench;

import io.gradwatch.launcher.ManagedProcess;
import io.gradwatch.launcher.SyntheticGradients;
import io.gradwatch.protocol.Topics;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
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
    record Result(long records, int tensorBytes, double consumerRecordsPerSecond,
                  double emptyStreamsRecordsPerSecond, double monitorRecordsPerSecond, double monitorCores,
                  double brokerCores, double liveRecordsPerSecond) {
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
        produce(stack, "bench-", runs, 1, steps, seqLen, 1.0, gradients);
        double ceiling = 0;
        for (int attempt = 0; attempt < 2; attempt++) {
            ceiling = Math.max(ceiling, plainConsumerRate(stack, records, "bench-ceiling-" + attempt));
        }
        double floor = emptyStreamsRate(stack, records);
        progress.accept(String.format("monitor throughput: plain consumer %,.0f records/s, Kafka Streams doing "
                + "nothing %,.0f records/s; starting monitor-service", ceiling, floor));
        ManagedProcess monitor = stack.startMonitor("1g");
        MonitorRate full = monitorRate(stack, "bench-health", "bench-", (long) runs * steps, seqLen, monitor.pid());
        int liveSteps = Math.max(5, steps / 3);
        progress.accept(String.format("monitor throughput: %,.0f records/s from a full topic; now %,d records produced "
                + "live while the monitor reads them", full.recordsPerSecond(), (long) runs * liveSteps * seqLen));
        Thread producer = new Thread(() -> produce(stack, "live-", runs, 1, liveSteps, seqLen, 1.0,
                new SyntheticGradients(32, 128)), "bench-live-producer");
        producer.start();
        MonitorRate live = monitorRate(stack, "bench-live-health", "live-", (long) runs * liveSteps, seqLen,
                monitor.pid());
        producer.join();
        return new Result(records, gradients.tensorBytes(), ceiling, floor, full.recordsPerSecond(),
                full.monitorCores(), full.brokerCores(), live.recordsPerSecond());
    }

    /**
     * Runs {@code prefix}0..{@code runs-1}, each with {@code layers} layers, step by step; within a
     * step, timestep by timestep across all runs, as concurrent trainers interleave.
     */
    static void produce(BenchStack stack, String prefix, int runs, int layers, int steps, int seqLen, double factor,
                        SyntheticGradients gradients) {
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(stack.producerProps())) {
            for (int step = 0; step < steps; step++) {
                for (int t = 0; t < seqLen; t++) {
                    for (int run = 0; run < runs; run++) {
                        String runId = prefix + run;
                        for (int layer = 0; layer < layers; layer++) {
                            producer.send(new ProducerRecord<>(Topics.GRADIENTS, runId,
                                    gradients.record(runId, step, layer, t, seqLen, factor)));
                        }
                    }
                }
            }
            producer.flush();
        }
    }

    /**
     * Records/s of a Kafka Streams application configured as monitor-service is (exactly-once,
     * two threads, the same commit and poll intervals) that only counts the records: what the
     * framework costs before any analysis.
     */
    private static double emptyStreamsRate(BenchStack stack, long records) throws InterruptedException {
        StreamsBuilder builder = new StreamsBuilder();
        AtomicLong seen = new AtomicLong();
        builder.stream(Topics.GRADIENTS, Consumed.with(Serdes.String(), Serdes.ByteArray()))
                .foreach((key, value) -> seen.incrementAndGet());
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "bench-empty-streams");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrap());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 2);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        props.put(StreamsConfig.POLL_MS_CONFIG, 10);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stack.monitorStateDir().resolveSibling("empty-streams").toString());
        props.put("consumer.max.partition.fetch.bytes", Integer.toString(8 << 20));
        try (KafkaStreams streams = new KafkaStreams(builder.build(), props)) {
            streams.start();
            Window window = new Window(records);
            long counted = 0;
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while (!window.done() && System.nanoTime() < deadline) {
                Thread.sleep(5);
                long now = seen.get();
                window.advance(now - counted);
                counted = now;
            }
            streams.close(Duration.ofSeconds(30));
            return window.rate();
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
     * The monitor's rate between 10% and 90% of a known amount of work, and the CPU the monitor and
     * the broker used over the same stretch (in cores).
     */
    record MonitorRate(double recordsPerSecond, double monitorCores, double brokerCores) {
    }

    /**
     * Records/s through the monitor: completed (run, step, layer) healths of runs named
     * {@code runPrefix}... times T, between 10% and 90% of the {@code expectedHealth} of them.
     */
    static MonitorRate monitorRate(BenchStack stack, String group, String runPrefix, long expectedHealth, int seqLen,
                                   long monitorPid) {
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(stack.consumerProps(group))) {
            consumer.subscribe(List.of(Topics.HEALTH));
            Window window = new Window(expectedHealth);
            long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
            long[] atStart = null;
            long[] atEnd = null;
            while (!window.done() && System.nanoTime() < deadline) {
                int matching = 0;
                for (var record : consumer.poll(Duration.ofMillis(50))) {
                    matching += record.key() != null && record.key().startsWith(runPrefix) ? 1 : 0;
                }
                window.advance(matching);
                if (atStart == null && window.started()) {
                    atStart = cpu(monitorPid);
                }
                if (atEnd == null && window.ended()) {
                    atEnd = cpu(monitorPid);
                }
            }
            double seconds = window.seconds();
            boolean timed = atStart != null && atEnd != null;
            return new MonitorRate(window.rate() * seqLen, timed ? (atEnd[0] - atStart[0]) / 1e9 / seconds : Double.NaN,
                    timed ? (atEnd[1] - atStart[1]) / 1e9 / seconds : Double.NaN);
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
