package io.gradwatch.monitor.topology;

import com.google.protobuf.MessageLite;
import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.Topics;
import java.util.Properties;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.Stores;

/**
 * The gradient-health dataflow, top to bottom like the design sketch:
 * <pre>
 * gradwatch.steps     --> step-rules (runs, run-steps, alert-states)
 *                           +--> gradwatch.alerts   (AlertEvent, layer -1: the run's step-level alerts)
 *                           +--> gradwatch.control  (ControlCommand: the closed loop's escalation)
 * gradwatch.gradients --+
 * gradwatch.summaries --+-> analyse-layers (partial-steps, step-timesteps, baselines, alert-states, latest-health, runs, run-steps)
 *                           +--> gradwatch.health   (LayerHealth)
 *                           +--> gradwatch.alerts   (AlertEvent: FIRING, RESOLVED, ACTION_TAKEN)
 *                           +--> gradwatch.control  (ControlCommand, closed loop only)
 * undecodable or unprocessable records --> gradwatch.dlq (Kafka Streams' exception handlers)
 * a dead letter or result the producer cannot send --> skipped, counted and logged (never a stalled partition)
 * </pre>
 * All inputs are keyed by run id, so one run's records meet in one task: no repartitioning.
 */
public final class MonitorTopology {
    /** Open steps' headers ({@code StepHeader}); their timesteps are in {@link #TIMESTEP_STORE}. */
    public static final String PARTIAL_STORE = "partial-steps";
    /** One {@code TimestepEntry} per arrived (run, step, layer, kind, timestep) of an open step. */
    public static final String TIMESTEP_STORE = "step-timesteps";
    public static final String BASELINE_STORE = "baselines";
    public static final String ALERT_STORE = "alert-states";
    public static final String LATEST_STORE = "latest-health";
    public static final String RUNS_STORE = "runs";
    public static final String RUN_STEPS_STORE = "run-steps";

    private MonitorTopology() {
    }

    public static Topology build(MonitorConfig config, MonitorEvents events) {
        StreamsBuilder builder = new StreamsBuilder();
        describe(builder, config, events);
        return builder.build();
    }

    static void describe(StreamsBuilder builder, MonitorConfig config, MonitorEvents events) {
        describe(builder, config, events, Stores::persistentKeyValueStore);
    }

    /**
     * The dataflow with stores from {@code stores}: RocksDB in the service; the fuzz test uses
     * in-memory ones, because TopologyTestDriver commits, and so flushes every RocksDB store to
     * disk, after each record.
     */
    static void describe(StreamsBuilder builder, MonitorConfig config, MonitorEvents events,
                         Function<String, KeyValueBytesStoreSupplier> stores) {
        // Cached: a step's header is rewritten by each of its T records, but only the value at commit
        // time needs to reach RocksDB and the changelog (one write per key per commit, not per record).
        // Every value has a typed, versioned serde (StateSerdes).
        addStore(builder, stores, PARTIAL_STORE, StateSerdes.STEP_HEADER);
        addStore(builder, stores, TIMESTEP_STORE, StateSerdes.TIMESTEP);
        addStore(builder, stores, BASELINE_STORE, StateSerdes.BASELINE);
        addStore(builder, stores, ALERT_STORE, StateSerdes.ALERT);
        addStore(builder, stores, LATEST_STORE, StateSerdes.HEALTH);
        addStore(builder, stores, RUNS_STORE, StateSerdes.RUN);
        addStore(builder, stores, RUN_STEPS_STORE, StateSerdes.RUN_STEPS);
        KStream<String, MonitorOutput> stepResults = builder
                .stream(Topics.STEPS, Consumed.with(GradwatchSerdes.runKey(), GradwatchSerdes.stepRecord())
                        .withName("steps-source"))
                .process(() -> new StepProcessor(config, events), Named.as("step-rules"), RUNS_STORE,
                        RUN_STEPS_STORE, ALERT_STORE);

        KStream<String, MessageLite> tensors = builder
                .stream(Topics.GRADIENTS, Consumed.with(GradwatchSerdes.runKey(), GradwatchSerdes.tensorRecord())
                        .withName("gradients-source"))
                .mapValues(value -> (MessageLite) value, Named.as("tensors-as-input"));
        KStream<String, MessageLite> summaries = builder
                .stream(Topics.SUMMARIES, Consumed.with(GradwatchSerdes.runKey(), GradwatchSerdes.gradientSummary())
                        .withName("summaries-source"))
                .mapValues(value -> (MessageLite) value, Named.as("summaries-as-input"));
        KStream<String, MonitorOutput> results = tensors.merge(summaries, Named.as("gradient-inputs"))
                .process(() -> new HealthProcessor(config, events), Named.as("analyse-layers"), PARTIAL_STORE,
                        TIMESTEP_STORE, BASELINE_STORE, ALERT_STORE, LATEST_STORE, RUNS_STORE, RUN_STEPS_STORE)
                .merge(stepResults, Named.as("all-results"));
        // One branch per case of the sealed MonitorOutput, each to its topic.
        results.split(Named.as("by-output"))
                .branch((run, value) -> value instanceof MonitorOutput.Health, Branched.withConsumer(health -> health
                        .mapValues(value -> ((MonitorOutput.Health) value).health(), Named.as("as-health"))
                        .to(Topics.HEALTH, Produced.with(Serdes.String(), GradwatchSerdes.layerHealth())
                                .withName("health-sink")), "health"))
                .branch((run, value) -> value instanceof MonitorOutput.Alert, Branched.withConsumer(alerts -> alerts
                        .mapValues(value -> ((MonitorOutput.Alert) value).event(), Named.as("as-alert"))
                        .to(Topics.ALERTS, Produced.with(Serdes.String(), GradwatchSerdes.alertEvent())
                                .withName("alerts-sink")), "alerts"))
                .branch((run, value) -> value instanceof MonitorOutput.Command, Branched.withConsumer(commands -> commands
                        .mapValues(value -> ((MonitorOutput.Command) value).command(), Named.as("as-command"))
                        .to(Topics.CONTROL, Produced.with(Serdes.String(), GradwatchSerdes.controlCommand())
                                .withName("control-sink")), "commands"));
    }

    private static <V> void addStore(StreamsBuilder builder, Function<String, KeyValueBytesStoreSupplier> stores,
                                     String name, Serde<V> values) {
        builder.addStateStore(Stores.keyValueStoreBuilder(stores.apply(name), Serdes.String(), values)
                .withCachingEnabled());
    }

    /**
     * Kafka Streams settings: dead letters routed, latency-minded commits, then the user's kafka.*
     * on top (exactly-once is one of those: MonitorConfig's default {@code kafka.processing.guarantee}).
     */
    public static Properties streamsProperties(MonitorConfig config, MonitorEvents events) {
        Properties properties = new Properties();
        properties.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
        properties.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetters.OnDeserialization.class);
        properties.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetters.OnProcessing.class);
        properties.put(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetters.OnProduction.class);
        properties.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
        // An idle stream thread blocks in poll for poll.ms before it looks at the commit interval
        // again: at the default 100 ms a result could wait commit interval + 100 ms to be visible.
        properties.put(StreamsConfig.POLL_MS_CONFIG, "10");
        properties.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, Integer.toString(8 << 20));
        properties.put("consumer.max.partition.fetch.bytes", Integer.toString(8 << 20));
        failoverDefaults(properties);
        properties.putAll(config.kafka());
        properties.put(DeadLetters.EVENTS_CONFIG, events);
        return properties;
    }

    /**
     * What bounds the time until a killed instance's partitions produce again (docs/scaling.md,
     * FailoverIT). A kill -9 is only noticed when the instance's session expires (Kafka's default
     * 45 s; 6 s is the brokers' default minimum), and read_committed readers see nothing past the
     * dead instance's open transaction until the coordinator aborts it at its timeout (Kafka
     * Streams' 10 s; a transaction here lasts one 100 ms commit interval). Static membership is
     * not used: it spares a restart the rebalance but makes a dead instance wait the full session.
     */
    private static void failoverDefaults(Properties properties) {
        properties.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
        // The survivors learn of the rebalance at their next heartbeat, and the coordinator waits for
        // all of them: 1 s rather than a third of the session (Kafka's rule of thumb) cuts a second.
        properties.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
        properties.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "5000");
    }
}
