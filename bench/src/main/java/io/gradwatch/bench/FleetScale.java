package io.gradwatch.bench;

import io.gradwatch.launcher.ManagedProcess;
import io.gradwatch.launcher.SyntheticGradients;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Scenario 5: many concurrent runs of two layers through monitor-service (-Xmx1g, as deployed
 * with exactly-once), then alert-service holding all of them: sustained throughput, peak heap
 * (sampled from each service's own JVM meters), state-store size on disk, and the time and size
 * of a Prometheus scrape of alert-service.
 */
final class FleetScale {
    static final int LAYERS = 2;
    static final int SEQ_LEN = 50;

    record Result(int runs, int steps, long records, int tensorBytes, double monitorRecordsPerSecond,
                  double monitorPeakHeapBytes, long stateStoreBytes, double alertsPeakHeapBytes,
                  Percentiles scrapeMillis, long seriesCount, long trackedRuns) {
    }

    private FleetScale() {
    }

    static Result run(BenchStack stack, int runs, int steps, SyntheticGradients gradients, Consumer<String> progress)
            throws InterruptedException, IOException {
        long records = (long) runs * steps * LAYERS * SEQ_LEN;
        progress.accept(String.format("scale: %d runs x %d layers x T %d x %d steps = %,d records of %d bytes",
                runs, LAYERS, SEQ_LEN, steps, records, gradients.tensorBytes()));
        ManagedProcess monitor = stack.startMonitor("1g");
        stack.startAlertService("1g", Map.of("GRADWATCH_ALERTS_MAX_RUNS", Integer.toString(Math.max(1000, runs))));
        HeapSampler monitorHeap = new HeapSampler(stack.monitorUrl());
        HeapSampler alertsHeap = new HeapSampler(stack.alertsUrl());
        monitorHeap.start();
        alertsHeap.start();
        Thread producer = new Thread(() -> MonitorThroughput.produce(stack, "fleet-", runs, LAYERS, steps, SEQ_LEN,
                0.97, gradients), "bench-fleet-producer");
        producer.start();
        double rate = MonitorThroughput.monitorRate(stack, "bench-fleet-health", "fleet-",
                (long) runs * steps * LAYERS, SEQ_LEN, monitor.pid()).recordsPerSecond();
        producer.join();
        long tracked = awaitTracked(stack, runs);
        double[] scrapes = new double[20];
        long series = 0;
        for (int i = 0; i < scrapes.length; i++) {
            BenchStack.Timed<String> scrape = BenchStack.get(stack.alertsUrl() + "/metrics");
            scrapes[i] = scrape.millis();
            series = scrape.value().lines().filter(line -> !line.isEmpty() && !line.startsWith("#")).count();
        }
        monitorHeap.stop();
        alertsHeap.stop();
        return new Result(runs, steps, records, gradients.tensorBytes(), rate, monitorHeap.peak(),
                BenchStack.directorySize(stack.monitorStateDir()), alertsHeap.peak(), Percentiles.of(scrapes), series,
                tracked);
    }

    /** Waits until alert-service tracks every run (its gradwatch_runs_tracked gauge), at most 60 s. */
    private static long awaitTracked(BenchStack stack, int runs) throws InterruptedException, IOException {
        long tracked = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (tracked < runs && System.nanoTime() < deadline) {
            tracked = (long) BenchStack.sampleSum(BenchStack.get(stack.alertsUrl() + "/metrics").value(),
                    "gradwatch_runs_tracked", "");
            Thread.sleep(500);
        }
        return tracked;
    }

    /** Samples a service's used heap every 500 ms and keeps the largest. */
    private static final class HeapSampler {
        private final String baseUrl;
        private final AtomicBoolean running = new AtomicBoolean(true);
        private volatile double peak;
        private Thread thread;

        HeapSampler(String baseUrl) {
            this.baseUrl = baseUrl;
        }

        void start() {
            thread = new Thread(() -> {
                while (running.get()) {
                    try {
                        peak = Math.max(peak, BenchStack.heapUsed(baseUrl));
                        Thread.sleep(500);
                    } catch (IOException e) {
                        // a missed sample; the next one counts
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "bench-heap-" + baseUrl);
            thread.setDaemon(true);
            thread.start();
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join();
        }

        double peak() {
            return peak;
        }
    }
}
