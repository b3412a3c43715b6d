package io.gradwatch.monitor.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.monitor.MonitorConfig;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.RunMetadata;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
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

class MonitorTopologyTest {
    private static final int T = 5;
    private final List<String> deadLetters = new ArrayList<>();
    private final List<String> outcomes = new ArrayList<>();
    private TopologyTestDriver driver;
    private TestInputTopic<String, TensorRecord> gradients;
    private TestInputTopic<String, byte[]> rawGradients;
    private TestInputTopic<String, StepRecord> steps;
    private TestOutputTopic<String, LayerHealth> health;
    private TestOutputTopic<String, AlertEvent> alerts;
    private TestOutputTopic<String, ControlCommand> control;
    private TestOutputTopic<byte[], byte[]> dlq;
    @TempDir
    Path stateDir;

    private void start(Map<String, String> overrides) {
        Map<String, String> all = new HashMap<>(overrides);
        all.putIfAbsent("monitor.grace", "10s");
        MonitorConfig config = MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(), all));
        MonitorEvents events = new MonitorEvents() {
            @Override
            public void deadLetter(String reason) {
                deadLetters.add(reason);
                outcomes.add("dlq:" + reason);
            }

            @Override
            public void accepted() {
                outcomes.add("accepted");
            }

            @Override
            public void duplicate() {
                outcomes.add("duplicate");
            }

            @Override
            public void late() {
                outcomes.add("late");
            }

            @Override
            public void punctuationFailed() {
                outcomes.add("punctuation-failed");
            }
        };
        Properties properties = MonitorTopology.streamsProperties(config, events);
        // Its own state directory: test JVMs of other checkouts may run at the same time.
        properties.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(MonitorTopology.build(config, events), properties,
                Instant.parse("2026-11-23T00:00:00Z"));
        gradients = driver.createInputTopic(Topics.GRADIENTS, new StringSerializer(),
                GradwatchSerdes.tensorRecord().serializer());
        rawGradients = driver.createInputTopic(Topics.GRADIENTS, new StringSerializer(), new ByteArraySerializer());
        steps = driver.createInputTopic(Topics.STEPS, new StringSerializer(), GradwatchSerdes.stepRecord().serializer());
        health = driver.createOutputTopic(Topics.HEALTH, new StringDeserializer(),
                GradwatchSerdes.layerHealth().deserializer());
        alerts = driver.createOutputTopic(Topics.ALERTS, new StringDeserializer(),
                GradwatchSerdes.alertEvent().deserializer());
        control = driver.createOutputTopic(Topics.CONTROL, new StringDeserializer(),
                GradwatchSerdes.controlCommand().deserializer());
        dlq = driver.createOutputTopic(Topics.DLQ, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void close() {
        if (driver != null) {
            driver.close();
        }
    }

    @Test
    void aStepIsAnalysedOnceAllItsTimestepsArrivedInAnyOrder() {
        start(Map.of());
        List<TensorRecord> records = step("run-a", 0, 0, geometric(0.9));
        Collections.reverse(records);
        for (int i = 0; i < records.size() - 1; i++) {
            gradients.pipeInput("run-a", records.get(i));
        }
        assertThat(health.isEmpty()).isTrue();
        gradients.pipeInput("run-a", records.get(records.size() - 1));
        LayerHealth result = health.readValue();
        assertThat(result.getComplete()).isTrue();
        assertThat(result.getTimestepNormsList()).hasSize(T);
        assertThat(result.getDecayRatio()).isCloseTo(Math.pow(0.9, T - 1), org.assertj.core.data.Offset.offset(1e-6));
        assertThat(result.getFlagsList()).isEmpty();
        assertThat(health.isEmpty()).isTrue();
    }

    @Test
    void duplicatesAndLateRecordsAreNotCountedTwice() {
        start(Map.of());
        List<TensorRecord> records = step("run-a", 0, 0, geometric(0.9));
        gradients.pipeInput("run-a", records.get(0));
        gradients.pipeInput("run-a", records.get(0));
        records.subList(1, T).forEach(r -> gradients.pipeInput("run-a", r));
        gradients.pipeInput("run-a", records.get(2)); // after completion: late
        assertThat(health.readValuesToList()).hasSize(1);
    }

    @Test
    void anIncompleteStepIsEmittedAsIncompleteAfterTheGraceTime() {
        start(Map.of("monitor.grace", "10s"));
        step("run-a", 0, 0, geometric(0.9)).subList(0, 3).forEach(r -> gradients.pipeInput("run-a", r));
        driver.advanceWallClockTime(Duration.ofSeconds(5));
        assertThat(health.isEmpty()).isTrue();
        driver.advanceWallClockTime(Duration.ofSeconds(6));
        LayerHealth result = health.readValue();
        assertThat(result.getComplete()).isFalse();
        assertThat(result.getTimestepsReceived()).isEqualTo(3);
        assertThat(result.getTimestepNorms(4)).isNaN();
    }

    @Test
    void vanishingFiresAfterThreeFlaggedStepsAndResolvesAfterFiveClearOnes() {
        start(Map.of());
        for (int s = 0; s < 2; s++) {
            publish("run-v", s, geometric(0.1));
        }
        assertThat(alerts.isEmpty()).isTrue();
        publish("run-v", 2, geometric(0.1));
        AlertEvent firing = alerts.readValue();
        assertThat(firing.getState()).isEqualTo(AlertState.FIRING);
        assertThat(firing.getType()).isEqualTo(AlertType.VANISHING);
        assertThat(firing.getStep()).isEqualTo(2);
        assertThat(firing.getValue()).isLessThan(firing.getThreshold());
        assertThat(firing.getRemedy()).contains("LSTM or GRU");
        for (int s = 3; s < 7; s++) {
            publish("run-v", 2 * s, geometric(0.1)); // flagged again before five clear steps: stays firing
            publish("run-v", 2 * s + 1, geometric(0.95));
        }
        assertThat(alerts.readValuesToList()).isEmpty();
        // Step 13 was the first clear one of a streak; the fifth is 203.
        for (int s = 200; s < 205; s++) {
            publish("run-v", s, geometric(0.95));
        }
        AlertEvent resolved = alerts.readValue();
        assertThat(resolved.getState()).isEqualTo(AlertState.RESOLVED);
        assertThat(resolved.getStep()).isEqualTo(203);
        assertThat(alerts.isEmpty()).isTrue();
    }

    @Test
    void nonFiniteFiresAtOnceAndTheClosedLoopStopsTheRun() {
        start(Map.of("monitor.closed-loop", "true"));
        double[] norms = geometric(0.9);
        norms[2] = Double.NaN;
        publish("run-n", 0, norms);
        List<AlertEvent> events = alerts.readValuesToList();
        assertThat(events).extracting(AlertEvent::getState).containsExactly(AlertState.FIRING, AlertState.ACTION_TAKEN);
        assertThat(events.get(0).getType()).isEqualTo(AlertType.NON_FINITE);
        assertThat(events.get(1).getAction().hasStop()).isTrue();
        ControlCommand command = control.readValue();
        assertThat(command.getRunId()).isEqualTo("run-n");
        assertThat(command.hasStop()).isTrue();
    }

    @Test
    void theClosedLoopIsOffUnlessTheRunOptsIn() {
        start(Map.of());
        for (int s = 0; s < 3; s++) {
            publish("run-x", s, geometric(2.0));
        }
        assertThat(alerts.readValue().getType()).isEqualTo(AlertType.EXPLODING);
        assertThat(control.isEmpty()).isTrue();

        steps.pipeInput("run-y", StepRecord.newBuilder().setRunId("run-y").setStep(0).setMetadata(RunMetadata
                .newBuilder().putLabels(RunInfo.CLOSED_LOOP_LABEL, "true")).build());
        for (int s = 0; s < 3; s++) {
            publish("run-y", s, geometric(2.0));
        }
        ControlCommand command = control.readValue();
        assertThat(command.getSetClipNorm().getMaxNorm()).isEqualTo(1.0);
        assertThat(alerts.readValuesToList()).extracting(AlertEvent::getState)
                .containsExactly(AlertState.FIRING, AlertState.ACTION_TAKEN);
    }

    @Test
    void badRecordsGoToTheDeadLetterQueueWithHeadersAndGoodOnesKeepFlowing() {
        start(Map.of());
        TensorRecord good = step("run-a", 0, 0, geometric(0.9)).get(0);
        rawGradients.pipeInput("run-a", new byte[] {(byte) 0xff, (byte) 0xff, 0x0f});
        rawGradients.pipeInput("run-a", good.toBuilder().setTimestep(-1).build().toByteArray());
        rawGradients.pipeInput("run-a", good.toBuilder().setSeqLen(1_000_000_000).build().toByteArray());
        rawGradients.pipeInput("run-a", good.toBuilder().setShape(0, 1L << 40).build().toByteArray());
        gradients.pipeInput("run-b", good); // keyed with another run than its own
        publish("run-a", 0, geometric(0.9));

        // Kafka Streams' handlers saw every bad record, with the reason the protocol names.
        assertThat(deadLetters).containsExactly("INVALID_WIRE_FORMAT", "TIMESTEP_OUT_OF_RANGE",
                "TIMESTEP_OUT_OF_RANGE", "TOO_LARGE", "KEY_MISMATCH");
        // TopologyTestDriver forwards the processing handler's dead letters (the real-broker test,
        // MonitorIT, checks the deserialization ones too): original bytes and headers.
        List<TestRecord<byte[], byte[]>> letters = dlq.readRecordsToList();
        assertThat(letters).isNotEmpty().allSatisfy(letter -> {
            assertThat(header(letter, DeadLetters.HEADER_TOPIC)).isEqualTo(Topics.GRADIENTS);
            assertThat(header(letter, DeadLetters.HEADER_PARTITION)).isEqualTo("0");
            assertThat(header(letter, DeadLetters.HEADER_OFFSET)).matches("\\d+");
        });
        TestRecord<byte[], byte[]> wrongKey = letters.get(letters.size() - 1);
        assertThat(header(wrongKey, DeadLetters.HEADER_REASON)).isEqualTo("KEY_MISMATCH");
        assertThat(header(wrongKey, DeadLetters.HEADER_ERROR)).contains("differs from run_id");
        assertThat(wrongKey.value()).isEqualTo(good.toByteArray());
        assertThat(health.readValuesToList()).hasSize(1);
    }

    @Test
    void everyRecordIsAcceptedADuplicateLateOrADeadLetterExactlyOnce() {
        start(Map.of());
        List<TensorRecord> records = step("run-a", 0, 0, geometric(0.9));
        gradients.pipeInput("run-a", records.get(0));
        gradients.pipeInput("run-a", records.get(0));
        records.subList(1, T).forEach(r -> gradients.pipeInput("run-a", r));
        gradients.pipeInput("run-a", records.get(2));
        assertThat(outcomes).containsExactly("accepted", "duplicate", "accepted", "accepted", "accepted", "accepted",
                "late");
        assertThat(health.readValuesToList()).hasSize(1);
    }

    @Test
    void aRecordWhoseSeqLenContradictsItsStepIsADeadLetterAndLeavesTheStepAlone() {
        start(Map.of());
        List<TensorRecord> records = step("run-a", 0, 0, geometric(0.9));
        gradients.pipeInput("run-a", records.get(0));
        TensorRecord conflicting = records.get(1).toBuilder().setSeqLen(T + 3).build();
        gradients.pipeInput("run-a", conflicting);
        records.subList(1, T).forEach(r -> gradients.pipeInput("run-a", r));

        assertThat(deadLetters).containsExactly("SEQ_LEN_CONFLICT");
        TestRecord<byte[], byte[]> letter = dlq.readRecord();
        assertThat(header(letter, DeadLetters.HEADER_REASON)).isEqualTo("SEQ_LEN_CONFLICT");
        assertThat(letter.value()).isEqualTo(conflicting.toByteArray());
        LayerHealth result = health.readValue();
        assertThat(result.getComplete()).isTrue();
        assertThat(result.getTimestepNormsList()).hasSize(T);
    }

    @Test
    void nullGarbageAndForeignKeysAndTombstonesAreDeadLettersWithAReason() {
        start(Map.of());
        TensorRecord good = step("run-a", 0, 0, geometric(0.9)).get(0);
        TestInputTopic<byte[], byte[]> raw = driver.createInputTopic(Topics.GRADIENTS, new ByteArraySerializer(),
                new ByteArraySerializer());
        raw.pipeInput((byte[]) null, good.toByteArray());
        raw.pipeInput(new byte[] {(byte) 0xc3, (byte) 0x28, 0, (byte) 0xff}, good.toByteArray());
        raw.pipeInput("run-a".getBytes(StandardCharsets.UTF_8), (byte[]) null);
        publish("run-a", 0, geometric(0.9));

        assertThat(deadLetters).containsExactly("KEY_MISMATCH", "KEY_MISMATCH", "TOMBSTONE");
        List<TestRecord<byte[], byte[]>> letters = dlq.readRecordsToList();
        // The garbage key is rejected as its bytes are read (strict UTF-8), and TopologyTestDriver does
        // not forward the deserialization handler's letters: MalformedCorpusIT reads that one from a broker.
        assertThat(letters).hasSize(2);
        assertThat(letters.get(0).key()).isNull();
        assertThat(header(letters.get(0), DeadLetters.HEADER_ERROR)).contains("key null differs");
        assertThat(header(letters.get(1), DeadLetters.HEADER_ERROR)).contains("tombstone");
        assertThat(health.readValuesToList()).hasSize(1);
    }

    @Test
    void unknownEnumNumbersAreUnknownEnumCountedOnceAndLeaveNoTraceInTheState() {
        start(Map.of());
        TensorRecord activation = tensor("run-e", 0, 0, 0, TensorKind.ACTIVATION, ActivationFunction.TANH,
                new float[8]).toBuilder().setActivationValue(99).build();
        rawGradients.pipeInput("run-e", activation.toByteArray());
        TensorRecord cell = step("run-e", 0, 0, geometric(0.9)).get(0).toBuilder().setCellValue(99).build();
        rawGradients.pipeInput("run-e", cell.toByteArray());
        rawGradients.pipeInput("run-e", step("run-e", 0, 0, geometric(0.9)).get(0).toBuilder().setKindValue(42)
                .build().toByteArray());
        assertThat(outcomes).containsExactly("dlq:UNKNOWN_ENUM", "dlq:UNKNOWN_ENUM", "dlq:UNKNOWN_ENUM");
        assertThat(entries(MonitorTopology.BASELINE_STORE)).isZero();
        assertThat(entries(MonitorTopology.PARTIAL_STORE)).isZero();
        // The layer is not taken for one that publishes activations: its step completes on its gradients
        // at once, without waiting out the grace time.
        publish("run-e", 0, geometric(0.9));
        LayerHealth result = health.readValue();
        assertThat(result.getComplete()).isTrue();
        assertThat(outcomes.subList(3, outcomes.size())).hasSize(T).containsOnly("accepted");
    }

    @Test
    void aKeyThatIsNotValidUtf8IsAKeyMismatchEvenIfItsReplacementCharacterIsTheRunId() {
        start(Map.of());
        TestInputTopic<byte[], byte[]> raw = driver.createInputTopic(Topics.GRADIENTS, new ByteArraySerializer(),
                new ByteArraySerializer());
        raw.pipeInput(new byte[] {(byte) 0xff}, step("\uFFFD", 0, 0, geometric(0.9)).get(0).toByteArray());
        TestInputTopic<byte[], byte[]> rawSteps = driver.createInputTopic(Topics.STEPS, new ByteArraySerializer(),
                new ByteArraySerializer());
        rawSteps.pipeInput(new byte[] {(byte) 0xff}, StepRecord.newBuilder().setRunId("\uFFFD").setStep(1).build()
                .toByteArray());
        assertThat(outcomes).containsExactly("dlq:KEY_MISMATCH", "dlq:KEY_MISMATCH");
        assertThat(entries(MonitorTopology.PARTIAL_STORE)).isZero();
        assertThat(entries(MonitorTopology.RUNS_STORE)).isZero();
    }

    @Test
    void aTombstoneOnStepsIsATombstoneNotANullPointerException() {
        start(Map.of());
        TestInputTopic<String, byte[]> rawSteps = driver.createInputTopic(Topics.STEPS, new StringSerializer(),
                new ByteArraySerializer());
        rawSteps.pipeInput("run-s", (byte[]) null);
        steps.pipeInput("run-s", StepRecord.newBuilder().setRunId("run-s").setStep(3).build());
        assertThat(deadLetters).containsExactly("TOMBSTONE");
        TestRecord<byte[], byte[]> letter = dlq.readRecord();
        assertThat(header(letter, DeadLetters.HEADER_TOPIC)).isEqualTo(Topics.STEPS);
        assertThat(header(letter, DeadLetters.HEADER_REASON)).isEqualTo("TOMBSTONE");
        assertThat(entries(MonitorTopology.RUNS_STORE)).isEqualTo(1);
    }

    @Test
    void aRunIdWithTheStoreKeySeparatorIsADeadLetterAndTheExpiryKeepsWorking() {
        // Before run ids were checked, "a\0x" was stored, and the expiry punctuator split its key on
        // NUL, failed to parse the step, lost the step and dead-lettered an empty record every time.
        start(Map.of("monitor.grace", "10s"));
        TensorRecord hostile = step("a\u0000x", 0, 0, geometric(0.9)).get(0);
        rawGradients.pipeInput("a\u0000x", hostile.toByteArray());
        step("run-a", 0, 0, geometric(0.9)).subList(0, 2).forEach(r -> gradients.pipeInput("run-a", r));
        driver.advanceWallClockTime(Duration.ofSeconds(11));
        assertThat(deadLetters).containsExactly("INVALID_RUN_ID");
        assertThat(outcomes).containsExactly("dlq:INVALID_RUN_ID", "accepted", "accepted");
        LayerHealth expired = health.readValue();
        assertThat(expired.getRunId()).isEqualTo("run-a");
        assertThat(expired.getComplete()).isFalse();
    }

    @Test
    void whatTheMonitorKeepsAndSendsForTheLongestStepFitsInOneKafkaRecord() {
        // Kafka's default max.request.size is 1 MiB; the changelog record of an open step and the
        // LayerHealth of the step must stay below it, or the stream thread dies on them (MalformedCorpusIT).
        int longest = TensorRecords.DEFAULT_LIMITS.maxSeqLen();
        start(Map.of("monitor.grace", "10s"));
        float[] values = new float[8];
        java.util.Arrays.fill(values, 0.5f);
        TensorRecord last = tensor("run-a", 0, 0, 0, TensorKind.HIDDEN_GRAD, ActivationFunction.TANH, values)
                .toBuilder().setSeqLen(longest).setTimestep(longest - 1).build();
        // The open step's header does not grow with seq_len: its timesteps are entries of their own.
        assertThat(StateSerdes.STEP_HEADER.encode(io.gradwatch.monitor.analysis.StepState.start(last, 0).header())
                .length).isLessThan(100);
        gradients.pipeInput("run-a", last);
        driver.advanceWallClockTime(Duration.ofSeconds(11));
        LayerHealth result = health.readValue();
        assertThat(result.getTimestepNormsCount()).isEqualTo(longest);
        assertThat(result.getSerializedSize()).isLessThan(1_000_000);
    }

    @Test
    void aStepOfNothingButNanAndInfIsNonFiniteNotVanishing() {
        start(Map.of());
        float[] nonFinite = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
            Float.NaN, Float.NaN, Float.POSITIVE_INFINITY, Float.NaN};
        for (long step = 0; step < 4; step++) {
            for (int t = 0; t < T; t++) {
                gradients.pipeInput("run-a", tensor("run-a", step, 0, t, TensorKind.HIDDEN_GRAD,
                        ActivationFunction.TANH, nonFinite));
            }
        }
        List<LayerHealth> results = health.readValuesToList();
        assertThat(results).hasSize(4).allSatisfy(result -> {
            assertThat(result.getFlagsList()).containsExactly(AlertType.NON_FINITE);
            assertThat(result.getNonFiniteCount()).isEqualTo(8L * T);
            assertThat(result.getTimestepNormsList()).allSatisfy(norm -> assertThat(norm).isNaN());
        });
        assertThat(alerts.readValuesToList()).extracting(AlertEvent::getType).containsExactly(AlertType.NON_FINITE);
    }

    @Test
    void stepKeysAreParsedFromTheirEnd() {
        StoreKeys.StepKey key = StoreKeys.parseStep(StoreKeys.step("a\u0000b", 12, 3));
        assertThat(key).isEqualTo(new StoreKeys.StepKey("a\u0000b", 12, 3));
        assertThat(StoreKeys.alertParts(StoreKeys.alert("x\u0000y", 2, "VANISHING"))).containsExactly("2", "VANISHING");
    }

    @Test
    void deadReluAndSaturationComeFromActivations() {
        start(Map.of());
        for (int s = 0; s < 3; s++) {
            // As the trainer publishes: per timestep the gradient, then the activation.
            List<TensorRecord> records = new ArrayList<>();
            List<TensorRecord> grads = step("run-r", s, 0, geometric(0.95));
            for (int t = 0; t < T; t++) {
                records.add(grads.get(t));
                records.add(tensor("run-r", s, 0, t, TensorKind.ACTIVATION, ActivationFunction.RELU,
                        new float[] {0.3f, 0, 0, 0, 0.1f, 0, 0, 0}));
            }
            records.forEach(r -> gradients.pipeInput("run-r", r.toBuilder().setActivation(ActivationFunction.RELU)
                    .build()));
        }
        List<LayerHealth> results = health.readValuesToList();
        assertThat(results).hasSize(3);
        assertThat(results.get(2).getDeadFraction()).isEqualTo(0.75);
        assertThat(alerts.readValue().getType()).isEqualTo(AlertType.DEAD_RELU);
    }

    @Test
    void aReportingRunIsKeptAndASilentOneIsForgottenAfterTheRetention() {
        start(Map.of("monitor.run-retention", "1m"));
        for (int s = 0; s < 3; s++) {
            List<TensorRecord> grads = step("run-k", s, 0, geometric(0.1));
            for (int t = 0; t < T; t++) {
                gradients.pipeInput("run-k", grads.get(t));
                gradients.pipeInput("run-k", tensor("run-k", s, 0, t, TensorKind.ACTIVATION, ActivationFunction.TANH,
                        new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0.1f, 0.2f, 0.3f, 0.4f}));
                driver.advanceWallClockTime(Duration.ofSeconds(2));
            }
        }
        assertThat(alerts.readValue().getState()).isEqualTo(AlertState.FIRING);
        assertThat(entries(MonitorTopology.BASELINE_STORE)).isEqualTo(1);
        driver.advanceWallClockTime(Duration.ofMinutes(2));
        assertThat(entries(MonitorTopology.BASELINE_STORE)).isZero();
        assertThat(entries(MonitorTopology.ALERT_STORE)).isZero();
        assertThat(entries(MonitorTopology.LATEST_STORE)).isZero();
    }

    private int entries(String store) {
        int count = 0;
        try (var iterator = driver.<String, Object>getKeyValueStore(store).all()) {
            for (; iterator.hasNext(); iterator.next()) {
                count++;
            }
        }
        return count;
    }

    private void publish(String run, long step, double[] norms) {
        step(run, step, 0, norms).forEach(r -> gradients.pipeInput(run, r));
    }

    private static double[] geometric(double factor) {
        double[] norms = new double[T];
        for (int t = 0; t < T; t++) {
            norms[t] = Math.pow(factor, T - 1 - t);
        }
        return norms;
    }

    /** One HIDDEN_GRAD per timestep, [2, 4] each, whose Frobenius norm is norms[t]. */
    private static List<TensorRecord> step(String run, long step, int layer, double[] norms) {
        List<TensorRecord> records = new ArrayList<>();
        for (int t = 0; t < norms.length; t++) {
            float value = (float) (norms[t] / Math.sqrt(8));
            float[] values = new float[8];
            java.util.Arrays.fill(values, value);
            records.add(tensor(run, step, layer, t, TensorKind.HIDDEN_GRAD, ActivationFunction.TANH, values));
        }
        return records;
    }

    private static TensorRecord tensor(String run, long step, int layer, int t, TensorKind kind,
                                       ActivationFunction activation, float[] values) {
        return TensorRecord.newBuilder().setRunId(run).setStep(step).setLayer(layer).setTimestep(t).setSeqLen(T)
                .setKind(kind).addShape(2).addShape(4).setDtype(DType.F32).setCell(CellType.RNN)
                .setActivation(activation).setData(TensorRecords.encode(values, 0, values.length, DType.F32))
                .setEventTimeMs(1).build();
    }

    private static String header(TestRecord<byte[], byte[]> record, String name) {
        return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

}
