package io.gradwatch.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import io.gradwatch.testkit.Promtool;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --metrics-port} with Kafka: promtool accepts every scrape until the producer's own meters are
 * all bound, its per-topic ones included, which Micrometer binds only at its refresh a minute in.
 */
@ExtendWith(KafkaBrokerExtension.class)
class TrainerMetricsLintIT {

    @Test
    void metricsPassPromtoolFromStartUntilEveryKafkaProducerMeterIsBound(KafkaBroker broker, @TempDir Path scrapes)
            throws Exception {
        broker.ensureTopics(Topics.ALL, 2);
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = socket.getLocalPort();
        }
        String runId = "it-lint-" + System.nanoTime();
        PrintStream originalOut = System.out;
        System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        try {
            CompletableFuture<Integer> training = CompletableFuture.supplyAsync(() -> TrainerMain.execute("train",
                    "--run-id", runId, "--cell", "gru", "--hidden", "8", "--seq-len", "10", "--steps", "1000000",
                    "--max-steps-per-second", "20", "--publish-every", "5", "--bootstrap-servers",
                    broker.bootstrapServers(), "--metrics-port", Integer.toString(port)));
            HttpClient client = HttpClient.newHttpClient();
            URI metrics = URI.create("http://127.0.0.1:" + port + "/metrics");
            String last = Promtool.checkMetricsUntilExposed(() -> {
                try {
                    return client.send(HttpRequest.newBuilder(metrics).build(), HttpResponse.BodyHandlers.ofString())
                            .body();
                } catch (IOException notListeningYet) {
                    return "";
                }
            }, List.of("gradwatch_trainer_step", "kafka_producer_record_send_total",
                    "kafka_producer_topic_record_send_total", "kafka_producer_node_request_latency_avg",
                    "kafka_producer_node_request_latency_max"),
                    Duration.ofSeconds(150), scrapes);
            assertThat(last).contains("gradwatch_trainer_published_records_total{run=\"" + runId + "\"}");
            try (var producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(),
                    GradwatchSerdes.controlCommand().serializer())) {
                producer.send(new ProducerRecord<>(Topics.CONTROL, runId, ControlCommand.newBuilder().setRunId(runId)
                        .setCommandId("stop-lint").setReason("integration test")
                        .setStop(ControlCommand.Stop.getDefaultInstance()).build())).get();
            }
            assertThat(training.get(60, TimeUnit.SECONDS)).isZero();
        } finally {
            System.setOut(originalOut);
        }
    }
}
