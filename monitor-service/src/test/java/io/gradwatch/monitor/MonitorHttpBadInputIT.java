package io.gradwatch.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import io.gradwatch.testkit.Await;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every HTTP endpoint of monitor-service (/healthz, /readyz, /metrics, /runs,
 * /runs/{runId}/health) against bad input: each answers a clear 4xx with a JSON message and no
 * stack trace, and a run id is only ever a key, never a path or markup.
 */
@ExtendWith(KafkaBrokerExtension.class)
class MonitorHttpBadInputIT {
    /** A run id as the protocol documents them, slashes included. */
    private static final String RUN = "team-a/lm-7b/" + System.nanoTime();
    /** Values that are wrong for every parameter: non-numeric, negative, huge, empty, unicode, traversal, CRLF, long. */
    private static final List<String> BAD_VALUES = List.of("abc", "-1", "99999999999999999999", "", "%C3%A9t%C3%A9",
            "..%2F..%2Fetc%2Fpasswd", "x%0D%0ASet-Cookie:%20a=1", "%3Cscript%3E", "v".repeat(5000), "%00");
    private static final HttpClient CLIENT = HttpClient.newHttpClient();

    @TempDir
    static Path state;
    private static MonitorMain.Running monitor;
    private static String base;

    @BeforeAll
    static void start(KafkaBroker broker) throws Exception {
        broker.ensureTopics(Topics.ALL, 2);
        Map<String, String> overrides = new HashMap<>();
        overrides.put("kafka.bootstrap.servers", broker.bootstrapServers());
        overrides.put("kafka.state.dir", state.toString());
        overrides.put("monitor.application-id", "it-http-" + System.nanoTime());
        overrides.put("http.port", "0");
        monitor = MonitorMain.start(MonitorConfig.from(Settings.load(MonitorConfig.defaults(), null, Map.of(),
                overrides)));
        base = monitor.http().baseUri().toString();
        Await.until("the monitor's streams running", Duration.ofSeconds(60), monitor.streams()::state,
                KafkaStreams.State.RUNNING::equals);
        try (var producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(),
                new ByteArraySerializer())) {
            for (int t = 0; t < 3; t++) {
                float[] values = {0.5f, 0.5f, 0.5f, 0.5f};
                producer.send(new ProducerRecord<>(Topics.GRADIENTS, RUN, TensorRecord.newBuilder().setRunId(RUN)
                        .setStep(0).setTimestep(t).setSeqLen(3).setKind(TensorKind.HIDDEN_GRAD).addShape(2).addShape(2)
                        .setDtype(DType.F32).setCell(CellType.LSTM).setData(TensorRecords.encode(values, 0, 4, DType.F32))
                        .build().toByteArray()));
            }
        }
        String health = base + "/runs/" + URLEncoder.encode(RUN, StandardCharsets.UTF_8) + "/health";
        Await.until("the run's health at " + health, Duration.ofSeconds(60), () -> get(health).statusCode(),
                status -> status == 200);
    }

    @AfterAll
    static void stop() {
        if (monitor != null) {
            monitor.close();
        }
    }

    @Test
    void healthzAnswersWhateverItsParametersAndOnlyToGet() throws Exception {
        assertThat(get(base + "/healthz").statusCode()).isEqualTo(200);
        assertThat(get(base + "/healthz?anything=1").statusCode()).isEqualTo(200); // probes ignore parameters
        wrongMethods("/healthz");
    }

    @Test
    void readyzAnswersOnceTheMonitorRunsAndOnlyToGet() throws Exception {
        assertThat(get(base + "/readyz").statusCode()).isEqualTo(200);
        wrongMethods("/readyz");
    }

    @Test
    void metricsCarryTheMonitorsCountersButNoRunIds() throws Exception {
        HttpResponse<String> metrics = get(base + "/metrics");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("gradwatch_monitor_accepted_records_total")
                .doesNotContain(RUN); // run ids never become label values here
        wrongMethods("/metrics");
    }

    @Test
    void runsListTheKnownRunAndTakeOnlyAValidScope() throws Exception {
        assertThat(get(base + "/runs").body()).contains("\"run\":\"" + RUN + "\"");
        assertThat(get(base + "/runs?scope=local").statusCode()).isEqualTo(200);
        assertThat(get(base + "/runs?scope=all").statusCode()).isEqualTo(200);
        for (String value : BAD_VALUES) {
            assertError(get(base + "/runs?scope=" + value), 400, "'scope' must be one of [all, local]");
        }
        assertError(get(base + "/runs?scope=local&scope=all"), 400, "given 2 times");
        assertError(get(base + "/runs?scop=local"), 400, "unknown query parameter 'scop'");
        assertError(get(base + "/runs?" + "p".repeat(3000) + "=1"), 400, "unknown query parameter");
        wrongMethods("/runs");
    }

    @Test
    void aRunsHealthIsFoundByItsEncodedIdAndMalformedIdsAreRefused() throws Exception {
        String known = "/runs/" + URLEncoder.encode(RUN, StandardCharsets.UTF_8) + "/health";
        HttpResponse<String> ok = get(base + known);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).contains("\"run\":\"" + RUN + "\"");
        assertError(get(base + "/runs/no-such-run/health"), 404, "no health recorded for run 'no-such-run'");
        // Not the run: a prefix of it, the same with a regex wildcard, its first path segment.
        assertError(get(base + "/runs/team-a/health"), 404, "no health recorded");
        assertError(get(base + "/runs/team-a%2Flm-7b%2F.*/health"), 400, "runId must be");
        for (String id : List.of("..", ".", "%2E%2E", "team-a%2F..%2F..%2Fx", "%2Fetc%2Fpasswd", "a%0D%0Ab",
                "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "%C3%A9t%C3%A9", "r%00x", "x".repeat(201), "a%20b", "a*b")) {
            assertError(get(base + "/runs/" + id + "/health"), 400, "runId must be 1-200 characters");
        }
        assertError(get(base + known + "?limit=5"), 400, "unknown query parameter 'limit'; this endpoint takes none");
        assertError(get(base + "/runs/" + "x".repeat(5000) + "/health"), 400, "runId must be");
        wrongMethods(known);
    }

    @Test
    void unknownPathsAreNotFound() throws Exception {
        for (String path : List.of("/", "/run", "/runs/", "/runs/x", "/runs/x/health/extra", "/RUNS",
                "/%2e%2e/%2e%2e/etc/passwd", "/metrics/x", "/" + "z".repeat(5000))) {
            assertError(get(base + path), 404, "no such path");
        }
    }

    private static void wrongMethods(String path) throws Exception {
        for (String method : List.of("POST", "PUT", "DELETE", "PATCH", "OPTIONS")) {
            HttpResponse<String> response = CLIENT.send(HttpRequest.newBuilder(URI.create(base + path))
                    .method(method, HttpRequest.BodyPublishers.ofString("{\"x\":1}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertError(response, 405, method + " is not allowed on");
            assertThat(response.headers().firstValue("Allow")).hasValue("GET, HEAD");
        }
    }

    static void assertError(HttpResponse<String> response, int status, String message) {
        String what = response.request().method() + " " + abbreviate(response.request().uri().toString());
        assertThat(response.statusCode()).as(what).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).as(what)
                .hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
        assertThat(response.body()).as(what).startsWith("{").contains("\"error\":").contains(message)
                .doesNotContain("Exception").doesNotContain("\tat ").hasSizeLessThan(500);
        assertThat(response.headers().firstValue("Set-Cookie")).as(what).isEmpty();
    }

    private static String abbreviate(String text) {
        return text.length() > 120 ? text.substring(0, 120) + "..." : text;
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
