package io.gradwatch.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.testkit.Await;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code --metrics-port}: a running trainer serves its progress to Prometheus. */
class TrainerMetricsIT {

    @Test
    void aRunningTrainerServesItsStepLossAndPublishCounters() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = socket.getLocalPort();
        }
        PrintStream originalOut = System.out;
        System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        try {
            CompletableFuture<Integer> training = CompletableFuture.supplyAsync(() -> TrainerMain.execute("train",
                    "--run-id", "metrics-run", "--cell", "gru", "--hidden", "8", "--seq-len", "10", "--steps", "400",
                    "--max-steps-per-second", "50", "--no-kafka", "--publish-every", "1000",
                    "--metrics-port", Integer.toString(port)));
            HttpClient client = HttpClient.newHttpClient();
            URI metrics = URI.create("http://127.0.0.1:" + port + "/metrics");
            String body = Await.until(metrics + " to carry gradwatch_trainer_step", Duration.ofSeconds(30),
                    () -> client.send(HttpRequest.newBuilder(metrics).build(), HttpResponse.BodyHandlers.ofString())
                            .body(),
                    text -> text.contains("gradwatch_trainer_step"));
            assertThat(body).contains("gradwatch_trainer_step{run=\"metrics-run\"}")
                    .contains("gradwatch_trainer_loss{run=\"metrics-run\"}")
                    .contains("gradwatch_trainer_dropped_records_total{run=\"metrics-run\"} 0.0");
            assertThat(training.get(60, TimeUnit.SECONDS)).isZero();
        } finally {
            System.setOut(originalOut);
        }
    }
}
