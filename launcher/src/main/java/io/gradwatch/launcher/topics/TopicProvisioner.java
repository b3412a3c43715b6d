package io.gradwatch.launcher.topics;

import io.gradwatch.protocol.TopicPlan;
import io.gradwatch.protocol.TopicPlan.TopicSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Brings a cluster's gradwatch topics to a {@link TopicPlan}, idempotently: creates the missing ones
 * with the plan's settings, sets the managed configurations that differ, and reports what it could not
 * change. Partition counts are never changed: adding partitions moves runs to other partitions while
 * they are being watched, and Kafka cannot remove partitions, so a difference is reported as drift.
 */
public final class TopicProvisioner {
    /** What to do about a difference: fix it, or only report it. */
    public enum Mode { APPLY, CHECK }

    /** Where a topic stands after provisioning. */
    public enum Status {
        CREATED, IN_SYNC, UPDATED, MISSING, DRIFT;

        /** True when the topic now matches the plan. */
        public boolean matchesPlan() {
            return this == CREATED || this == IN_SYNC || this == UPDATED;
        }
    }

    /** One topic's outcome, with each difference found in words ("retention.ms is 604800000, plan 21600000"). */
    public record Outcome(String topic, Status status, List<String> differences) {
        public Outcome {
            differences = List.copyOf(differences);
        }
    }

    /** Every topic's outcome, in plan order. */
    public record Report(List<Outcome> outcomes) {
        public Report {
            outcomes = List.copyOf(outcomes);
        }

        /** True when every topic matches the plan. */
        public boolean inSync() {
            return outcomes.stream().allMatch(outcome -> outcome.status().matchesPlan());
        }
    }

    private final Admin admin;
    private final Duration timeout;

    public TopicProvisioner(Admin admin, Duration timeout) {
        this.admin = admin;
        this.timeout = timeout;
    }

    /** Provisions {@code plan}: creates, updates and reports (APPLY), or only reports (CHECK). */
    public Report provision(List<TopicSpec> plan, Mode mode) throws InterruptedException {
        Set<String> existing = await(admin.listTopics().names());
        List<Outcome> outcomes = new ArrayList<>();
        for (TopicSpec spec : plan) {
            if (existing.contains(spec.name())) {
                outcomes.add(reconcile(spec, mode));
            } else if (mode == Mode.CHECK) {
                outcomes.add(new Outcome(spec.name(), Status.MISSING, List.of("does not exist")));
            } else {
                outcomes.add(create(spec));
            }
        }
        return new Report(outcomes);
    }

    /**
     * The differences between {@code spec} and a topic with {@code partitions} partitions and the
     * managed configuration {@code actual} (a missing key counts as different).
     */
    public static List<String> differences(TopicSpec spec, int partitions, Map<String, String> actual) {
        List<String> differences = new ArrayList<>();
        if (partitions != spec.partitions()) {
            differences.add(partitions + " partitions, plan " + spec.partitions()
                    + " (not changed here: see docs/operations.md, \"Topics\")");
        }
        for (String key : TopicPlan.MANAGED_CONFIGS) {
            String wanted = spec.configs().get(key);
            String found = actual.get(key);
            if (wanted != null && !wanted.equals(found)) {
                differences.add(key + " is " + found + ", plan " + wanted);
            }
        }
        return differences;
    }

    private Outcome create(TopicSpec spec) throws InterruptedException {
        NewTopic topic = new NewTopic(spec.name(), Optional.of(spec.partitions()), Optional.empty())
                .configs(spec.configs());
        try {
            await(admin.createTopics(List.of(topic)).all());
            return new Outcome(spec.name(), Status.CREATED, List.of());
        } catch (KafkaCallException e) {
            if (e.getCause() instanceof TopicExistsException) {
                return reconcile(spec, Mode.APPLY); // created by someone else meanwhile
            }
            throw e;
        }
    }

    private Outcome reconcile(TopicSpec spec, Mode mode) throws InterruptedException {
        TopicDescription description = await(admin.describeTopics(List.of(spec.name())).allTopicNames())
                .get(spec.name());
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, spec.name());
        Config config = await(admin.describeConfigs(List.of(resource)).all()).get(resource);
        Map<String, String> actual = new HashMap<>();
        for (ConfigEntry entry : config.entries()) {
            actual.put(entry.name(), entry.value());
        }
        List<String> differences = differences(spec, description.partitions().size(), actual);
        if (differences.isEmpty()) {
            return new Outcome(spec.name(), Status.IN_SYNC, List.of());
        }
        if (mode == Mode.CHECK) {
            return new Outcome(spec.name(), Status.DRIFT, differences);
        }
        List<AlterConfigOp> changes = changes(spec, actual);
        if (!changes.isEmpty()) {
            await(admin.incrementalAlterConfigs(Map.of(resource, changes)).all());
        }
        boolean partitionsDiffer = description.partitions().size() != spec.partitions();
        return new Outcome(spec.name(), partitionsDiffer ? Status.DRIFT : Status.UPDATED, differences);
    }

    private static List<AlterConfigOp> changes(TopicSpec spec, Map<String, String> actual) {
        List<AlterConfigOp> changes = new ArrayList<>();
        for (String key : TopicPlan.MANAGED_CONFIGS) {
            String wanted = spec.configs().get(key);
            if (wanted != null && !wanted.equals(actual.get(key))) {
                changes.add(new AlterConfigOp(new ConfigEntry(key, wanted), AlterConfigOp.OpType.SET));
            }
        }
        return changes;
    }

    private <T> T await(KafkaFuture<T> future) throws InterruptedException {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new KafkaCallException(e.getCause());
        } catch (TimeoutException e) {
            throw new KafkaCallException(new TimeoutException("Kafka did not answer within " + timeout));
        }
    }

    /** A failed admin call; its cause is Kafka's own exception (see {@code KafkaAccessFailure}). */
    public static final class KafkaCallException extends RuntimeException {
        KafkaCallException(Throwable cause) {
            super(cause.getMessage(), cause);
        }
    }
}
