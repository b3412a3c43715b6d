package io.gradwatch.monitor.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradwatch.common.config.Settings;
import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.monitor.analysis.AlertMachine;
import io.gradwatch.monitor.analysis.Baseline;
import io.gradwatch.monitor.analysis.RunSteps;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.StateSerde;
import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.state.v1.StepHeader;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * State written by one release is read by the next. The fixtures in {@code state-v0/} are bytes
 * written by gradwatch 0.x's own encoders (the unversioned ByteBuffer formats, commit 7bbd6e0):
 * one open step (seq_len 3: gradients at t 0 and 2, activation at t 0), a baseline, an alert, a
 * run and a latest health.
 */
class StateCompatibilityTest {
    @TempDir
    Path stateDir;

    @Test
    void version0BytesOfEveryStoreDecodeToWhatGradwatch0WroteIntoThem() throws IOException {
        RunInfo run = StateSerdes.RUN.decode(fixture("runs"));
        assertThat(run).isEqualTo(new RunInfo(1_700_000_000_600L, 6, true)); // 0.x had no metadata: none
        assertThat(StateSerdes.ALERT.decode(fixture("alert-states")))
                .isEqualTo(new AlertMachine.State(true, 3, 0, 1_700_000_000_400L));
        Baseline baseline = StateSerdes.BASELINE.decode(fixture("baselines"));
        assertThat(baseline.lastStep()).isEqualTo(6);
        assertThat(baseline.size()).isEqualTo(2);
        assertThat(baseline.mean()).isEqualTo(2.75);
        assertThat(baseline.publishesActivations()).isTrue();
        assertThat(baseline.lastSeenMs()).isEqualTo(1_700_000_000_300L);
        LayerHealth health = StateSerdes.HEALTH.decode(fixture("latest-health"));
        assertThat(health.getRunId()).isEqualTo("run-v0");
        assertThat(health.getTimestepNormsList()).containsExactly(1.0, 2.0, 3.0);

        StepHeader step = StateSerdes.STEP_HEADER.decode(fixture("partial-steps"));
        assertThat(step.getSeqLen()).isEqualTo(3);
        assertThat(step.getCell()).isEqualTo(CellType.RNN);
        assertThat(step.getActivation()).isEqualTo(ActivationFunction.RELU);
        assertThat(step.getGradientTimesteps()).isEqualTo(2);
        assertThat(step.getActivationTimesteps()).isEqualTo(1);
        assertThat(step.getNonFinite()).isEqualTo(1);
        assertThat(step.getHidden()).isEqualTo(2);
        assertThat(step.getInlineGradients(0).getNorm()).isEqualTo(Math.sqrt(0.25 + 1 + 0.0625 + 4));
        assertThat(step.getInlineGradients(1).getNorm()).isNaN();
    }

    @Test
    void runStepsWrittenBeforeTheProtobufStateDecodeAsVersion0() throws IOException {
        // Bytes of the hand-rolled RunSteps format of issue 14 (its own version byte 1, a 0.x Baseline inside).
        RunSteps steps = StateSerdes.RUN_STEPS.decode(fixture("run-steps"));
        assertThat(steps.records()).isEqualTo(7);
        assertThat(steps.meanLoss(0)).isEqualTo((1.0 / 7 + 1.0 / 6 + 1.0 / 5) / 3);
        assertThat(steps.gradNorms().mean()).isEqualTo(6.5);
        assertThat(steps.gradNorms().lastStep()).isEqualTo(6);
        assertThat(steps.loop()).isEqualTo(new RunSteps.Loop(2, 3, 1, 0.9, 1, false));
        assertThat(steps.bestMeanLoss()).as("no best window mean before the fields existed: it starts afresh").isNaN();
        assertThat(steps.recordsSinceBest()).isZero();
        steps.bestMeanLoss(0.25, 4);
        RunSteps again = StateSerdes.RUN_STEPS.decode(StateSerdes.RUN_STEPS.encode(steps));
        assertThat(again.toState()).isEqualTo(steps.toState());
    }

    @Test
    void everyStoreWritesTheVersionEnvelopeAndReadsItBack() {
        RunInfo run = new RunInfo(5, 9, true);
        byte[] bytes = StateSerdes.RUN.encode(run);
        assertThat(bytes[0]).isEqualTo(StateSerde.MAGIC);
        assertThat(bytes[1]).isEqualTo(StateSerde.VERSION);
        assertThat(StateSerdes.RUN.decode(bytes)).isEqualTo(run);
        AlertMachine.State alert = new AlertMachine.State(false, 1, 2, 3);
        assertThat(StateSerdes.ALERT.decode(StateSerdes.ALERT.encode(alert))).isEqualTo(alert);
        Baseline baseline = new Baseline(3);
        baseline.record(4, 1.5, 10);
        assertThat(StateSerdes.BASELINE.decode(StateSerdes.BASELINE.encode(baseline)).toState())
                .isEqualTo(baseline.toState());
    }

    @Test
    void aVersion1ValueWithAFieldAddedByALaterReleaseStillDecodes() {
        // A later release adds field 99 to RunState: this release keeps reading what it knows.
        byte[] current = StateSerdes.RUN.encode(new RunInfo(5, 9, true));
        byte[] later = Arrays.copyOf(current, current.length + 3);
        later[current.length] = (byte) 0x98; // tag of field 99, varint: (99 << 3) = 792 = 0x98 0x06
        later[current.length + 1] = 0x06;
        later[current.length + 2] = 0x2a;
        assertThat(StateSerdes.RUN.decode(later)).isEqualTo(new RunInfo(5, 9, true));
    }

    @Test
    void stateOfAnUnknownNewerVersionIsAClearErrorNotGarbage() {
        assertThatThrownBy(() -> StateSerdes.RUN.decode(new byte[] {StateSerde.MAGIC, 2, 8, 1}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("schema version 2").hasMessageContaining("reads versions 0 to 1");
    }

    @Test
    void anOpenStepWrittenByVersion0FinishesWithTheHealthItWouldHaveHadWithoutTheUpgrade() throws IOException {
        List<TensorRecord> all = List.of(
                tensor(TensorKind.HIDDEN_GRAD, 0, new float[] {0.5f, -1f, 0.25f, 2f}),
                tensor(TensorKind.HIDDEN_GRAD, 2, new float[] {0.125f, 0f, Float.NaN, 0.5f}),
                tensor(TensorKind.ACTIVATION, 0, new float[] {0f, 0.75f, 0f, 1f}),
                tensor(TensorKind.HIDDEN_GRAD, 1, new float[] {1f, 1f, 1f, 1f}),
                tensor(TensorKind.ACTIVATION, 1, new float[] {0f, 0.5f, 0f, 0.5f}),
                tensor(TensorKind.ACTIVATION, 2, new float[] {0f, 0.25f, 0f, 0.5f}));
        LayerHealth fresh;
        try (TopologyTestDriver driver = driver("fresh")) {
            all.forEach(record -> input(driver).pipeInput("run-v0", record));
            fresh = output(driver).readValue();
        }
        try (TopologyTestDriver driver = driver("upgraded")) {
            // What the changelog of 0.x restores: the open step after its first three records.
            KeyValueStore<String, StepHeader> partial = driver.getKeyValueStore(MonitorTopology.PARTIAL_STORE);
            partial.put(StoreKeys.step("run-v0", 7, 1), StateSerdes.STEP_HEADER.decode(fixture("partial-steps")));
            all.subList(3, 6).forEach(record -> input(driver).pipeInput("run-v0", record));
            assertThat(output(driver).readValue()).isEqualTo(fresh);
        }
        assertThat(fresh.getComplete()).isTrue();
        assertThat(fresh.getNonFiniteCount()).isEqualTo(1);
        assertThat(fresh.getDeadFraction()).isEqualTo(0.5);
    }

    private TopologyTestDriver driver(String name) {
        MonitorConfig config = MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(),
                Map.of("monitor.grace", "10s")));
        MonitorEvents events = new MonitorEvents() { };
        Properties properties = MonitorTopology.streamsProperties(config, events);
        properties.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve(name).toString());
        return new TopologyTestDriver(MonitorTopology.build(config, events), properties,
                Instant.parse("2026-11-23T00:00:00Z"));
    }

    private static org.apache.kafka.streams.TestInputTopic<String, TensorRecord> input(TopologyTestDriver driver) {
        return driver.createInputTopic(Topics.GRADIENTS, new StringSerializer(),
                GradwatchSerdes.tensorRecord().serializer());
    }

    private static org.apache.kafka.streams.TestOutputTopic<String, LayerHealth> output(TopologyTestDriver driver) {
        return driver.createOutputTopic(Topics.HEALTH, new StringDeserializer(),
                GradwatchSerdes.layerHealth().deserializer());
    }

    /** The records the fixture's open step was built from (same values as the generator's). */
    private static TensorRecord tensor(TensorKind kind, int t, float[] values) {
        return TensorRecord.newBuilder().setRunId("run-v0").setStep(7).setLayer(1).setTimestep(t).setSeqLen(3)
                .setKind(kind).addShape(2).addShape(2).setDtype(DType.F32).setCell(CellType.RNN)
                .setActivation(ActivationFunction.RELU).setEventTimeMs(1_700_000_000_000L + t)
                .setData(TensorRecords.encode(values, 0, values.length, DType.F32)).build();
    }

    private static byte[] fixture(String store) throws IOException {
        try (InputStream in = StateCompatibilityTest.class.getResourceAsStream("/state-v0/" + store + ".v0.hex")) {
            return HexFormat.of().parseHex(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
        }
    }
}
