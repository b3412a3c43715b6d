package io.gradwatch.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
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
import io.gradwatch.testkit.Await;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** monitor-service against a real broker, exactly once, with bad records mixed in. */
@ExtendWith(KafkaBrokerExtension.class)
class MonitorIT {
    private static final int T = 6;

    @BeforeAll
    static void createTopics(KafkaBroker broker) {
        broker.ensureTopics(Topics.ALL, 2);
    }

    /** Each test's monitor is a new application that reads from the earliest offset: it sees only its own records. */
    @BeforeEach
    void emptyTheInputTopics(KafkaBroker broker) {
        broker.deleteAllRecords(List.of(Topics.GRADIENTS, Topics.SUMMARIES, Topics.STEPS, Topics.DLQ));
    }

    @Test
    void trainerLikeRecordsBecomeHealthAndAlertsExactlyOnceWhileBadOnesGoToTheDlq(KafkaBroker broker,
                                                                                   @TempDir Path state) throws Exception {
        String run = "it-run-" + System.nanoTime();
        Map<String, String> overrides = new HashMap<>();
        overrides.put("kafka.bootstrap.servers", broker.bootstrapServers());
        overrides.put("kafka.state.dir", state.toString());
        overrides.put("monitor.application-id", "it-monitor-" + System.nanoTime());
        overrides.put("http.port", "0");
        MonitorConfig config = MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(), overrides));
        try (MonitorMain.Running monitor = MonitorMain.start(config)) {
            awaitRunning(monitor.streams());
            try (var producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(),
                    new ByteArraySerializer())) {
                for (int step = 0; step < 4; step++) {
                    for (int t = 0; t < T; t++) {
                        producer.send(new ProducerRecord<>(Topics.GRADIENTS, run, tensor(run, step, t).toByteArray()));
                        if (step == 1 && t == 2) {
                            producer.send(new ProducerRecord<>(Topics.GRADIENTS, run, new byte[] {1, 2, 3, 4}));
                            producer.send(new ProducerRecord<>(Topics.GRADIENTS, run, tensor(run, step, t).toBuilder()
                                    .setTimestep(-4).build().toByteArray()));
                        }
                    }
                }
                producer.flush();
            }

            List<LayerHealth> health = readUntil(broker, Topics.HEALTH, run, 4, bytes ->
                    GradwatchSerdes.layerHealth().decode(bytes)).stream().map(r -> (LayerHealth) r).toList();
            assertThat(health).extracting(LayerHealth::getStep).containsExactly(0L, 1L, 2L, 3L);
            assertThat(health).allSatisfy(h -> assertThat(h.getFlagsList()).contains(AlertType.VANISHING));
            List<AlertEvent> alerts = readUntil(broker, Topics.ALERTS, run, 1, bytes ->
                    GradwatchSerdes.alertEvent().decode(bytes)).stream().map(r -> (AlertEvent) r).toList();
            assertThat(alerts).hasSize(1);
            assertThat(alerts.get(0).getState()).isEqualTo(AlertState.FIRING);
            assertThat(alerts.get(0).getStep()).isEqualTo(2);
            List<Object> letters = readUntil(broker, Topics.DLQ, run, 2, bytes -> bytes);
            assertThat(letters).hasSize(2);

            HttpClient client = HttpClient.newHttpClient();
            String body = client.send(HttpRequest.newBuilder(URI.create(monitor.http().baseUri() + "/runs/" + run
                    + "/health")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(body).contains("\"run\":\"" + run + "\"").contains("\"lastStep\":3")
                    .contains("\"type\":\"VANISHING\"");
            assertThat(client.send(HttpRequest.newBuilder(URI.create(monitor.http().baseUri() + "/runs")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            String metrics = client.send(HttpRequest.newBuilder(URI.create(monitor.http().baseUri() + "/metrics"))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("gradwatch_monitor_dlq_records_total{reason=\"TIMESTEP_OUT_OF_RANGE\"} 1.0")
                    .contains("gradwatch_monitor_layer_health_total{complete=\"true\"} 4.0")
                    .contains("kafka_stream");
            assertThat(client.send(HttpRequest.newBuilder(URI.create(monitor.http().baseUri() + "/runs/no-such-run"
                    + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
        }
    }

    @Test
    void summariesBecomeTheSameHealthAndAlertsWhileMalformedOnesGoToTheDlqWithTheirReason(KafkaBroker broker,
                                                                                          @TempDir Path state)
            throws Exception {
        String run = "it-summary-" + System.nanoTime();
        MonitorConfig config = config(broker, "it-summaries-" + System.nanoTime(), state);
        try (MonitorMain.Running monitor = MonitorMain.start(config)) {
            awaitRunning(monitor.streams());
            try (var producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(),
                    new ByteArraySerializer())) {
                for (int step = 0; step < 4; step++) {
                    List<TensorRecord> tensors = new ArrayList<>();
                    for (int t = 0; t < T; t++) {
                        tensors.add(tensor(run, step, t));
                    }
                    GradientSummary summary = GradientSummaries.of(tensors, ActivationStats.DEFAULT_SATURATION_MARGIN);
                    producer.send(new ProducerRecord<>(Topics.SUMMARIES, run, summary.toByteArray()));
                    if (step == 1) {
                        producer.send(new ProducerRecord<>(Topics.SUMMARIES, run, summary.toBuilder().clearMaxAbs()
                                .build().toByteArray()));
                        producer.send(new ProducerRecord<>(Topics.SUMMARIES, run, summary.toBuilder().setNorm(0, -1)
                                .build().toByteArray()));
                    }
                }
                producer.flush();
            }
            List<LayerHealth> health = readUntil(broker, Topics.HEALTH, run, 4, bytes ->
                    GradwatchSerdes.layerHealth().decode(bytes)).stream().map(r -> (LayerHealth) r).toList();
            assertThat(health).extracting(LayerHealth::getStep).containsExactly(0L, 1L, 2L, 3L);
            assertThat(health).allSatisfy(h -> {
                assertThat(h.getFlagsList()).contains(AlertType.VANISHING);
                assertThat(h.getComplete()).isTrue();
                assertThat(h.getTimestepsReceived()).isEqualTo(T);
            });
            List<AlertEvent> alerts = readUntil(broker, Topics.ALERTS, run, 1, bytes ->
                    GradwatchSerdes.alertEvent().decode(bytes)).stream().map(r -> (AlertEvent) r).toList();
            assertThat(alerts).hasSize(1);
            assertThat(alerts.get(0).getState()).isEqualTo(AlertState.FIRING);
            assertThat(alerts.get(0).getStep()).isEqualTo(2);
            assertThat(readUntil(broker, Topics.DLQ, run, 2, bytes -> bytes)).hasSize(2);
            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    monitor.http().baseUri() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("gradwatch_monitor_dlq_records_total{reason=\"SUMMARY_LENGTH_MISMATCH\"} 1.0")
                    .contains("gradwatch_monitor_dlq_records_total{reason=\"INVALID_SUMMARY\"} 1.0");
        }
    }

    @Test
    void anyInstanceAnswersForAnyRunByAskingTheOwner(KafkaBroker broker, @TempDir Path stateA, @TempDir Path stateB)
            throws Exception {
        String topicSuffix = Long.toString(System.nanoTime());
        String application = "it-pair-" + topicSuffix;
        MonitorConfig a = config(broker, application, stateA);
        MonitorConfig b = config(broker, application, stateB);
        try (MonitorMain.Running first = MonitorMain.start(a); MonitorMain.Running second = MonitorMain.start(b)) {
            awaitRunning(first.streams());
            awaitRunning(second.streams());
            List<String> runs = new ArrayList<>();
            try (var producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(),
                    new ByteArraySerializer())) {
                for (int i = 0; i < 8; i++) {
                    String run = "pair-" + topicSuffix + "-" + i;
                    runs.add(run);
                    for (int t = 0; t < T; t++) {
                        producer.send(new ProducerRecord<>(Topics.GRADIENTS, run, tensor(run, 0, t).toByteArray()));
                    }
                }
            }
            HttpClient client = HttpClient.newHttpClient();
            for (String run : runs) {
                for (MonitorMain.Running instance : List.of(first, second)) {
                    URI health = URI.create(instance.http().baseUri() + "/runs/" + run + "/health");
                    HttpResponse<String> response = Await.until(health + " answering", Duration.ofSeconds(60),
                            () -> client.send(HttpRequest.newBuilder(health).build(),
                                    HttpResponse.BodyHandlers.ofString()),
                            answer -> answer.statusCode() == 200);
                    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                    assertThat(response.body()).contains("\"run\":\"" + run + "\"");
                }
            }
            String all = client.send(HttpRequest.newBuilder(URI.create(first.http().baseUri() + "/runs")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertThat(runs).allSatisfy(run -> assertThat(all).contains(run));
        }
    }

    private static MonitorConfig config(KafkaBroker broker, String application, Path state) {
        Map<String, String> overrides = new HashMap<>();
        overrides.put("kafka.bootstrap.servers", broker.bootstrapServers());
        overrides.put("kafka.state.dir", state.toString());
        overrides.put("monitor.application-id", application);
        overrides.put("http.port", "0");
        return MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(), overrides));
    }

    private static void awaitRunning(KafkaStreams streams) {
        Await.until("the monitor's streams running", Duration.ofSeconds(60), streams::state,
                KafkaStreams.State.RUNNING::equals);
    }

    /** Reads a topic with read_committed until {@code expected} records of the run came, then a little longer. */
    private static List<Object> readUntil(KafkaBroker broker, String topic, String run, int expected,
                                          Function<byte[], Object> decode) {
        Properties props = broker.clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "it-read-" + System.nanoTime());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<Object> records = new ArrayList<>();
        Predicate<ConsumerRecord<String, byte[]>> ours = r -> run.equals(r.key());
        try (var consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            Await.until(expected + " records of " + run + " on " + topic, Duration.ofSeconds(60), () -> {
                consumer.poll(Duration.ofMillis(300)).forEach(r -> {
                    if (ours.test(r)) {
                        records.add(decode.apply(r.value()));
                    }
                });
                return records.size();
            }, count -> count >= expected);
            consumer.poll(Duration.ofSeconds(2)).forEach(r -> {
                if (ours.test(r)) {
                    records.add(decode.apply(r.value()));
                }
            });
        }
        return records;
    }

    /** dL/dh_t of a vanishing tanh RNN: 0.1 per timestep back from the loss. */
    private static TensorRecord tensor(String run, long step, int t) {
        float value = (float) Math.pow(0.1, T - 1 - t);
        float[] values = {value, value, value, value};
        return TensorRecord.newBuilder().setRunId(run).setStep(step).setLayer(0).setTimestep(t).setSeqLen(T)
                .setKind(TensorKind.HIDDEN_GRAD).addShape(2).addShape(2).setDtype(DType.F32).setCell(CellType.RNN)
                .setActivation(ActivationFunction.TANH).setData(TensorRecords.encode(values, 0, 4, DType.F32))
                .setEventTimeMs(System.currentTimeMillis()).build();
    }

}
