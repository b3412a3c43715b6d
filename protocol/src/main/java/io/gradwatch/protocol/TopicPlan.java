package io.gradwatch.protocol;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The topic settings gradwatch is provisioned with: partitions, and retention by time and by size per
 * topic, chosen for what each topic carries (docs/operations.md, "Topics", gives the reasons). The
 * {@code topics} command, the local stack and docker-compose apply this one plan.
 *
 * <p>No topic is compacted: every record is keyed by run id (so one run's records stay ordered in one
 * partition), and compaction would keep only a run's newest record, e.g. one layer's health of a
 * multi-layer run or one alert of several.
 */
public final class TopicPlan {
    /** Partitions of every gradwatch topic unless the operator asks for more. */
    public static final int DEFAULT_PARTITIONS = 3;

    /** The Kafka topic configuration keys this plan sets (and so checks for drift). */
    public static final List<String> MANAGED_CONFIGS = List.of("cleanup.policy", "retention.ms", "retention.bytes",
            "segment.ms");

    private static final long MIB = 1024L * 1024;

    /** One topic: its name, its partition count and the configuration it is created and kept with. */
    public record TopicSpec(String name, int partitions, Map<String, String> configs) {
        public TopicSpec {
            Objects.requireNonNull(name, "name");
            if (partitions < 1) {
                throw new IllegalArgumentException("a topic needs at least one partition, got " + partitions);
            }
            configs = Map.copyOf(configs);
        }
    }

    private TopicPlan() {
    }

    /** Every gradwatch topic with {@link #DEFAULT_PARTITIONS} partitions. */
    public static List<TopicSpec> defaults() {
        return withPartitions(DEFAULT_PARTITIONS);
    }

    /**
     * Every gradwatch topic with {@code partitions} partitions. Retention by size is per partition (as
     * Kafka counts it), so a topic's disk bound is partitions x retention.bytes.
     */
    public static List<TopicSpec> withPartitions(int partitions) {
        return List.of(
                // Tensors arrive at up to ~150 MB/s per trainer and are analysed within seconds; hours
                // are enough to replay an incident (./gradwatch replay --from-kafka).
                spec(Topics.GRADIENTS, partitions, Duration.ofHours(6), 2048 * MIB, Duration.ofHours(1)),
                // One record per step and layer, 100-1000x smaller than its tensors; kept like the steps.
                spec(Topics.SUMMARIES, partitions, Duration.ofDays(3), 512 * MIB, Duration.ofHours(6)),
                // One small record per step; alert-service rebuilds its step charts from here.
                spec(Topics.STEPS, partitions, Duration.ofDays(3), 512 * MIB, Duration.ofHours(6)),
                // One record per step and layer; alert-service rebuilds its runs from here on restart.
                spec(Topics.HEALTH, partitions, Duration.ofDays(3), 1024 * MIB, Duration.ofHours(6)),
                // Alert transitions are rare and are the incident record: kept a month.
                spec(Topics.ALERTS, partitions, Duration.ofDays(30), 256 * MIB, Duration.ofDays(1)),
                // A command only means something to a live run; trainers ignore older ones.
                spec(Topics.CONTROL, partitions, Duration.ofDays(1), 64 * MIB, Duration.ofHours(6)),
                // Dead letters wait for an operator to look at them.
                spec(Topics.DLQ, partitions, Duration.ofDays(7), 1024 * MIB, Duration.ofDays(1)));
    }

    private static TopicSpec spec(String name, int partitions, Duration retention, long retentionBytes,
                                  Duration segment) {
        Map<String, String> configs = new LinkedHashMap<>();
        configs.put("cleanup.policy", "delete");
        configs.put("retention.ms", Long.toString(retention.toMillis()));
        configs.put("retention.bytes", Long.toString(retentionBytes));
        // Retention deletes whole closed segments: a segment rolled at least this often lets the time
        // bound hold on a quiet topic too.
        configs.put("segment.ms", Long.toString(segment.toMillis()));
        return new TopicSpec(name, partitions, configs);
    }
}
