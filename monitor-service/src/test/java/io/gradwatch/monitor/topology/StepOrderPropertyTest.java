package io.gradwatch.monitor.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A step's LayerHealth does not depend on the order its records arrive in. One step of three
 * layers (ReLU with activations: dead units; tanh with activations: saturation; a gradient-only
 * layer with a NaN in a pre-activation gradient) is sent in many orders: kinds one after the
 * other either way round, interleaved per timestep, timesteps reversed, fully shuffled, and
 * shuffled with duplicates. Each order is a run of its own, whose previous step (sent in order)
 * told the monitor which layers publish activations, as every step after a layer's first does.
 */
class StepOrderPropertyTest {
    private static final long SEED = Long.getLong("gradwatch.order.seed", 20261201L);
    private static final int ORDERS = Integer.getInteger("gradwatch.order.cases", 300);
    private static final int T = 12;
    @TempDir
    Path stateDir;

    @Test
    void aStepsHealthIsTheSameWhateverOrderItsRecordsArriveIn() {
        Random random = new Random(SEED);
        List<TensorRecord> warmUp = step(new Random(1), 0);
        List<TensorRecord> canonical = step(new Random(2), 1);
        try (TopologyTestDriver driver = driver()) {
            TestInputTopic<String, TensorRecord> input = driver.createInputTopic(Topics.GRADIENTS,
                    new StringSerializer(), GradwatchSerdes.tensorRecord().serializer());
            TestOutputTopic<String, LayerHealth> output = driver.createOutputTopic(Topics.HEALTH,
                    new StringDeserializer(), GradwatchSerdes.layerHealth().deserializer());
            Map<Integer, LayerHealth> reference = null;
            for (int i = 0; i < ORDERS; i++) {
                String run = "run-" + i;
                warmUp.forEach(record -> input.pipeInput(run, record.toBuilder().setRunId(run).build()));
                output.readValuesToList();
                List<TensorRecord> order = order(canonical, i % 6, random);
                order.forEach(record -> input.pipeInput(run, record.toBuilder().setRunId(run).build()));
                Map<Integer, LayerHealth> result = new HashMap<>();
                for (LayerHealth health : output.readValuesToList()) {
                    assertThat(result.put(health.getLayer(), health.toBuilder().setRunId("").build()))
                            .as("one health per layer").isNull();
                }
                assertThat(result).hasSize(3);
                if (reference == null) {
                    reference = result;
                    assertThat(result.values()).allMatch(LayerHealth::getComplete);
                    assertThat(result.get(0).getDeadFraction()).isEqualTo(0.25);
                    assertThat(result.get(1).getSaturationFraction()).isGreaterThan(0);
                    assertThat(result.get(2).getNonFiniteCount()).isEqualTo(1);
                } else {
                    assertThat(result).as("order %d (strategy %d)", i, i % 6).isEqualTo(reference);
                }
            }
        }
    }

    /** The records of one step in one of six kinds of order. */
    private static List<TensorRecord> order(List<TensorRecord> canonical, int strategy, Random random) {
        List<TensorRecord> records = new ArrayList<>(canonical);
        Comparator<TensorRecord> byTimestep = Comparator.comparingInt(TensorRecord::getTimestep);
        Comparator<TensorRecord> byKind = Comparator.comparing(TensorRecord::getKind);
        switch (strategy) {
            case 0 -> records.sort(byKind.thenComparing(byTimestep));
            case 1 -> records.sort(byKind.reversed().thenComparing(byTimestep));
            case 2 -> records.sort(byTimestep.thenComparing(byKind));
            case 3 -> records.sort(byTimestep.reversed().thenComparing(byKind.reversed()));
            case 4 -> Collections.shuffle(records, random);
            default -> {
                for (int d = 0; d < 5; d++) {
                    records.add(canonical.get(random.nextInt(canonical.size())));
                }
                Collections.shuffle(records, random);
            }
        }
        return records;
    }

    /** One step of the three layers, values drawn from {@code random}. */
    private static List<TensorRecord> step(Random random, long step) {
        List<TensorRecord> records = new ArrayList<>();
        for (int t = 0; t < T; t++) {
            records.add(tensor(step, 0, t, TensorKind.HIDDEN_GRAD, ActivationFunction.RELU, values(random, 0.5, -1)));
            // Unit 3 of the ReLU layer is never non-zero: a dead fraction of 1/4.
            records.add(tensor(step, 0, t, TensorKind.ACTIVATION, ActivationFunction.RELU, values(random, 1, 3)));
            records.add(tensor(step, 1, t, TensorKind.HIDDEN_GRAD, ActivationFunction.TANH, values(random, 0.1, -1)));
            records.add(tensor(step, 1, t, TensorKind.ACTIVATION, ActivationFunction.TANH, values(random, 2, -1)));
            records.add(tensor(step, 2, t, TensorKind.HIDDEN_GRAD, ActivationFunction.TANH, values(random, 3, -1)));
            float[] preact = values(random, 1, -1);
            if (t == T / 2) {
                preact[5] = Float.NaN;
            }
            records.add(tensor(step, 2, t, TensorKind.PREACT_GRAD, ActivationFunction.TANH, preact));
        }
        return records;
    }

    /** 4 x 4 values in [-scale, scale] clamped to the tanh range when scale > 1; column {@code dead} all zero. */
    private static float[] values(Random random, double scale, int dead) {
        float[] values = new float[16];
        for (int i = 0; i < values.length; i++) {
            double value = (random.nextDouble() * 2 - 1) * scale;
            values[i] = i % 4 == dead ? 0f : (float) (scale > 1 ? Math.max(-1, Math.min(1, value)) : value);
        }
        return values;
    }

    private static TensorRecord tensor(long step, int layer, int t, TensorKind kind, ActivationFunction activation,
                                       float[] values) {
        return TensorRecord.newBuilder().setRunId("run").setStep(step).setLayer(layer).setTimestep(t).setSeqLen(T)
                .setKind(kind).addShape(4).addShape(4).setDtype(DType.F32).setCell(CellType.RNN)
                .setActivation(activation).setData(TensorRecords.encode(values, 0, values.length, DType.F32))
                .setEventTimeMs(1_000 + step * 100 + t).build();
    }

    private TopologyTestDriver driver() {
        MonitorConfig config = MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(),
                Map.of("monitor.grace", "10s")));
        MonitorEvents events = MonitorEvents.NONE;
        Properties properties = MonitorTopology.streamsProperties(config, events);
        properties.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        StreamsBuilder builder = new StreamsBuilder();
        // In-memory stores: TopologyTestDriver commits (and would flush RocksDB) after every record.
        MonitorTopology.describe(builder, config, events, Stores::inMemoryKeyValueStore);
        return new TopologyTestDriver(builder.build(), properties, Instant.parse("2026-11-23T00:00:00Z"));
    }
}
