package io.gradwatch.monitor.topology;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.gradwatch.common.config.Settings;
import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.protocol.ActivationStats;
import io.gradwatch.protocol.GradientSummaries;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.GradientSummary;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Summaries on gradwatch.summaries against the same steps as TensorRecords on gradwatch.gradients. */
class SummaryTopologyTest {
    private static final String RUN = "run-s";
    private static final int STEPS = 8;
    private static final int LAYERS = 2;
    private static final int T = 12;
    private static final int BATCH = 4;
    private static final int HIDDEN = 10;
    private final List<Pipeline> pipelines = new ArrayList<>();
    @TempDir
    Path stateDir;

    @AfterEach
    void close() {
        pipelines.forEach(pipeline -> pipeline.driver.close());
    }

    @Test
    void aSaturatedTanhRnnGivesIdenticalHealthAndAlertsFromTensorsAndFromSummaries() {
        List<List<TensorRecord>> steps = steps(CellType.RNN, ActivationFunction.TANH, 6.0, false, false, 11);
        List<LayerHealth> health = assertSameOutcomeBothWays(steps);
        assertThat(health).allSatisfy(h -> assertThat(h.getSaturationFraction()).isGreaterThan(0.5));
        assertThat(health.get(0).getFlagsList()).contains(AlertType.SATURATED);
    }

    @Test
    void aReluRnnWithDeadUnitsGivesIdenticalHealthAndAlertsFromTensorsAndFromSummaries() {
        List<List<TensorRecord>> steps = steps(CellType.RNN, ActivationFunction.RELU, 1.0, true, false, 12);
        List<LayerHealth> health = assertSameOutcomeBothWays(steps);
        assertThat(health).allSatisfy(h -> assertThat(h.getDeadFraction()).isEqualTo(0.6));
        assertThat(health.get(0).getFlagsList()).contains(AlertType.DEAD_RELU);
    }

    @Test
    void anLstmWithGatePreactivationsAndANanGivesIdenticalHealthAndAlertsFromTensorsAndFromSummaries() {
        List<List<TensorRecord>> steps = steps(CellType.LSTM, ActivationFunction.TANH, 1.0, false, true, 13);
        List<LayerHealth> health = assertSameOutcomeBothWays(steps);
        assertThat(health).anySatisfy(h -> assertThat(h.getNonFiniteCount()).isPositive());
        assertThat(health).anySatisfy(h -> assertThat(Double.isNaN(h.getTimestepNorms(3))).isTrue());
    }

    @Test
    void aSummaryIsHundredsOfTimesSmallerThanItsTensors() {
        List<TensorRecord> step = steps(CellType.LSTM, ActivationFunction.TANH, 1.0, false, false, 14).get(0)
                .stream().filter(r -> r.getLayer() == 0).toList();
        long tensorBytes = step.stream().mapToLong(r -> r.getSerializedSize()).sum();
        long summaryBytes = GradientSummaries.of(step, ActivationStats.DEFAULT_SATURATION_MARGIN).getSerializedSize();
        // 4 x 10 here; the ratio grows with batch x hidden (docs/performance.md has the lstm preset's).
        assertThat(tensorBytes / (double) summaryBytes).isGreaterThan(3);
    }

    @Test
    void malformedSummariesAreDeadLettersWithTheirReason() {
        Pipeline pipeline = start();
        GradientSummary good = GradientSummaries.of(steps(CellType.RNN, ActivationFunction.RELU, 1.0, true, false, 15)
                .get(0).stream().filter(r -> r.getLayer() == 0).toList(), ActivationStats.DEFAULT_SATURATION_MARGIN);
        List<UnaryOperator<GradientSummary.Builder>> breakages = List.of(
                b -> b.clearNorm().addAllNorm(good.getNormList().subList(1, T)),
                b -> b.setActivations(b.getActivations().toBuilder().setEverNonzero(ByteString.copyFrom(new byte[5]))),
                b -> b.setNorm(2, -1.0),
                b -> b.setMaxAbs(2, Double.POSITIVE_INFINITY),
                b -> b.setActivations(b.getActivations().toBuilder().setSaturated(1L << 40)),
                b -> b.setActivations(b.getActivations().toBuilder().setEverNonzero(ByteString.copyFrom(
                        new byte[] {0, (byte) 0x80}))),
                b -> b.setUnits(0),
                b -> b.setSeqLen(0),
                b -> b.setRunId(""),
                b -> b.setLayer(-1),
                b -> b.setActivationValue(42));
        for (UnaryOperator<GradientSummary.Builder> breakage : breakages) {
            pipeline.summaries.pipeInput(RUN, breakage.apply(good.toBuilder()).build().toByteArray());
        }
        pipeline.summaries.pipeInput(RUN, new byte[] {(byte) 0xff, 0x01});
        pipeline.summaries.pipeInput("another-run", good.toByteArray());
        pipeline.summaries.pipeInput(RUN, (byte[]) null);

        assertThat(pipeline.deadLetters).containsExactly("SUMMARY_LENGTH_MISMATCH", "SUMMARY_LENGTH_MISMATCH",
                "INVALID_SUMMARY", "INVALID_SUMMARY", "INVALID_SUMMARY", "INVALID_SUMMARY", "INVALID_SUMMARY",
                "TIMESTEP_OUT_OF_RANGE", "MISSING_FIELD", "MISSING_FIELD", "UNKNOWN_ENUM", "INVALID_WIRE_FORMAT",
                "KEY_MISMATCH", "TOMBSTONE");
        // TopologyTestDriver forwards the processing handler's dead letters only (the deserialization
        // handler's reach the topic on a real broker: MonitorIT, MalformedCorpusIT).
        List<TestRecord<byte[], byte[]>> letters = pipeline.dlq.readRecordsToList();
        assertThat(letters).hasSize(2).allSatisfy(letter ->
                assertThat(header(letter, DeadLetters.HEADER_TOPIC)).isEqualTo(Topics.SUMMARIES));
        assertThat(header(letters.get(0), DeadLetters.HEADER_REASON)).isEqualTo("KEY_MISMATCH");
        assertThat(pipeline.health.isEmpty()).isTrue();

        pipeline.summaries.pipeInput(RUN, good.toByteArray());
        assertThat(pipeline.health.readValuesToList()).hasSize(1);
    }

    @Test
    void aSummaryOfAStepWhoseTensorsAreArrivingIsADeadLetterAndALateOneIsCountedLate() {
        Pipeline pipeline = start();
        List<TensorRecord> step = steps(CellType.RNN, ActivationFunction.TANH, 1.0, false, false, 16).get(0)
                .stream().filter(r -> r.getLayer() == 0 && r.getKind() == TensorKind.HIDDEN_GRAD).toList();
        GradientSummary summary = GradientSummaries.of(step, ActivationStats.DEFAULT_SATURATION_MARGIN);
        pipeline.tensors.pipeInput(RUN, step.get(0));
        pipeline.summaries.pipeInput(RUN, summary.toByteArray());
        assertThat(pipeline.deadLetters).containsExactly("MIXED_SOURCES");

        step.subList(1, T).forEach(record -> pipeline.tensors.pipeInput(RUN, record));
        assertThat(pipeline.health.readValuesToList()).hasSize(1);
        pipeline.summaries.pipeInput(RUN, summary.toByteArray());
        assertThat(pipeline.outcomes).endsWith("late");
        assertThat(pipeline.health.isEmpty()).isTrue();
    }

    /** Feeds the steps as tensors to one monitor and as summaries to another; returns the health. */
    private List<LayerHealth> assertSameOutcomeBothWays(List<List<TensorRecord>> steps) {
        Pipeline byTensors = start();
        Pipeline bySummaries = start();
        for (List<TensorRecord> step : steps) {
            step.forEach(record -> byTensors.tensors.pipeInput(RUN, record));
            for (int layer = 0; layer < LAYERS; layer++) {
                int l = layer;
                GradientSummary summary = GradientSummaries.of(step.stream().filter(r -> r.getLayer() == l).toList(),
                        ActivationStats.DEFAULT_SATURATION_MARGIN);
                bySummaries.summaries.pipeInput(RUN, summary.toByteArray());
            }
        }
        List<LayerHealth> fromTensors = byTensors.health.readValuesToList();
        List<LayerHealth> fromSummaries = bySummaries.health.readValuesToList();
        assertThat(fromTensors).hasSize(STEPS * LAYERS);
        // Protobuf equality compares doubles by their bits, so NaN norms compare equal too.
        assertThat(fromSummaries).isEqualTo(fromTensors);
        List<AlertEvent> alertsFromTensors = byTensors.alerts.readValuesToList();
        assertThat(alertsFromTensors).anySatisfy(alert -> assertThat(alert.getState()).isEqualTo(AlertState.FIRING));
        assertThat(bySummaries.alerts.readValuesToList()).isEqualTo(alertsFromTensors);
        assertThat(byTensors.deadLetters).isEmpty();
        assertThat(bySummaries.deadLetters).isEmpty();
        return fromTensors;
    }

    /**
     * {@link #STEPS} steps of {@link #LAYERS} layers: activations, then gate pre-activation gradients
     * (LSTM), then dL/dh_t, each kind t = 0..T-1, [BATCH, HIDDEN] (pre-activations [BATCH, 4 HIDDEN]).
     * Gradients fade by 0.5 per timestep back from the loss (VANISHING fires); activations are
     * tanh(scale x N(0, 1)) or, for ReLU, max(0, N(0, 1)) with units 0..5 always 0.
     */
    private static List<List<TensorRecord>> steps(CellType cell, ActivationFunction activation, double scale,
                                                  boolean deadUnits, boolean preact, long seed) {
        Random random = new Random(seed);
        List<List<TensorRecord>> steps = new ArrayList<>();
        for (int step = 0; step < STEPS; step++) {
            List<TensorRecord> records = new ArrayList<>();
            for (int layer = 0; layer < LAYERS; layer++) {
                for (int t = 0; t < T; t++) {
                    float[] h = new float[BATCH * HIDDEN];
                    for (int i = 0; i < h.length; i++) {
                        double z = random.nextGaussian();
                        h[i] = activation == ActivationFunction.RELU
                                ? (deadUnits && i % HIDDEN < 6 ? 0f : (float) Math.max(0, z))
                                : (float) Math.tanh(scale * z);
                    }
                    records.add(tensor(cell, activation, step, layer, t, TensorKind.ACTIVATION, h, HIDDEN));
                }
                if (preact) {
                    for (int t = 0; t < T; t++) {
                        float[] dz = gaussian(random, BATCH * 4 * HIDDEN, 0.1);
                        if (step == 2 && t == 5) {
                            dz[7] = Float.POSITIVE_INFINITY;
                        }
                        records.add(tensor(cell, activation, step, layer, t, TensorKind.PREACT_GRAD, dz, 4 * HIDDEN));
                    }
                }
                for (int t = 0; t < T; t++) {
                    float[] dh = gaussian(random, BATCH * HIDDEN, Math.pow(0.5, T - 1 - t));
                    if (preact && step == 3 && t == 3) {
                        java.util.Arrays.fill(dh, Float.NaN);
                    } else if (preact && step == 3 && t == 4) {
                        dh[1] = Float.NaN;
                    }
                    records.add(tensor(cell, activation, step, layer, t, TensorKind.HIDDEN_GRAD, dh, HIDDEN));
                }
            }
            steps.add(records);
        }
        return steps;
    }

    private static float[] gaussian(Random random, int size, double scale) {
        float[] values = new float[size];
        for (int i = 0; i < size; i++) {
            values[i] = (float) (scale * random.nextGaussian());
        }
        return values;
    }

    private static TensorRecord tensor(CellType cell, ActivationFunction activation, long step, int layer, int t,
                                       TensorKind kind, float[] values, int width) {
        return TensorRecord.newBuilder().setRunId(RUN).setStep(step).setLayer(layer).setTimestep(t).setSeqLen(T)
                .setKind(kind).addShape(BATCH).addShape(width).setDtype(DType.F32).setCell(cell)
                .setActivation(activation).setData(TensorRecords.encode(values, 0, values.length, DType.F32))
                .setEventTimeMs(1_000 + step * 10 + t).setNumLayers(LAYERS).build();
    }

    private static String header(TestRecord<byte[], byte[]> record, String name) {
        return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    private Pipeline start() {
        Pipeline pipeline = new Pipeline(stateDir.resolve("monitor-" + pipelines.size()));
        pipelines.add(pipeline);
        return pipeline;
    }

    /** One monitor in a TopologyTestDriver, with the same clock as every other one of the test. */
    private static final class Pipeline {
        final List<String> deadLetters = new ArrayList<>();
        final List<String> outcomes = new ArrayList<>();
        final TopologyTestDriver driver;
        final TestInputTopic<String, TensorRecord> tensors;
        final TestInputTopic<String, byte[]> summaries;
        final TestOutputTopic<String, LayerHealth> health;
        final TestOutputTopic<String, AlertEvent> alerts;
        final TestOutputTopic<byte[], byte[]> dlq;

        Pipeline(Path stateDir) {
            MonitorConfig config = MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(),
                    Map.of("monitor.grace", "10s")));
            MonitorEvents events = new MonitorEvents() {
                @Override
                public void deadLetter(String reason) {
                    deadLetters.add(reason);
                }

                @Override
                public void accepted() {
                    outcomes.add("accepted");
                }

                @Override
                public void late() {
                    outcomes.add("late");
                }
            };
            Properties properties = MonitorTopology.streamsProperties(config, events);
            properties.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
            driver = new TopologyTestDriver(MonitorTopology.build(config, events), properties,
                    Instant.parse("2026-12-01T00:00:00Z"));
            tensors = driver.createInputTopic(Topics.GRADIENTS, new StringSerializer(),
                    GradwatchSerdes.tensorRecord().serializer());
            summaries = driver.createInputTopic(Topics.SUMMARIES, new StringSerializer(), new ByteArraySerializer());
            health = driver.createOutputTopic(Topics.HEALTH, new StringDeserializer(),
                    GradwatchSerdes.layerHealth().deserializer());
            alerts = driver.createOutputTopic(Topics.ALERTS, new StringDeserializer(),
                    GradwatchSerdes.alertEvent().deserializer());
            dlq = driver.createOutputTopic(Topics.DLQ, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        }
    }
}
