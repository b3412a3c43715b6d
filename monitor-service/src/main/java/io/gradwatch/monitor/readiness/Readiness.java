package io.gradwatch.monitor.readiness;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.ThreadMetadata;

/**
 * What /readyz answers. The monitor is ready only while Kafka Streams is RUNNING, all its stream
 * threads are alive and none died in the last {@code threadGrace} (a thread replaced after a crash
 * that crashes again on the same record is a crash loop, not a recovery), and no input partition
 * stalls with growing lag ({@link LagWatch}).
 */
public final class Readiness {
    private final Supplier<KafkaStreams.State> state;
    private final Supplier<Collection<ThreadMetadata>> threads;
    private final Supplier<Map<String, Long>> lags;
    private final int expectedThreads;
    private final Duration threadGrace;
    private final LongSupplier clock;
    private final LagWatch lagWatch;
    private volatile long lastThreadDeathMs = Long.MIN_VALUE;

    public Readiness(Supplier<KafkaStreams.State> state, Supplier<Collection<ThreadMetadata>> threads,
                     Supplier<Map<String, Long>> lags, int expectedThreads, Duration threadGrace, Duration stallAfter,
                     LongSupplier clock) {
        this.state = state;
        this.threads = threads;
        this.lags = lags;
        this.expectedThreads = expectedThreads;
        this.threadGrace = threadGrace;
        this.clock = clock;
        this.lagWatch = new LagWatch(stallAfter.toMillis());
    }

    /** Readiness of a started KafkaStreams: 30 s after a thread death, lag stalled for 60 s. */
    public static Readiness of(KafkaStreams streams, int expectedThreads) {
        return new Readiness(streams::state, streams::metadataForLocalThreads, () -> inputLags(streams.metrics()),
                expectedThreads, Duration.ofSeconds(30), Duration.ofSeconds(60), System::currentTimeMillis);
    }

    /** Called by the uncaught-exception handler when a stream thread dies. */
    public void threadDied() {
        lastThreadDeathMs = clock.getAsLong();
    }

    /** Why the monitor is not ready, or empty when it is. */
    public Optional<String> notReady() {
        KafkaStreams.State now = state.get();
        if (now != KafkaStreams.State.RUNNING) {
            return Optional.of("Kafka Streams is " + now);
        }
        Collection<ThreadMetadata> alive = threads.get();
        List<String> dead = alive.stream().filter(t -> t.threadState().equals("DEAD")
                || t.threadState().equals("PENDING_SHUTDOWN")).map(ThreadMetadata::threadName).toList();
        if (!dead.isEmpty() || alive.size() < expectedThreads) {
            return Optional.of((alive.size() - dead.size()) + " of " + expectedThreads + " stream threads alive"
                    + (dead.isEmpty() ? "" : ", dead: " + dead));
        }
        long nowMs = clock.getAsLong();
        long sinceDeath = nowMs - lastThreadDeathMs;
        if (lastThreadDeathMs != Long.MIN_VALUE && sinceDeath < threadGrace.toMillis()) {
            return Optional.of("a stream thread died " + sinceDeath / 1000 + " s ago (replaced; ready again "
                    + threadGrace.toSeconds() + " s after the last death)");
        }
        lagWatch.observe(lags.get(), nowMs);
        List<String> stalled = lagWatch.stalled(nowMs);
        if (!stalled.isEmpty()) {
            return Optional.of("no progress while lag grows on " + stalled);
        }
        return Optional.empty();
    }

    /** records-lag of each input partition of the main consumers (not the restore consumers). */
    static Map<String, Long> inputLags(Map<MetricName, ? extends Metric> metrics) {
        Map<String, Long> lags = new HashMap<>();
        metrics.forEach((name, metric) -> {
            String client = name.tags().getOrDefault("client-id", "");
            if (name.name().equals("records-lag") && name.group().equals("consumer-fetch-manager-metrics")
                    && name.tags().containsKey("partition") && !client.endsWith("restore-consumer")
                    && metric.metricValue() instanceof Number value && !Double.isNaN(value.doubleValue())) {
                lags.merge(name.tags().get("topic") + "-" + name.tags().get("partition"), value.longValue(),
                        Math::max);
            }
        });
        return lags;
    }
}
