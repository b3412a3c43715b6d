package io.gradwatch.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.ActivationStats;
import io.gradwatch.protocol.GradientSummaries;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.GradientSummary;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import io.gradwatch.testkit.Await;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import io.gradwatch.trainer.checkpoint.Checkpoint;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The trainer against a real broker: what it publishes, and a control command stopping it. */
@ExtendWith(KafkaBrokerExtension.class)
class TrainerKafkaIT {

    @BeforeAll
    static void createTopics(KafkaBroker broker) {
        broker.ensureTopics(Topics.ALL, 2);
    }

    @Test
    void publishesEveryTimestepOfEveryLayerKeyedByRunAndOneStepRecordPerStep(KafkaBroker broker) throws Exception {
        String runId = "it-publish-" + System.nanoTime();
        int exit = TrainerMain.execute("train", "--run-id", runId, "--cell", "gru", "--layers", "2", "--hidden", "8",
                "--seq-len", "6", "--batch", "4", "--steps", "6", "--publish-every", "2", "--dtype", "F16",
                "--bootstrap-servers", broker.bootstrapServers());
        assertThat(exit).isZero();

        List<ConsumerRecord<String, byte[]>> tensors = readRun(broker, Topics.GRADIENTS, runId, 3 * 2 * 6 * 2);
        List<ConsumerRecord<String, byte[]>> steps = readRun(broker, Topics.STEPS, runId, 3);
        // Steps 0, 2, 4; 2 layers; 6 timesteps; HIDDEN_GRAD and ACTIVATION.
        assertThat(tensors).hasSize(3 * 2 * 6 * 2);
        assertThat(tensors).allSatisfy(r -> assertThat(r.key()).isEqualTo(runId));
        List<TensorRecord> decoded = tensors.stream().map(r -> GradwatchSerdes.tensorRecord().decode(r.value())).toList();
        assertThat(decoded).allSatisfy(r -> {
            assertThat(r.getShapeList()).containsExactly(4L, 8L);
            assertThat(r.getSeqLen()).isEqualTo(6);
            assertThat(r.getDtype()).isEqualTo(DType.F16);
            assertThat(r.getNumLayers()).isEqualTo(2);
        });
        assertThat(decoded.stream().map(TensorRecord::getStep).distinct()).containsExactly(0L, 2L, 4L);
        assertThat(decoded.stream().filter(r -> r.getKind() == TensorKind.HIDDEN_GRAD)).hasSize(36);
        List<StepRecord> stepRecords = steps.stream().map(r -> GradwatchSerdes.stepRecord().decode(r.value())).toList();
        assertThat(stepRecords).extracting(StepRecord::getStep).containsExactly(0L, 2L, 4L);
        assertThat(stepRecords.get(0).getMetadata().getNumLayers()).isEqualTo(2);
        assertThat(stepRecords.get(0).getParamGradNormsMap()).containsKeys("weight_hh_l0", "weight_hh_l1", "head.weight");
    }

    @Test
    void publishSummariesSendsOneSummaryPerLayerAndStepEqualToTheReductionOfTheTensorsOfTheSameRun(KafkaBroker broker) {
        String tensorsRun = "it-tensors-" + System.nanoTime();
        String summariesRun = "it-summaries-" + System.nanoTime();
        String[] training = {"--cell", "rnn", "--activation", "relu", "--layers", "2", "--hidden", "8",
            "--seq-len", "6", "--batch", "4", "--steps", "6", "--publish-every", "2", "--publish-preact", "--seed", "7",
            "--bootstrap-servers", broker.bootstrapServers()};
        assertThat(TrainerMain.execute(concat(new String[] {"train", "--run-id", tensorsRun}, training))).isZero();
        assertThat(TrainerMain.execute(concat(new String[] {"train", "--run-id", summariesRun, "--publish", "summaries"},
                training))).isZero();

        List<GradientSummary> summaries = readRun(broker, Topics.SUMMARIES, summariesRun, 3 * 2).stream()
                .map(r -> GradwatchSerdes.gradientSummary().decode(r.value())).toList();
        assertThat(summaries).hasSize(3 * 2);
        assertThat(summaries).extracting(GradientSummary::getStep).containsExactly(0L, 0L, 2L, 2L, 4L, 4L);
        assertThat(summaries).allSatisfy(s -> {
            assertThat(s.getSeqLen()).isEqualTo(6);
            assertThat(s.getUnits()).isEqualTo(8);
            assertThat(s.getActivations().getValues()).isEqualTo(6 * 4 * 8);
        });
        assertThat(readRun(broker, Topics.GRADIENTS, summariesRun, 0)).isEmpty();
        assertThat(readRun(broker, Topics.STEPS, summariesRun, 3)).hasSize(3);

        // The same seed trains the same run: the trainer's reduction of its float arrays is the
        // protocol's reduction of the TensorRecords the tensors run put on the wire.
        List<TensorRecord> tensors = readRun(broker, Topics.GRADIENTS, tensorsRun, 3 * 2 * 6 * 3).stream()
                .map(r -> GradwatchSerdes.tensorRecord().decode(r.value())).toList();
        for (GradientSummary summary : summaries) {
            GradientSummary reduced = GradientSummaries.of(tensors.stream()
                    .filter(t -> t.getStep() == summary.getStep() && t.getLayer() == summary.getLayer()).toList(),
                    ActivationStats.DEFAULT_SATURATION_MARGIN);
            assertThat(summary.toBuilder().setRunId(tensorsRun).setEventTimeMs(0).build())
                    .isEqualTo(reduced.toBuilder().setEventTimeMs(0).build());
        }
    }

    private static String[] concat(String[] first, String[] second) {
        String[] all = java.util.Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, all, first.length, second.length);
        return all;
    }

    @Test
    void aStopCommandCheckpointsAndStopsTheRun(KafkaBroker broker, @TempDir Path checkpoints) throws Exception {
        String runId = "it-stop-" + System.nanoTime();
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        PrintStream originalOut = System.out;
        CompletableFuture<Integer> training;
        try {
            System.setOut(new PrintStream(output, true, StandardCharsets.UTF_8));
            training = CompletableFuture.supplyAsync(() -> TrainerMain.execute("train", "--run-id", runId,
                    "--preset", "lstm", "--hidden", "8", "--seq-len", "10", "--steps", "1000000", "--publish-every", "5",
                    "--checkpoint-dir", checkpoints.toString(), "--bootstrap-servers", broker.bootstrapServers()));
            // Once step records flow, the control listener is subscribed; then ask the run to stop.
            readRun(broker, Topics.STEPS, runId, 1);
            Properties props = broker.clientProperties();
            try (var producer = new KafkaProducer<>(props, new StringSerializer(),
                    GradwatchSerdes.controlCommand().serializer())) {
                producer.send(new ProducerRecord<>(Topics.CONTROL, runId, ControlCommand.newBuilder().setRunId(runId)
                        .setCommandId("stop-1").setReason("integration test")
                        .setStop(ControlCommand.Stop.getDefaultInstance()).build())).get();
            }
            assertThat(training.get(60, TimeUnit.SECONDS)).isZero();
        } finally {
            System.setOut(originalOut);
        }
        String log = output.toString(StandardCharsets.UTF_8);
        assertThat(log).contains("control: stop (stop-1, integration test)").contains("stopped by command");
        assertThat(checkpoints.resolve(Checkpoint.MODEL_FILE)).exists();
        assertThat(Files.size(checkpoints.resolve(Checkpoint.STATE_FILE))).isPositive();
    }

    private static List<ConsumerRecord<String, byte[]>> readRun(KafkaBroker broker, String topic, String runId,
                                                               int atLeast) {
        Properties props = broker.clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + topic + "-" + System.nanoTime());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            Await.until(atLeast + " records of " + runId + " on " + topic, Duration.ofSeconds(60), () -> {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (runId.equals(record.key())) {
                        records.add(record);
                    }
                }
                return records.size();
            }, count -> count >= atLeast);
            // Anything beyond the expected count would show up within a short extra poll.
            consumer.poll(Duration.ofMillis(500)).forEach(r -> {
                if (runId.equals(r.key())) {
                    records.add(r);
                }
            });
        }
        return records;
    }
}
