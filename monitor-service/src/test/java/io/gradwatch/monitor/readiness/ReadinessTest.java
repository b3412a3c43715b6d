package io.gradwatch.monitor.readiness;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.TaskMetadata;
import org.apache.kafka.streams.ThreadMetadata;
import org.junit.jupiter.api.Test;

class ReadinessTest {
    private final AtomicReference<KafkaStreams.State> state = new AtomicReference<>(KafkaStreams.State.RUNNING);
    private final List<ThreadMetadata> threads = new ArrayList<>(List.of(thread("t-1", "RUNNING")));
    private final Map<String, Long> lags = new HashMap<>();
    private final AtomicLong clock = new AtomicLong(1_000_000);
    private final Readiness readiness = new Readiness(state::get, () -> threads, () -> lags, 1, Duration.ofSeconds(30),
            Duration.ofSeconds(60), clock::get);

    @Test
    void readyOnlyWhileKafkaStreamsIsRunning() {
        assertThat(readiness.notReady()).isEmpty();
        for (KafkaStreams.State other : List.of(KafkaStreams.State.CREATED, KafkaStreams.State.REBALANCING,
                KafkaStreams.State.ERROR, KafkaStreams.State.PENDING_ERROR, KafkaStreams.State.NOT_RUNNING)) {
            state.set(other);
            assertThat(readiness.notReady()).hasValueSatisfying(why -> assertThat(why).contains(other.name()));
        }
    }

    @Test
    void notReadyWhileAStreamThreadIsDeadOrMissing() {
        threads.set(0, thread("t-1", "DEAD"));
        assertThat(readiness.notReady()).hasValueSatisfying(why -> assertThat(why).contains("dead: [t-1]"));
        threads.clear();
        assertThat(readiness.notReady()).hasValueSatisfying(why -> assertThat(why).contains("0 of 1"));
    }

    @Test
    void aReplacedThreadIsNotReadyUntilItStayedAliveForTheGrace() {
        readiness.threadDied();
        clock.addAndGet(29_000);
        assertThat(readiness.notReady()).hasValueSatisfying(why -> assertThat(why).contains("died 29 s ago"));
        clock.addAndGet(1_000);
        assertThat(readiness.notReady()).isEmpty();
    }

    @Test
    void notReadyWhenAPartitionMakesNoProgressWhileItsLagGrows() {
        lags.put("gradwatch.gradients-0", 10L);
        lags.put("gradwatch.gradients-1", 10L);
        assertThat(readiness.notReady()).isEmpty();
        for (int i = 1; i <= 6; i++) {
            clock.addAndGet(10_000);
            lags.put("gradwatch.gradients-0", 10L + 5 * i); // stuck: only grows
            lags.put("gradwatch.gradients-1", i % 2 == 0 ? 3L : 40L); // busy but keeping up
            if (i < 6) {
                assertThat(readiness.notReady()).as("after %d s", 10 * i).isEmpty();
            }
        }
        assertThat(readiness.notReady()).hasValueSatisfying(why -> assertThat(why).contains("gradwatch.gradients-0")
                .doesNotContain("gradwatch.gradients-1"));
    }

    @Test
    void lagThatGoesDownOrIsZeroIsProgress() {
        LagWatch watch = new LagWatch(60_000);
        watch.observe(Map.of("p-0", 100L, "p-1", 0L), 0);
        watch.observe(Map.of("p-0", 150L, "p-1", 0L), 30_000);
        watch.observe(Map.of("p-0", 140L, "p-1", 0L), 50_000);
        watch.observe(Map.of("p-0", 200L, "p-1", 0L), 100_000);
        assertThat(watch.stalled(100_000)).isEmpty();
        watch.observe(Map.of("p-0", 210L, "p-1", 0L), 110_000);
        assertThat(watch.stalled(110_000)).containsExactly("p-0");
        // An idle partition whose lag stays where it was is not stalled: nothing new arrived.
        LagWatch idle = new LagWatch(60_000);
        idle.observe(Map.of("p-0", 5L), 0);
        idle.observe(Map.of("p-0", 5L), 120_000);
        assertThat(idle.stalled(120_000)).isEmpty();
    }

    private static ThreadMetadata thread(String name, String threadState) {
        return new ThreadMetadata() {
            @Override
            public String threadState() {
                return threadState;
            }

            @Override
            public String threadName() {
                return name;
            }

            @Override
            public Set<TaskMetadata> activeTasks() {
                return Set.of();
            }

            @Override
            public Set<TaskMetadata> standbyTasks() {
                return Set.of();
            }

            @Override
            public String consumerClientId() {
                return name + "-consumer";
            }

            @Override
            public String restoreConsumerClientId() {
                return name + "-restore-consumer";
            }

            @Override
            public Set<String> producerClientIds() {
                return Set.of();
            }

            @Override
            public String adminClientId() {
                return "admin";
            }
        };
    }
}
