package io.gradwatch.alerts;

import io.gradwatch.common.config.Settings;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import io.gradwatch.testkit.Promtool;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * alert-service's /metrics passes promtool from start until Micrometer has bound every Kafka client
 * meter, the per-node ones included, which its Kafka binder adds only at its first refresh, a
 * minute after start (they had no HELP text).
 */
@ExtendWith(KafkaBrokerExtension.class)
class AlertMetricsLintIT {

    @Test
    void metricsPassPromtoolFromStartUntilEveryKafkaClientMeterIsBound(KafkaBroker broker, @TempDir Path scrapes)
            throws Exception {
        broker.ensureTopics(Topics.ALL, 2);
        String run = "it-lint-" + System.nanoTime();
        try (var producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(Topics.STEPS, run, StepRecord.newBuilder().setRunId(run).setStep(1)
                    .setLoss(0.5).build().toByteArray()));
        }
        AlertServiceConfig config = AlertServiceConfig.from(Settings.load(AlertServiceConfig.defaults(), null, Map.of(),
                Map.of("kafka.bootstrap.servers", broker.bootstrapServers(), "http.port", "0")));
        HttpClient client = HttpClient.newHttpClient();
        try (AlertServiceMain.Running service = AlertServiceMain.start(config)) {
            URI metrics = URI.create(service.http().baseUri() + "/metrics");
            Promtool.checkMetricsUntilExposed(() -> client.send(HttpRequest.newBuilder(metrics).build(),
                            HttpResponse.BodyHandlers.ofString()).body(),
                    List.of("kafka_consumer_node_request_latency_avg", "kafka_consumer_node_request_latency_max",
                            "kafka_consumer_fetch_manager_records_consumed_total", "gradwatch_training_step"),
                    Duration.ofSeconds(150), scrapes);
        }
    }
}
