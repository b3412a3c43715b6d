package io.gradwatch.common.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.testkit.Await;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Clients that announce a body and never send it, or dribble their headers a byte at a time, against
 * the real server: the probes still answer at once, and the server closes the slow connections
 * once the read timeout has passed.
 */
class SlowClientsIT {
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(1);

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<SlowClient> slowClients = new ArrayList<>();

    @AfterEach
    void closeSlowClients() {
        slowClients.forEach(SlowClient::close);
    }

    @Test
    void twentySlowClientsNeitherStarveTheProbesNorStayConnectedPastTheReadTimeout() throws Exception {
        try (HttpService service = server(new HttpLimits(READ_TIMEOUT, HttpLimits.DEFAULT.threads(),
                HttpLimits.DEFAULT.queue()))) {
            assertThat(get(service, "/healthz", Duration.ofSeconds(10)).statusCode()).isEqualTo(200);
            for (int i = 0; i < 10; i++) {
                slowClients.add(SlowClient.announcingABody(service.port(), i % 2 == 0 ? "POST /echo" : "GET /readyz"));
                slowClients.add(SlowClient.dribblingHeaders(service.port()));
            }
            // Every slow client has sent its first bytes, so each holds a worker while the probes are sent.
            long slowestProbe = 0;
            for (String probe : List.of("/healthz", "/readyz", "/metrics")) {
                long start = System.nanoTime();
                HttpResponse<String> response = get(service, probe, Duration.ofSeconds(2));
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertThat(response.statusCode()).as(probe).isEqualTo(200);
                assertThat(millis).as(probe + " answered within (ms)").isLessThan(READ_TIMEOUT.toMillis());
                slowestProbe = Math.max(slowestProbe, millis);
            }
            assertThat(slowClients).allSatisfy(slow -> assertThat(slow.closedAfter()).isNotDone());
            for (SlowClient slow : slowClients) {
                long closedAfterMillis = slow.closedAfter().get(READ_TIMEOUT.toMillis() + 3_000, TimeUnit.MILLISECONDS);
                assertThat(closedAfterMillis).as(slow.kind()).isBetween(READ_TIMEOUT.toMillis() - 100,
                        READ_TIMEOUT.toMillis() + 1_500);
            }
            assertThat(service.timedOutRequests()).isEqualTo(20);
            System.err.printf("20 slow clients: slowest probe %d ms; slow clients closed after %d to %d ms%n",
                    slowestProbe, slowClients.stream().mapToLong(slow -> slow.closedAfter().join()).min().orElse(0),
                    slowClients.stream().mapToLong(slow -> slow.closedAfter().join()).max().orElse(0));
            assertThat(get(service, "/healthz", Duration.ofSeconds(2)).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void whenEveryWorkerAndTheQueueAreHeldARequestIsAnswered503AtOnceThenServedOnceTheSlowOnesAreCut()
            throws Exception {
        Duration timeout = Duration.ofSeconds(2);
        try (HttpService service = server(new HttpLimits(timeout, 2, 1))) {
            // Warm the client and the server's code paths first: what is timed is the server's answer.
            assertThat(get(service, "/healthz", Duration.ofSeconds(10)).statusCode()).isEqualTo(200);
            // One at a time: a worker takes a queued request a moment after it is queued, and a request
            // arriving in that moment would find the one-place queue full.
            for (int held = 1; held <= 3; held++) {
                slowClients.add(SlowClient.announcingABody(service.port(), "POST /echo"));
                int busy = Math.min(held, 2);
                int queued = held - busy;
                Await.until(busy + " workers busy and " + queued + " queued", Duration.ofSeconds(3),
                        () -> service.workers().busy() == busy && service.workers().queued() == queued);
            }
            assertThat(service.rejectedRequests()).isZero();
            long start = System.nanoTime();
            HttpResponse<String> busy = get(service, "/healthz", Duration.ofSeconds(2));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(busy.statusCode()).isEqualTo(503);
            assertThat(busy.body()).contains("\"error\":\"server busy");
            assertThat(busy.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(millis).as("503 within (ms), not after the read timeout").isLessThan(timeout.toMillis() / 2);
            assertThat(service.rejectedRequests()).isEqualTo(1);
            System.err.printf("workers and queue held: 503 in %d ms%n", millis);
            assertThat(Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("slow-http"))
                    .count()).as("threads of the server").isLessThanOrEqualTo(2 + 2 + 1);
            // The two held workers are cut after the timeout, the queued one a timeout later.
            Await.until("/healthz 200 once the slow clients are cut", timeout.plusSeconds(3),
                    () -> get(service, "/healthz", Duration.ofSeconds(2)).statusCode() == 200);
            for (SlowClient slow : slowClients) {
                assertThat(slow.closedAfter().get(2 * timeout.toMillis() + 3_000, TimeUnit.MILLISECONDS))
                        .isLessThan(2 * timeout.toMillis() + 1_500);
            }
        }
    }

    private static HttpService server(HttpLimits limits) {
        return new HttpService(new HttpSettings("127.0.0.1", 0, new HttpAuth.None(), limits))
                .publicGet("/healthz", request -> Response.text(200, "text/plain", "ok\n"))
                .publicGet("/readyz", request -> Response.text(200, "text/plain", "ready\n"))
                .get("/metrics", request -> Response.text(200, "text/plain; version=0.0.4", "up 1\n".repeat(2_000)))
                .post("/echo", request -> Response.bytes("application/octet-stream", request.body()))
                .start("slow-http");
    }

    private HttpResponse<String> get(HttpService service, String path, Duration timeout) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(service.baseUri() + path)).timeout(timeout).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A raw socket that starts a request and never finishes it; completes with the ms until the server closed it. */
    private static final class SlowClient implements AutoCloseable {
        private static final Duration DRIBBLE_PAUSE = Duration.ofMillis(50);
        private final String kind;
        private final Socket socket;
        private final CompletableFuture<Long> closedAfter = new CompletableFuture<>();
        private final long started = System.nanoTime();

        private SlowClient(String kind, int port, String firstBytes, boolean dribble) throws IOException {
            this.kind = kind;
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(15_000);
            OutputStream out = socket.getOutputStream();
            out.write(firstBytes.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            Thread reader = new Thread(this::awaitClose, "slow-client-reader");
            reader.setDaemon(true);
            reader.start();
            if (dribble) {
                Thread writer = new Thread(() -> dribble(out), "slow-client-writer");
                writer.setDaemon(true);
                writer.start();
            }
        }

        static SlowClient announcingABody(int port, String requestLine) throws IOException {
            return new SlowClient(requestLine + " with a body never sent", port, requestLine + " HTTP/1.1\r\n"
                    + "Host: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n", false);
        }

        static SlowClient dribblingHeaders(int port) throws IOException {
            return new SlowClient("headers a byte at a time", port, "GET /healthz HTTP/1.1\r\nHost: 1", true);
        }

        String kind() {
            return kind;
        }

        CompletableFuture<Long> closedAfter() {
            return closedAfter;
        }

        private void awaitClose() {
            try (InputStream in = socket.getInputStream()) {
                while (in.read() >= 0) {
                    // whatever the server says before it closes (e.g. a 400) does not count as closing
                }
            } catch (IOException closed) {
                // a reset is a close too
            }
            closedAfter.complete(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        }

        private void dribble(OutputStream out) {
            try {
                while (!closedAfter.isDone()) {
                    out.write('x'); // one endless header value, 20 bytes a second
                    out.flush();
                    Await.hold(DRIBBLE_PAUSE, "a slow client sends its header at 20 bytes a second");
                }
            } catch (IOException | IllegalStateException stopped) {
                // the server closed the connection
            }
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // already closed by the server
            }
        }
    }
}
