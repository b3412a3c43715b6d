package io.gradwatch.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import io.gradwatch.launcher.SyntheticGradients;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Scenario 2: with monitor-service under a steady background load, probe runs send vanishing
 * steps; the latency is from the send of the record that completes the step that fires the alert
 * (the third flagged step, as alerts debounce) to that FIRING event read back with read_committed.
 */
final class DetectionLatency {
    static final int PROBE_SEQ_LEN = 10;
    private static final double VANISHING_FACTOR = 0.3;

    record Result(double loadRecordsPerSecond, double achievedLoadRecordsPerSecond, Percentiles latencyMillis,
                  int missed) {
    }

    private DetectionLatency() {
    }

    static Result run(BenchStack stack, double loadRecordsPerSecond, int probes, SyntheticGradients gradients,
                      Consumer<String> progress) throws InterruptedException {
        Map<String, Long> firedAt = new ConcurrentHashMap<>();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong background = new AtomicLong();
        CountDownLatch assigned = new CountDownLatch(1);
        Thread alerts = new Thread(() -> readAlerts(stack, firedAt, running, assigned), "bench-alerts");
        alerts.start();
        if (!assigned.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no partition of " + Topics.ALERTS + " assigned within 60 s");
        }
        progress.accept(String.format("detection latency: %d probes under %,.0f records/s of background load",
                probes, loadRecordsPerSecond));
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(stack.producerProps())) {
            // Its own generator: SyntheticGradients reuses one buffer and is not thread-safe.
            SyntheticGradients loadGradients = new SyntheticGradients(32, 128);
            Thread load = new Thread(() -> backgroundLoad(producer, loadGradients, loadRecordsPerSecond, running,
                    background), "bench-load");
            load.start();
            try {
                return measure(producer, gradients, firedAt, probes, loadRecordsPerSecond, background, progress);
            } finally {
                // Before the producer closes: the load thread must not send on a closed producer.
                running.set(false);
                load.join();
            }
        } finally {
            running.set(false);
            alerts.join();
        }
    }

    private static Result measure(KafkaProducer<String, byte[]> producer, SyntheticGradients gradients,
                                  Map<String, Long> firedAt, int probes, double loadRecordsPerSecond,
                                  AtomicLong background, Consumer<String> progress) throws InterruptedException {
        warmUp(producer, gradients, firedAt, progress);
        long loadStart = System.nanoTime();
        long loadCountStart = background.get();
        double[] latencies = new double[probes];
        int measured = 0;
        int missed = 0;
        for (int probe = 0; probe < probes; probe++) {
            double latency = probe(producer, gradients, firedAt, "probe-" + probe, 10);
            if (Double.isNaN(latency)) {
                missed++;
            } else {
                latencies[measured++] = latency;
            }
            Thread.sleep(50);
        }
        double achieved = (background.get() - loadCountStart) / ((System.nanoTime() - loadStart) / 1e9);
        return new Result(loadRecordsPerSecond, achieved, Percentiles.of(Arrays.copyOf(latencies, measured)),
                missed);
    }

    /**
     * Probes until six in a row fire within a second: a monitor that has just started may still
     * be rebalancing (its second stream thread joins), which is start-up, not detection latency.
     */
    private static void warmUp(KafkaProducer<String, byte[]> producer, SyntheticGradients gradients,
                               Map<String, Long> firedAt, Consumer<String> progress) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        int inARow = 0;
        for (int probe = 0; inARow < 6; probe++) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("monitor-service did not settle within 120 s of warm-up probes");
            }
            double latency = probe(producer, gradients, firedAt, "warmup-" + probe, 30);
            inARow = latency < 1000 ? inARow + 1 : 0;
        }
        progress.accept("detection latency: warm-up done, measuring");
    }

    /** Sends one probe run and waits for its alert: the latency in ms, NaN if none came in time. */
    private static double probe(KafkaProducer<String, byte[]> producer, SyntheticGradients gradients,
                                Map<String, Long> firedAt, String runId, int timeoutSeconds)
            throws InterruptedException {
        long sentAt = sendVanishingSteps(producer, gradients, runId);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (!firedAt.containsKey(runId) && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        Long fired = firedAt.get(runId);
        return fired == null ? Double.NaN : (fired - sentAt) / 1e6;
    }

    /** Three vanishing steps of one probe run; returns when the last record was handed to the producer. */
    private static long sendVanishingSteps(KafkaProducer<String, byte[]> producer, SyntheticGradients gradients,
                                           String runId) {
        long sentAt = 0;
        for (int step = 0; step < 3; step++) {
            for (int t = 0; t < PROBE_SEQ_LEN; t++) {
                byte[] value = gradients.record(runId, step, 0, t, PROBE_SEQ_LEN, VANISHING_FACTOR);
                sentAt = System.nanoTime();
                producer.send(new ProducerRecord<>(Topics.GRADIENTS, runId, value));
            }
        }
        return sentAt;
    }

    /** Healthy T=50 runs at a paced rate, in 10 ms ticks. */
    private static void backgroundLoad(KafkaProducer<String, byte[]> producer, SyntheticGradients gradients,
                                       double perSecond, AtomicBoolean running, AtomicLong sent) {
        int seqLen = 50;
        int runs = 8;
        long start = System.nanoTime();
        long count = 0;
        while (running.get()) {
            long due = (long) ((System.nanoTime() - start) / 1e9 * perSecond);
            while (count < due) {
                long position = count / runs;
                String runId = "load-" + (count % runs);
                producer.send(new ProducerRecord<>(Topics.GRADIENTS, runId,
                        gradients.record(runId, position / seqLen, 0, (int) (position % seqLen), seqLen, 1.0)));
                count++;
            }
            sent.set(count);
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static void readAlerts(BenchStack stack, Map<String, Long> firedAt, AtomicBoolean running,
                                   CountDownLatch assigned) {
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(stack.consumerProps("bench-alerts"))) {
            consumer.subscribe(List.of(Topics.ALERTS));
            while (running.get()) {
                if (!consumer.assignment().isEmpty()) {
                    assigned.countDown();
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(5))) {
                    long now = System.nanoTime();
                    AlertEvent event = parse(record.value());
                    if (event != null && event.getType() == AlertType.VANISHING && event.getState() == AlertState.FIRING
                            && (event.getRunId().startsWith("probe-") || event.getRunId().startsWith("warmup-"))) {
                        firedAt.putIfAbsent(event.getRunId(), now);
                    }
                }
            }
        }
    }

    private static AlertEvent parse(byte[] bytes) {
        try {
            return AlertEvent.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            return null;
        }
    }
}
