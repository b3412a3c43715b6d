package io.gradwatch.launcher;

import io.gradwatch.launcher.topics.TopicProvisioner;
import io.gradwatch.localkafka.LocalKafka;
import io.gradwatch.localkafka.LocalKafkaConfig;
import io.gradwatch.protocol.TopicPlan;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.LayerHealth;
import java.nio.charset.StandardCharsets;
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
import java.util.function.Consumer;
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

/**
 * A failover drill on a broker of its own: monitor-service instances (child processes, one
 * application id, each task with a standby on another instance) share the partitions of
 * TopicPlan's topics, runs spread over every partition publish steadily, and one instance is
 * SIGKILLed mid-stream and not restarted. It returns what a read_committed reader saw and how long
 * the dead instance's partitions were silent; FailoverIT asserts on it, the bench reports it
 * (docs/scaling.md, "Failover").
 */
public final class FailoverDrill {
    /** monitor-service's default {@code monitor.application-id}: the consumer group of its instances. */
    private static final String APPLICATION_ID = "gradwatch-monitor";
    private static final int THREADS_PER_INSTANCE = 2;
    private static final int SEQ_LEN = 20;

    /**
     * @param instances monitor-service instances started
     * @param partitions partitions of every topic
     * @param runsPerPartition runs whose records land on each partition
     * @param steps steps each run publishes, one per run every {@code stepEveryMs}
     * @param killAfterStep every run has this step's health before the kill
     * @param victim the index of the instance killed
     */
    public record Plan(int instances, int partitions, int runsPerPartition, int steps, long stepEveryMs,
                       int killAfterStep, int victim) {
        /** Three instances, six partitions, twelve runs of 60 steps of T 20 at 2.5 steps/s: about 25 s. */
        public static Plan standard() {
            return new Plan(3, 6, 2, 60, 400, 15, 1);
        }

        /**
         * The alert transitions an uninterrupted monitor emits per run (the defaults): FIRING on a
         * block's third vanishing step, RESOLVED on the fifth healthy one.
         */
        public List<String> expectedTransitions() {
            return VanishingBlocks.expectedTransitions(steps);
        }

        public int partitionOf(String runId) {
            return Utils.toPositive(Utils.murmur2(runId.getBytes(StandardCharsets.UTF_8))) % partitions;
        }
    }

    /**
     * What the drill saw.
     *
     * @param plan the drill's plan
     * @param runs the run ids published
     * @param owners each instance's active input partitions before the kill
     * @param owned the killed instance's partitions
     * @param resumed per owned partition, from the kill until its first new record reached the reader
     * @param health read_committed LayerHealth records per "run/step/layer"
     * @param transitions per run, its alert transitions as "TYPE STATE at STEP", in order
     * @param partitionMismatches health records found on another partition than their run's
     */
    public record Result(Plan plan, List<String> runs, Map<Integer, Set<Integer>> owners, Set<Integer> owned,
                         Map<Integer, Duration> resumed, Map<String, Integer> health,
                         Map<String, List<String>> transitions, List<String> partitionMismatches) {
        /** One LayerHealth per run and step (the runs have one layer). */
        public int expectedHealth() {
            return runs.size() * plan.steps();
        }

        /** (run, step, layer) read more than once. */
        public long duplicatedHealth() {
            return health.values().stream().filter(count -> count > 1).count();
        }

        /** Runs whose alert transitions differ from an uninterrupted monitor's. */
        public List<String> runsWithWrongTransitions() {
            return runs.stream().filter(run -> !plan.expectedTransitions().equals(transitions.get(run))).toList();
        }

        /** The failover time: until the last of the dead instance's partitions produced again. */
        public Duration failover() {
            return resumed.values().stream().max(Duration::compareTo).orElseThrow();
        }

        public String describe() {
            Map<Integer, String> seconds = new TreeMap<>();
            resumed.forEach((p, d) -> seconds.put(p, String.format(Locale.ROOT, "%.2f s",
                    d.toMillis() / 1000.0)));
            return "partitions " + owned + " of " + owners + " killed, produced again after " + seconds + "; "
                    + health.size() + " distinct LayerHealth read";
        }
    }

    private FailoverDrill() {
    }

    /**
     * Runs the drill: the broker on the layout's ports, instance i's HTTP on {@code httpPorts.get(i)}
     * and its state under the layout's data folder.
     */
    public static Result run(StackLayout layout, List<Integer> httpPorts, Plan plan, Consumer<String> progress)
            throws Exception {
        LocalKafkaConfig brokerConfig = LocalKafkaConfig.defaults(layout.dataDir().resolve("kafka"))
                .withPorts(layout.kafkaPort(), layout.controllerPort())
                // The coordinator looks for timed-out transactions every 10 s by default, so the dead
                // instance's open transaction would hold read_committed readers up to 10 s past its timeout.
                .withOverrides(Map.of("transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000"));
        List<String> runs = runsOnEveryPartition(plan);
        try (LocalKafka kafka = LocalKafka.start(brokerConfig); Admin admin = Admin.create(kafka.adminProperties())) {
            provisionTopics(admin, plan);
            progress.accept("starting " + plan.instances() + " monitor-service instances");
            List<ManagedProcess> monitors = startMonitors(layout, httpPorts, plan);
            try (ResultWatch watch = ResultWatch.start(kafka.bootstrapServers(), plan)) {
                Map<Integer, Set<Integer>> owners = awaitBalanced(admin, plan);
                progress.accept("partitions per instance " + owners + "; publishing " + runs.size() + " runs");
                Thread producer = new Thread(() -> produce(kafka.bootstrapServers(), runs, plan), "failover-producer");
                producer.start();
                awaitCondition("every run's health for step " + plan.killAfterStep(),
                        () -> watch.everyRunPast(runs, plan.killAfterStep()), Duration.ofSeconds(60), watch::summary);
                Set<Integer> owned = activePartitions(describeGroup(admin), plan).get(plan.victim());
                long killedAt = System.nanoTime();
                monitors.get(plan.victim()).kill();
                Map<Integer, Long> committedEnds = committedEnds(admin, plan);
                progress.accept("killed instance " + plan.victim() + " (partitions " + owned + ")");
                awaitCondition("the dead instance's partitions " + owned + " producing again",
                        () -> watch.resumedAfter(owned, committedEnds, killedAt).size() == owned.size(),
                        Duration.ofSeconds(90), watch::summary);
                Map<Integer, Duration> resumed = watch.resumedAfter(owned, committedEnds, killedAt);
                producer.join();
                int expected = runs.size() * plan.steps();
                // Read 5 s past the last expected health record, so a late duplicate would still show.
                awaitCondition("all " + expected + " LayerHealth records, then 5 s of quiet",
                        () -> watch.healthCount() >= expected && watch.quietFor(Duration.ofSeconds(5)),
                        Duration.ofMinutes(2), watch::summary);
                return new Result(plan, runs, owners, owned, resumed, watch.health(), watch.transitions(),
                        watch.partitionMismatches());
            } finally {
                monitors.forEach(ManagedProcess::stop);
            }
        }
    }

    /** {@code runsPerPartition} run ids per input partition, as Kafka's default partitioner places them. */
    private static List<String> runsOnEveryPartition(Plan plan) {
        Map<Integer, List<String>> byPartition = new TreeMap<>();
        int wanted = plan.partitions() * plan.runsPerPartition();
        for (int i = 0, found = 0; found < wanted; i++) {
            String run = "failover-" + i;
            List<String> onPartition = byPartition.computeIfAbsent(plan.partitionOf(run), p -> new ArrayList<>());
            if (onPartition.size() < plan.runsPerPartition()) {
                onPartition.add(run);
                found++;
            }
        }
        return byPartition.values().stream().flatMap(List::stream).toList();
    }

    /** TopicPlan's topics with the plan's partitions, applied as {@code ./gradwatch topics} applies them. */
    private static void provisionTopics(Admin admin, Plan plan) throws InterruptedException {
        TopicProvisioner.Report report = new TopicProvisioner(admin, Duration.ofSeconds(30))
                .provision(TopicPlan.withPartitions(plan.partitions()), TopicProvisioner.Mode.APPLY);
        if (!report.inSync()) {
            throw new IllegalStateException("topics not provisioned as planned: " + report);
        }
    }

    /** Starts the instances together (each JVM's start-up overlaps the others'), then awaits each one's /readyz. */
    private static List<ManagedProcess> startMonitors(StackLayout layout, List<Integer> ports, Plan plan)
            throws InterruptedException {
        List<ManagedProcess> monitors = new ArrayList<>();
        for (int i = 0; i < plan.instances(); i++) {
            Map<String, String> env = Map.of(
                    "GRADWATCH_KAFKA_STATE_DIR", layout.dataDir().resolve("monitor-state-" + i).toString(),
                    "GRADWATCH_KAFKA_NUM_STANDBY_REPLICAS", "1",
                    "GRADWATCH_KAFKA_NUM_STREAM_THREADS", Integer.toString(THREADS_PER_INSTANCE),
                    // Names the instance's consumers, so the group's members say which instance owns what.
                    "GRADWATCH_KAFKA_CLIENT_ID", clientId(i));
            monitors.add(LocalStack.startService(layout, "monitor-" + i, "monitor-service", LocalStack.MONITOR_MAIN,
                    ports.get(i), env, "512m"));
        }
        try {
            for (int i = 0; i < plan.instances(); i++) {
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
    private static Map<Integer, Set<Integer>> awaitBalanced(Admin admin, Plan plan) throws InterruptedException {
        AtomicReference<Map<Integer, Set<Integer>>> owners = new AtomicReference<>(Map.of());
        AtomicReference<String> last = new AtomicReference<>("no description yet");
        awaitCondition("the " + plan.instances() + " instances sharing all " + plan.partitions() + " partitions",
                () -> {
                    ConsumerGroupDescription group = describeGroup(admin);
                    Map<Integer, Set<Integer>> now = activePartitions(group, plan);
                    owners.set(now);
                    last.set(group.groupState() + ", " + group.members().size() + " members, active partitions "
                            + now);
                    Set<Integer> all = new TreeSet<>();
                    now.values().forEach(all::addAll);
                    return group.groupState() == GroupState.STABLE
                            && group.members().size() == plan.instances() * THREADS_PER_INSTANCE
                            && now.size() == plan.instances() && now.values().stream().noneMatch(Set::isEmpty)
                            && all.size() == plan.partitions();
                }, Duration.ofSeconds(90), last::get);
        return owners.get();
    }

    /** Each instance's active tasks, as the gradients partitions its consumers are assigned. */
    private static Map<Integer, Set<Integer>> activePartitions(ConsumerGroupDescription group, Plan plan) {
        Map<Integer, Set<Integer>> owners = new TreeMap<>();
        for (MemberDescription member : group.members()) {
            for (int i = 0; i < plan.instances(); i++) {
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
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while describing group " + APPLICATION_ID, e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot describe group " + APPLICATION_ID, e);
        }
    }

    /**
     * Each health partition's last stable offset just after the kill: the dead instance commits
     * nothing more, so a record read at or past it was written by the instance that took over.
     */
    private static Map<Integer, Long> committedEnds(Admin admin, Plan plan) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (int p = 0; p < plan.partitions(); p++) {
            request.put(new TopicPartition(Topics.HEALTH, p), OffsetSpec.latest());
        }
        Map<Integer, Long> ends = new TreeMap<>();
        admin.listOffsets(request, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all()
                .get(10, TimeUnit.SECONDS).forEach((tp, info) -> ends.put(tp.partition(), info.offset()));
        return ends;
    }

    /** Every run's steps in order, one step of all runs every {@code stepEveryMs}. */
    private static void produce(String bootstrap, List<String> runs, Plan plan) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        SyntheticGradients gradients = new SyntheticGradients(8, 32);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props, new StringSerializer(),
                new ByteArraySerializer())) {
            for (int step = 0; step < plan.steps(); step++) {
                double factor = VanishingBlocks.factor(step);
                for (int t = 0; t < SEQ_LEN; t++) {
                    for (String run : runs) {
                        producer.send(new ProducerRecord<>(Topics.GRADIENTS, run,
                                gradients.record(run, step, 0, t, SEQ_LEN, factor)));
                    }
                }
                // The pace of a trainer, not a wait for a condition.
                Thread.sleep(plan.stepEveryMs());
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
                throw new IllegalStateException("no " + what + " within " + timeout.toSeconds() + " s; "
                        + state.get());
            }
            Thread.sleep(50);
        }
    }

    /**
     * A read_committed reader of the health and alert topics on its own thread, from the first
     * offset, noting when each health record arrived (to time the failover) and counting what it read.
     */
    private static final class ResultWatch implements AutoCloseable {
        private final Plan plan;
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

        private ResultWatch(KafkaConsumer<String, byte[]> consumer, Plan plan) {
            this.consumer = consumer;
            this.plan = plan;
            this.thread = new Thread(this::readLoop, "failover-watch");
        }

        static ResultWatch start(String bootstrap, Plan plan) {
            Properties props = new Properties();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            // Arrival times are the failover figure: do not let the broker hold a fetch for long.
            props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "20");
            KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                    new ByteArrayDeserializer());
            List<TopicPartition> partitions = new ArrayList<>();
            for (int p = 0; p < plan.partitions(); p++) {
                partitions.add(new TopicPartition(Topics.HEALTH, p));
                partitions.add(new TopicPartition(Topics.ALERTS, p));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            ResultWatch watch = new ResultWatch(consumer, plan);
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
                arrivals.computeIfAbsent(record.partition(), p -> new ArrayList<>())
                        .add(new long[] {record.offset(), at});
                if (plan.partitionOf(h.getRunId()) != record.partition()) {
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

        synchronized Map<String, List<String>> transitions() {
            Map<String, List<String>> copy = new TreeMap<>();
            transitions.forEach((run, list) -> copy.put(run, List.copyOf(list)));
            return copy;
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
