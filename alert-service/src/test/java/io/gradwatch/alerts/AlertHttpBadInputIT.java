package io.gradwatch.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.common.http.Json;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.Severity;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every HTTP endpoint of alert-service (/healthz, /readyz, /metrics, /api/alerts/active,
 * /api/alerts/history, /api/runs, /api/runs/{runId}, the dashboard page and its assets) against
 * bad input: a clear 4xx with a JSON message, no stack trace; run ids, even ones full of markup,
 * are data, never HTML or a path.
 */
@ExtendWith(KafkaBrokerExtension.class)
class AlertHttpBadInputIT {
    private static final String RUN = "team-a/lm-7b/" + System.nanoTime();
    /** The protocol allows any run id without control characters: this one is markup. */
    private static final String HOSTILE_RUN = "<img src=x onerror=document.body.setAttribute('data-pwned',1)>\"'&"
            + System.nanoTime();
    private static final List<String> BAD_NUMBERS = List.of("abc", "-1", "0", "10001", "99999999999999999999", "",
            "%D9%A3", "1.5", "1e3", "%2B5", "..%2F..%2Fetc%2Fpasswd", "5%0D%0ASet-Cookie:%20a=1", "9".repeat(5000));
    private static final HttpClient CLIENT = HttpClient.newHttpClient();
    private static AlertServiceMain.Running service;
    private static String base;

    @BeforeAll
    static void start(KafkaBroker broker) {
        broker.ensureTopics(Topics.ALL, 2);
        service = AlertServiceMain.start(AlertServiceConfig.from(Settings.load(AlertServiceConfig.defaults(), null,
                Map.of(), Map.of("kafka.bootstrap.servers", broker.bootstrapServers(), "http.port", "0"))));
        base = service.http().baseUri().toString();
        for (String run : List.of(RUN, HOSTILE_RUN)) {
            service.state().apply(StepRecord.newBuilder().setRunId(run).setStep(3).setLoss(0.5).build());
            service.state().apply(LayerHealth.newBuilder().setRunId(run).setStep(3).setLayer(0).setSeqLen(2)
                    .addTimestepNorms(0.1).addTimestepNorms(1).setDecayRatio(0.1).build());
            service.state().apply(AlertEvent.newBuilder().setRunId(run).setLayer(0).setStep(3)
                    .setType(AlertType.VANISHING).setState(AlertState.FIRING).setSeverity(Severity.WARNING)
                    .setMessage("<b>" + run + "</b>").build());
        }
    }

    @AfterAll
    static void stop() {
        if (service != null) {
            service.close();
        }
    }

    @Test
    void probesAndMetricsAnswerAndRefuseOtherMethods() throws Exception {
        for (String path : List.of("/healthz", "/readyz", "/metrics")) {
            assertThat(get(base + path).statusCode()).as(path).isIn(200, 503);
            wrongMethods(path);
        }
    }

    @Test
    void activeAlertsAreJsonAndTakeNoQueryParameters() throws Exception {
        HttpResponse<String> ok = get(base + "/api/alerts/active");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertJsonNotHtml(ok);
        assertError(get(base + "/api/alerts/active?limit=5"), 400, "unknown query parameter 'limit'");
        assertError(get(base + "/api/alerts/active?run=%3Cscript%3E"), 400, "this endpoint takes none");
        wrongMethods("/api/alerts/active");
    }

    @Test
    void alertHistoryTakesOneValidLimitAndNothingElse() throws Exception {
        assertThat(get(base + "/api/alerts/history").statusCode()).isEqualTo(200);
        // Other test classes of this JVM share the topics: the newest event need not be this class's own.
        assertThat(Json.MAPPER.readTree(get(base + "/api/alerts/history?limit=1").body()))
                .hasSize(1);
        assertThat(get(base + "/api/alerts/history?limit=10000").body()).startsWith("[").contains("VANISHING");
        assertThat(get(base + "/api/alerts/history?limit=10000").statusCode()).isEqualTo(200);
        for (String value : BAD_NUMBERS) {
            assertError(get(base + "/api/alerts/history?limit=" + value), 400, "query parameter 'limit' must be");
        }
        assertError(get(base + "/api/alerts/history?limit=1&limit=2"), 400, "given 2 times");
        assertError(get(base + "/api/alerts/history?limt=1"), 400, "unknown query parameter 'limt'; this endpoint takes [limit]");
        wrongMethods("/api/alerts/history");
    }

    @Test
    void runsListTheKnownRunAndTakeNoQueryParameters() throws Exception {
        HttpResponse<String> ok = get(base + "/api/runs");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).contains("\"run\":\"" + RUN + "\"");
        assertJsonNotHtml(ok);
        assertError(get(base + "/api/runs?scope=all"), 400, "unknown query parameter 'scope'");
        wrongMethods("/api/runs");
    }

    @Test
    void aRunIsFoundByItsEncodedIdAndMalformedIdsAreRefused() throws Exception {
        String known = "/api/runs/" + URLEncoder.encode(RUN, StandardCharsets.UTF_8);
        HttpResponse<String> ok = get(base + known);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).contains("\"run\":\"" + RUN + "\"");
        assertError(get(base + "/api/runs/no-such-run"), 404, "no run 'no-such-run' is tracked");
        assertError(get(base + "/api/runs/team-a"), 404, "is tracked"); // a prefix of a run is not the run
        for (String id : List.of("..", ".", "%2E%2E", "team-a%2F..%2Fx", "%2Fetc%2Fpasswd", "a%0D%0Ab",
                URLEncoder.encode(HOSTILE_RUN, StandardCharsets.UTF_8), "%C3%A9t%C3%A9", "r%00x", "x".repeat(201),
                "team-a%2Flm-7b%2F.*", "x".repeat(5000))) {
            assertError(get(base + "/api/runs/" + id), 400, "runId must be 1-200 characters");
        }
        assertError(get(base + known + "?limit=1"), 400, "unknown query parameter 'limit'");
        wrongMethods(known);
    }

    @Test
    void theDashboardNeverRendersRunIdsAsMarkup() throws Exception {
        HttpResponse<String> page = get(base + "/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(page.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        // The page is static: a run given in the query is read by the script, never echoed by the server.
        HttpResponse<String> selected = get(base + "/?run=" + URLEncoder.encode(HOSTILE_RUN, StandardCharsets.UTF_8));
        assertThat(selected.statusCode()).isEqualTo(200);
        assertThat(selected.body()).isEqualTo(page.body()).doesNotContain("onerror");
        // The script puts every value into the page as text (textContent), never as HTML.
        String script = get(base + "/assets/dashboard.js").body();
        assertThat(script).contains("textContent")
                .doesNotContain("innerHTML").doesNotContain("outerHTML").doesNotContain("insertAdjacentHTML")
                .doesNotContain("document.write").doesNotContain("eval(").doesNotContain("new Function")
                .doesNotContain(".html(");
        assertThat(resource("/dashboard/dashboard.js")).isEqualTo(script);
        // The run ids it gets are JSON (nosniff), and it asks for a run's detail URL-encoded.
        assertThat(script).contains("encodeURIComponent(selectedRun)");
        for (String path : List.of("/", "/assets/dashboard.js", "/assets/uplot.js", "/assets/uplot.css")) {
            wrongMethods(path);
        }
    }

    /** The page in a real browser (Debian's chromium, as the end-to-end test uses): the markup stays text. */
    @Test
    void theDashboardInABrowserShowsAMarkupRunIdAsText(@TempDir Path dir)
            throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        assertThat(Files.isExecutable(chromium))
                .as("/usr/bin/chromium is not installed: install the Debian package 'chromium' (./gradwatch test does)")
                .isTrue();
        Process process = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + Files.createTempDirectory(dir, "chromium"),
                "--virtual-time-budget=5000", "--dump-dom",
                base + "/?run=" + URLEncoder.encode(HOSTILE_RUN, StandardCharsets.UTF_8))
                .redirectError(dir.resolve("chromium.log").toFile()).start();
        String dom = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(90, TimeUnit.SECONDS)).isTrue();
        // The run is listed (as text: the cell's < is escaped when the DOM is serialised) and its
        // onerror never ran, so no <img> element was ever made of it.
        assertThat(dom).contains("<td>&lt;img src=x onerror=document.body.setAttribute('data-pwned',1)&gt;\"'&amp;")
                .doesNotContain("data-pwned=\"1\"").doesNotContain("<img src=\"x\"");
    }

    @Test
    void unknownPathsAreNotFound() throws Exception {
        for (String path : List.of("/api", "/api/", "/api/runs/", "/api/runs/x/y", "/api/alerts", "/assets/",
                "/assets/..%2F..%2Fpom.xml", "/assets/../../etc/passwd", "/index.html", "/dashboard/dashboard.js",
                "/META-INF/resources/webjars/uplot/1.6.30/dist/uPlot.iife.min.js", "/" + "z".repeat(5000))) {
            assertError(get(base + path), 404, "no such path");
        }
    }

    private static void assertJsonNotHtml(HttpResponse<String> response) {
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json; charset=utf-8");
        assertThat(response.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    }

    private static void wrongMethods(String path) throws Exception {
        for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
            HttpResponse<String> response = CLIENT.send(HttpRequest.newBuilder(URI.create(base + path))
                    .method(method, HttpRequest.BodyPublishers.ofString("{\"x\":1}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertError(response, 405, method + " is not allowed on");
            assertThat(response.headers().firstValue("Allow")).hasValue("GET, HEAD");
        }
    }

    private static void assertError(HttpResponse<String> response, int status, String message) {
        String uri = response.request().uri().toString();
        String what = response.request().method() + " " + (uri.length() > 120 ? uri.substring(0, 120) + "..." : uri);
        assertThat(response.statusCode()).as(what).isEqualTo(status);
        assertJsonNotHtml(response);
        assertThat(response.body()).as(what).startsWith("{").contains("\"error\":").contains(message)
                .doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("<img").hasSizeLessThan(500);
        assertThat(response.headers().firstValue("Set-Cookie")).as(what).isEmpty();
    }

    private static String resource(String path) throws IOException {
        try (InputStream in = AlertHttpBadInputIT.class.getResourceAsStream(path)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
