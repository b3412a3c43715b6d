package io.gradwatch.monitor;

import io.gradwatch.common.config.Settings;
import io.gradwatch.protocol.Topics;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import io.gradwatch.testkit.Promtool;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** monitor-service's /metrics passes promtool from start until Micrometer has bound every Kafka client meter. */
@ExtendWith(KafkaBrokerExtension.class)
class MonitorMetricsLintIT {

    @Test
    void metricsPassPromtoolFromStartUntilEveryKafkaClientMeterIsBound(KafkaBroker broker, @TempDir Path state,
                                                                      @TempDir Path scrapes) throws Exception {
        broker.ensureTopics(Topics.ALL, 2);
        Map<String, String> overrides = new HashMap<>();
        overrides.put("kafka.bootstrap.servers", broker.bootstrapServers());
        overrides.put("kafka.state.dir", state.toString());
        overrides.put("monitor.application-id", "it-lint-" + System.nanoTime());
        overrides.put("http.port", "0");
        MonitorConfig config = MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(), overrides));
        HttpClient client = HttpClient.newHttpClient();
        try (MonitorMain.Running monitor = MonitorMain.start(config);
             var producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(),
                     new ByteArraySerializer())) {
            URI metrics = URI.create(monitor.http().baseUri() + "/metrics");
            String run = "it-lint-" + System.nanoTime();
            // Garbage to dead-letter, so the tasks, their producer and the DLQ path have meters too.
            producer.send(new ProducerRecord<>(Topics.GRADIENTS, run, new byte[] {1, 2, 3}));
            producer.send(new ProducerRecord<>(Topics.STEPS, run, new byte[] {4, 5, 6}));
            producer.flush();
            Promtool.checkMetricsUntilExposed(() -> client.send(HttpRequest.newBuilder(metrics).build(),
                            HttpResponse.BodyHandlers.ofString()).body(),
                    List.of("kafka_consumer_node_request_latency_avg", "kafka_producer_node_request_latency_avg",
                            "kafka_stream_thread_process_rate", "gradwatch_monitor_dlq_records_total"),
                    Duration.ofSeconds(150), scrapes);
        }
    }
}
