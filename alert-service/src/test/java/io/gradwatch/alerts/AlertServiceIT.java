package io.gradwatch.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.Severity;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.testkit.Await;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import io.gradwatch.testkit.Promtool;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** alert-service against a real broker: live /metrics that promtool accepts, and a restart that rebuilds from Kafka. */
@ExtendWith(KafkaBrokerExtension.class)
class AlertServiceIT {
    private final HttpClient client = HttpClient.newHttpClient();

    @Test
    void exposesWhatTheTopicsSayAndRebuildsItAfterARestart(KafkaBroker broker, @TempDir Path dir) throws Exception {
        broker.ensureTopics(Topics.ALL, 2);
        String run = "it-alerts-" + System.nanoTime();
        try (var producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(Topics.STEPS, run, StepRecord.newBuilder().setRunId(run).setStep(40)
                    .setLoss(0.69).setAccuracy(0.5).setGradNorm(0.2).build().toByteArray()));
            LayerHealth.Builder health = LayerHealth.newBuilder().setRunId(run).setStep(40).setLayer(0).setSeqLen(50)
                    .setDecayRatio(2e-11).setHorizon(9).setSaturationFraction(0.1)
                    .setEventTimeMs(System.currentTimeMillis());
            for (int t = 0; t < 50; t++) {
                health.addTimestepNorms(Math.pow(0.6, 49 - t));
            }
            producer.send(new ProducerRecord<>(Topics.HEALTH, run, health.build().toByteArray()));
            producer.send(new ProducerRecord<>(Topics.ALERTS, run, AlertEvent.newBuilder().setRunId(run).setLayer(0)
                    .setStep(40).setType(AlertType.VANISHING).setState(AlertState.FIRING).setSeverity(Severity.WARNING)
                    .setValue(2e-11).setThreshold(2.6e-8).setRemedy("use an LSTM or GRU").build().toByteArray()));
            producer.send(new ProducerRecord<>(Topics.HEALTH, run, new byte[] {9, 9, 9}));
        }

        for (int attempt = 0; attempt < 2; attempt++) {
            try (AlertServiceMain.Running service = AlertServiceMain.start(config(broker))) {
                String base = service.http().baseUri().toString();
                awaitReady(base);
                String metrics = awaitContaining(base + "/metrics", "gradwatch_alert_active");
                assertThat(metrics)
                        .contains("gradwatch_training_step{run=\"" + run + "\"} 40.0")
                        .contains("gradwatch_gradient_decay_ratio{layer=\"0\",run=\"" + run + "\"} 2.0E-11")
                        .contains("gradwatch_alert_active{layer=\"0\",run=\"" + run
                                + "\",severity=\"warning\",type=\"vanishing\"} 1.0")
                        .contains("gradwatch_alert_service_malformed_records_total")
                        .contains("kafka_consumer_")
                        .contains("jvm_memory_used_bytes");
                Promtool.checkMetrics(metrics, dir.resolve("metrics-" + attempt + ".txt"));
                assertThat(get(base + "/api/alerts/active")).contains("\"run\":\"" + run + "\"")
                        .contains("\"remedy\":\"use an LSTM or GRU\"");
                assertThat(get(base + "/api/runs/" + run)).contains("\"decayRatio\":2.0E-11");
                assertThat(client.send(HttpRequest.newBuilder(URI.create(base + "/api/runs/%3Cbad%3E")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(400);
            }
        }
    }

    private static AlertServiceConfig config(KafkaBroker broker) {
        return AlertServiceConfig.from(Settings.load(AlertServiceConfig.defaults(), null, Map.of(),
                Map.of("kafka.bootstrap.servers", broker.bootstrapServers(), "http.port", "0")));
    }

    private void awaitReady(String base) {
        Await.until("alert-service ready at " + base, Duration.ofSeconds(60), () -> client.send(
                HttpRequest.newBuilder(URI.create(base + "/readyz")).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
    }

    private String awaitContaining(String url, String text) {
        return Await.until(url + " to contain " + text, Duration.ofSeconds(30), () -> get(url),
                body -> body.contains(text));
    }

    private String get(String url) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
