package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.launcher.topics.TopicProvisioner;
import io.gradwatch.localkafka.LocalKafka;
import io.gradwatch.localkafka.LocalKafkaConfig;
import io.gradwatch.protocol.TopicPlan;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.LayerHealth;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three monitor-service instances (child processes, one application id, each task with a standby
 * on another instance) share six partitions; twelve runs, two per partition, publish steadily, and
 * one instance is SIGKILLed mid-stream. A read_committed reader then sees each (run, step, layer)'s
 * LayerHealth exactly once and each alert transition once, and the partitions the dead instance
 * owned produce again within 15 s of the kill (the figure is printed, against the 10 s
 * target). The test starts its own broker, as {@link MonitorCrashIT} does: the topics need six
 * partitions, and the broker a short check for timed-out transactions (docs/scaling.md, "Failover").
 */
class FailoverIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    /** monitor-service's default {@code monitor.application-id}: the consumer group of its instances. */
    private static final String APPLICATION_ID = "gradwatch-monitor";
    private static final int INSTANCES = 3;
    private static final int THREADS_PER_INSTANCE = 2;
    private static final int PARTITIONS = 6;
    private static final int RUNS_PER_PARTITION = 2;
    private static final int STEPS = 60;
    private static final int SEQ_LEN = 20;
    /** Steps alternate in blocks of ten: vanishing (0.3 per timestep), then healthy. */
    private static final int BLOCK = 10;
    private static final long STEP_EVERY_MS = 400;
    /** Every run has this step's health before the kill: the instances are mid-stream. */
    private static final int KILL_AFTER_STEP = 15;
    private static final int VICTIM = 1;
    /** The target for the failover time: printed as met or missed. */
    private static final Duration FAILOVER_TARGET = Duration.ofSeconds(10);
    /**
     * What the test fails on: the 6 s session plus the rebalance, restoration and first commit took
     * 8.2 to 10.6 s on the shared, loaded 2-core build machine (docs/scaling.md), so the target itself
     * would make the test flaky; Kafka's defaults (a 45 s session) fail this by far.
     */
    private static final Duration FAILOVER_CEILING = Duration.ofSeconds(15);

    @Test
    void killingOneOfThreeInstancesLosesNothingDuplicatesNothingAndItsPartitionsProduceAgainWithinFifteenSeconds(
            @TempDir Path dir) throws Exception {
        StackLayout layout = new StackLayout(ROOT, dir, TestPorts.freePortBase(36000));
        LocalKafkaConfig brokerConfig = LocalKafkaConfig.defaults(dir.resolve("kafka"))
                .withPorts(layout.kafkaPort(), layout.controllerPort())
                // The coordinator looks for timed-out transactions every 10 s by default, so the dead
                // instance's open transaction would hold read_committed readers up to 10 s past its timeout.
                .withOverrides(Map.of("transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000"));
        List<String> runs = runsOnEveryPartition();
        try (LocalKafka kafka = LocalKafka.start(brokerConfig); Admin admin = Admin.create(kafka.adminProperties())) {
            provisionTopics(admin);
            List<ManagedProcess> monitors = startMonitors(layout, dir);
            try (ResultWatch watch = ResultWatch.start(kafka.bootstrapServers())) {
                Map<Integer, Set<Integer>> owners = awaitBalanced(admin);
                Thread producer = new Thread(() -> produce(kafka.bootstrapServers(), runs), "failover-producer");
                producer.start();
                awaitCondition("every run's health for step " + KILL_AFTER_STEP,
                        () -> watch.everyRunPast(runs, KILL_AFTER_STEP), Duration.ofSeconds(60), watch::summary);
                Set<Integer> owned = activePartitions(admin).get(VICTIM);
                long killedAt = System.nanoTime();
                monitors.get(VICTIM).kill();
                Map<Integer, Long> committedEnds = committedEnds(admin);
                awaitCondition("the dead instance's partitions " + owned + " producing again",
                        () -> watch.resumedAfter(owned, committedEnds, killedAt).size() == owned.size(),
                        Duration.ofSeconds(90), watch::summary);
                Map<Integer, Duration> resumed = watch.resumedAfter(owned, committedEnds, killedAt);
                Duration failover = resumed.values().stream().max(Duration::compareTo).orElseThrow();
                System.out.printf(Locale.ROOT, "FailoverIT: instance %d (partitions %s, before the kill: %s) killed;"
                                + " its partitions produced again after %s; failover %.2f s (target < %d s: %s)%n",
                        VICTIM, owned, owners, seconds(resumed), failover.toMillis() / 1000.0,
                        FAILOVER_TARGET.toSeconds(), failover.compareTo(FAILOVER_TARGET) < 0 ? "met" : "missed");
                producer.join();
                int expected = runs.size() * STEPS;
                // Read 5 s past the last expected health record, so a late duplicate would still show.
                awaitCondition("all " + expected + " LayerHealth records, then 5 s of quiet",
                        () -> watch.healthCount() >= expected && watch.quietFor(Duration.ofSeconds(5)),
                        Duration.ofMinutes(2), watch::summary);
                String context = "victim " + VICTIM + " owning " + owned + ", " + watch.summary();
                assertThat(watch.partitionMismatches()).as("health records on another partition than their run's; "
                        + context).isEmpty();
                Map<String, Integer> health = watch.health();
                assertThat(health).as(context).hasSize(expected);
                assertThat(health.values()).as("LayerHealth per (run, step, layer); " + context).containsOnly(1);
                for (String run : runs) {
                    assertThat(watch.transitions(run)).as("alert transitions of " + run + "; " + context)
                            .isEqualTo(expectedTransitions());
                }
                assertThat(failover).as("time from the kill until partitions " + owned + " produced again: "
                        + seconds(resumed)).isLessThan(FAILOVER_CEILING);
            } finally {
                monitors.forEach(ManagedProcess::stop);
            }
        }
    }

    /** Two run ids per partition of the input topics, as Kafka's default partitioner places them. */
    private static List<String> runsOnEveryPartition() {
        Map<Integer, List<String>> byPartition = new TreeMap<>();
        for (int i = 0; byPartition.values().stream().mapToInt(List::size).sum() < PARTITIONS * RUNS_PER_PARTITION; i++) {
            String run = "failover-" + i;
            List<String> onPartition = byPartition.computeIfAbsent(partitionOf(run), p -> new ArrayList<>());
            if (onPartition.size() < RUNS_PER_PARTITION) {
                onPartition.add(run);
            }
        }
        return byPartition.values().stream().flatMap(List::stream).toList();
    }

    static int partitionOf(String runId) {
        return Utils.toPositive(Utils.murmur2(runId.getBytes(StandardCharsets.UTF_8))) % PARTITIONS;
    }

    /** TopicPlan's topics with six partitions, applied as {@code ./gradwatch topics} applies them. */
    private static void provisionTopics(Admin admin) throws InterruptedException {
        TopicProvisioner.Report report = new TopicProvisioner(admin, Duration.ofSeconds(30))
                .provision(TopicPlan.withPartitions(PARTITIONS), TopicProvisioner.Mode.APPLY);
        assertThat(report.inSync()).as("topics provisioned: " + report).isTrue();
    }

    /** Starts the instances together (each JVM's start-up overlaps the others'), then awaits each one's /readyz. */
    private static List<ManagedProcess> startMonitors(StackLayout layout, Path dir) throws Exception {
        List<ManagedProcess> monitors = new ArrayList<>();
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < INSTANCES; i++) {
            int port = TestPorts.freePort();
            Map<String, String> env = Map.of(
                    "GRADWATCH_KAFKA_STATE_DIR", dir.resolve("monitor-state-" + i).toString(),
                    "GRADWATCH_KAFKA_NUM_STANDBY_REPLICAS", "1",
                    "GRADWATCH_KAFKA_NUM_STREAM_THREADS", Integer.toString(THREADS_PER_INSTANCE),
                    // Names the instance's consumers, so the group's members say which instance owns what.
                    "GRADWATCH_KAFKA_CLIENT_ID", clientId(i));
            monitors.add(LocalStack.startService(layout, "monitor-" + i, "monitor-service", LocalStack.MONITOR_MAIN,
                    port, env, "512m"));
            ports.add(port);
        }
        try {
            for (int i = 0; i < INSTANCES; i++) {
                LocalStack.awaitReady(monitors.get(i), ports.get(i));
            }
        } catch (RuntimeException | InterruptedException e) {
            monitors.forEach(ManagedProcess::stop);
            throw e;
        }
        return monitors;
    }

    private static String clientId(int instance) {
        return "failover-monitor-" + instance;
    }

    /**
     * Waits until the group is stable with every stream thread of every instance in it and each
     * instance owning input partitions; returns the active partitions per instance.
     */
    private static Map<Integer, Set<Integer>> awaitBalanced(Admin admin) throws InterruptedException {
        AtomicReference<Map<Integer, Set<Integer>>> owners = new AtomicReference<>(Map.of());
        AtomicReference<String> last = new AtomicReference<>("no description yet");
        awaitCondition("the " + INSTANCES + " instances sharing all " + PARTITIONS + " partitions", () -> {
            ConsumerGroupDescription group = describeGroup(admin);
            Map<Integer, Set<Integer>> now = activePartitions(group);
            owners.set(now);
            last.set(group.groupState() + ", " + group.members().size() + " members, active partitions " + now);
            Set<Integer> all = new TreeSet<>();
            now.values().forEach(all::addAll);
            return group.groupState() == GroupState.STABLE
                    && group.members().size() == INSTANCES * THREADS_PER_INSTANCE
                    && now.size() == INSTANCES && now.values().stream().noneMatch(Set::isEmpty)
                    && all.size() == PARTITIONS;
        }, Duration.ofSeconds(90), last::get);
        return owners.get();
    }

    private static Map<Integer, Set<Integer>> activePartitions(Admin admin) {
        return activePartitions(describeGroup(admin));
    }

    /** Each instance's active tasks, as the gradients partitions its consumers are assigned. */
    private static Map<Integer, Set<Integer>> activePartitions(ConsumerGroupDescription group) {
        Map<Integer, Set<Integer>> owners = new TreeMap<>();
        for (MemberDescription member : group.members()) {
            for (int i = 0; i < INSTANCES; i++) {
                if (member.clientId().startsWith(clientId(i) + "-")) {
                    Set<Integer> partitions = owners.computeIfAbsent(i, instance -> new TreeSet<>());
                    member.assignment().topicPartitions().stream()
                            .filter(tp -> tp.topic().equals(Topics.GRADIENTS))
                            .forEach(tp -> partitions.add(tp.partition()));
                }
            }
        }
        return owners;
    }

    private static ConsumerGroupDescription describeGroup(Admin admin) {
        try {
            return admin.describeConsumerGroups(List.of(APPLICATION_ID)).describedGroups().get(APPLICATION_ID)
                    .get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot describe group " + APPLICATION_ID, e);
        }
    }

    /**
     * Each health partition's last stable offset just after the kill: the dead instance commits
     * nothing more, so a record read at or past it was written by the instance that took over.
     */
    private static Map<Integer, Long> committedEnds(Admin admin) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (int p = 0; p < PARTITIONS; p++) {
            request.put(new TopicPartition(Topics.HEALTH, p), OffsetSpec.latest());
        }
        Map<Integer, Long> ends = new TreeMap<>();
        admin.listOffsets(request, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all()
                .get(10, TimeUnit.SECONDS).forEach((tp, info) -> ends.put(tp.partition(), info.offset()));
        return ends;
    }

    /** FIRING on the third vanishing step of a block, RESOLVED on the fifth healthy one (the defaults). */
    private static List<String> expectedTransitions() {
        List<String> expected = new ArrayList<>();
        for (int block = 0; block * BLOCK < STEPS; block += 2) {
            expected.add("VANISHING FIRING at " + (block * BLOCK + 2));
            if ((block + 1) * BLOCK + 4 < STEPS) {
                expected.add("VANISHING RESOLVED at " + ((block + 1) * BLOCK + 4));
            }
        }
        return expected;
    }

    /** Every run's steps in order, one step of all runs every {@link #STEP_EVERY_MS}: about 25 s. */
    private static void produce(String bootstrap, List<String> runs) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        SyntheticGradients gradients = new SyntheticGradients(8, 32);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props, new StringSerializer(),
                new ByteArraySerializer())) {
            for (int step = 0; step < STEPS; step++) {
                double factor = (step / BLOCK) % 2 == 0 ? 0.3 : 1.0;
                for (int t = 0; t < SEQ_LEN; t++) {
                    for (String run : runs) {
                        producer.send(new ProducerRecord<>(Topics.GRADIENTS, run,
                                gradients.record(run, step, 0, t, SEQ_LEN, factor)));
                    }
                }
                // The pace of a trainer, not a wait for a condition.
                Thread.sleep(STEP_EVERY_MS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitCondition(String what, BooleanSupplier condition, Duration timeout,
                                       Supplier<String> state) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no " + what + " within " + timeout.toSeconds() + " s; " + state.get());
            }
            Thread.sleep(50);
        }
    }

    private static String seconds(Map<Integer, Duration> resumed) {
        Map<Integer, String> figures = new TreeMap<>();
        resumed.forEach((p, d) -> figures.put(p, String.format(Locale.ROOT, "%.2f s", d.toMillis() / 1000.0)));
        return "partition -> seconds " + figures;
    }

    /**
     * A read_committed reader of the health and alert topics on its own thread, from the first
     * offset, noting when each health record arrived (to time the failover) and counting what it read.
     */
    private static final class ResultWatch implements AutoCloseable {
        private final Map<String, Integer> health = new TreeMap<>();
        private final Map<String, Long> lastStep = new HashMap<>();
        private final Map<String, List<String>> transitions = new TreeMap<>();
        private final Map<Integer, List<long[]>> arrivals = new HashMap<>();
        private final List<String> partitionMismatches = new ArrayList<>();
        private final KafkaConsumer<String, byte[]> consumer;
        private final Thread thread;
        private volatile boolean running = true;
        private volatile Throwable failure;
        private long lastHealthAt = System.nanoTime();

        private ResultWatch(KafkaConsumer<String, byte[]> consumer) {
            this.consumer = consumer;
            this.thread = new Thread(this::readLoop, "failover-watch");
        }

        static ResultWatch start(String bootstrap) {
            Properties props = new Properties();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            // Arrival times are the failover figure: do not let the broker hold a fetch for long.
            props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "20");
            KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                    new ByteArrayDeserializer());
            List<TopicPartition> partitions = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                partitions.add(new TopicPartition(Topics.HEALTH, p));
                partitions.add(new TopicPartition(Topics.ALERTS, p));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            ResultWatch watch = new ResultWatch(consumer);
            watch.thread.start();
            return watch;
        }

        private void readLoop() {
            try {
                while (running) {
                    for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(50))) {
                        note(record, System.nanoTime());
                    }
                }
            } catch (Throwable e) {
                failure = e;
            } finally {
                consumer.close(Duration.ofSeconds(5));
            }
        }

        private synchronized void note(ConsumerRecord<String, byte[]> record, long at) throws Exception {
            if (record.topic().equals(Topics.HEALTH)) {
                LayerHealth h = LayerHealth.parseFrom(record.value());
                health.merge(h.getRunId() + "/" + h.getStep() + "/" + h.getLayer(), 1, Integer::sum);
                lastStep.merge(h.getRunId(), h.getStep(), Math::max);
                arrivals.computeIfAbsent(record.partition(), p -> new ArrayList<>()).add(new long[] {record.offset(), at});
                if (partitionOf(h.getRunId()) != record.partition()) {
                    partitionMismatches.add(h.getRunId() + " on " + record.partition());
                }
                lastHealthAt = at;
            } else {
                AlertEvent a = AlertEvent.parseFrom(record.value());
                transitions.computeIfAbsent(a.getRunId(), run -> new ArrayList<>())
                        .add(a.getType() + " " + a.getState() + " at " + a.getStep());
            }
        }

        private void requireReading() {
            if (failure != null) {
                throw new IllegalStateException("the result reader failed", failure);
            }
        }

        synchronized boolean everyRunPast(List<String> runs, long step) {
            requireReading();
            return runs.stream().allMatch(run -> lastStep.getOrDefault(run, -1L) >= step);
        }

        /**
         * For each partition of {@code partitions} that has produced since the kill: the time from
         * the kill to the arrival of its first record at or past its committed end at the kill.
         */
        synchronized Map<Integer, Duration> resumedAfter(Set<Integer> partitions, Map<Integer, Long> committedEnds,
                                                         long killedAt) {
            requireReading();
            Map<Integer, Duration> resumed = new TreeMap<>();
            for (int p : partitions) {
                arrivals.getOrDefault(p, List.of()).stream()
                        .filter(arrival -> arrival[0] >= committedEnds.get(p))
                        .findFirst()
                        .ifPresent(arrival -> resumed.put(p, Duration.ofNanos(arrival[1] - killedAt)));
            }
            return resumed;
        }

        synchronized int healthCount() {
            requireReading();
            return health.size();
        }

        synchronized boolean quietFor(Duration quiet) {
            return System.nanoTime() - lastHealthAt >= quiet.toNanos();
        }

        synchronized Map<String, Integer> health() {
            return new TreeMap<>(health);
        }

        synchronized List<String> transitions(String run) {
            return List.copyOf(transitions.getOrDefault(run, List.of()));
        }

        synchronized List<String> partitionMismatches() {
            return List.copyOf(partitionMismatches);
        }

        synchronized String summary() {
            return health.size() + " distinct LayerHealth read, last step per run " + new TreeMap<>(lastStep);
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(TimeUnit.SECONDS.toMillis(10));
        }
    }
}
