package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.gradwatch.common.http.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code ./gradwatch status} against stubbed monitor-service and alert-service APIs on 127.0.0.1. */
class StatusCommandTest {
    private static final String LONG_RUN = "team-a/lm-7b/2026-11-23-warmup-sweep-lr3e-4";
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private HttpServer monitor;
    private HttpServer alerts;
    private int portBase;

    @BeforeEach
    void stubTheStack() throws IOException {
        portBase = TestPorts.freePortBase(24000);
        monitor = server(portBase + 2, Map.of(
                "/runs", "[{\"run\":\"rnn\",\"lastStep\":41},{\"run\":\"" + LONG_RUN + "\",\"lastStep\":7},"
                        + "{\"run\":\"exploding\",\"lastStep\":12}]",
                "/runs/rnn/health", "{\"run\":\"rnn\",\"lastStep\":40,\"layers\":[{\"layer\":0,\"decayRatio\":2e-11,"
                        + "\"horizon\":8}],\"activeAlerts\":[{\"layer\":0,\"type\":\"VANISHING\"}]}",
                "/runs/team-a%2Flm-7b%2F2026-11-23-warmup-sweep-lr3e-4/health", "{\"run\":\"" + LONG_RUN
                        + "\",\"lastStep\":7,\"layers\":[{\"layer\":0,\"decayRatio\":0.5,\"horizon\":49}],"
                        + "\"activeAlerts\":[]}",
                "/runs/exploding/health", "{\"run\":\"exploding\",\"lastStep\":12,\"layers\":[{\"layer\":0,"
                        + "\"decayRatio\":1e5,\"horizon\":49}],\"activeAlerts\":[{\"layer\":0,\"type\":\"NON_FINITE\"}]}"));
        alerts = server(portBase + 3, Map.of("/api/alerts/active",
                "[{\"run\":\"exploding\",\"layer\":0,\"type\":\"NON_FINITE\",\"severity\":\"CRITICAL\"},"
                        + "{\"run\":\"rnn\",\"layer\":0,\"type\":\"VANISHING\",\"severity\":\"WARNING\"}]"));
    }

    @AfterEach
    void stopStubs() {
        if (monitor != null) {
            monitor.stop(0);
        }
        if (alerts != null) {
            alerts.stop(0);
        }
    }

    @Test
    void aRunsLineShowsTheWorstLayerAndItsFiringAlerts() throws Exception {
        JsonNode health = Json.MAPPER.readTree("""
                {"run":"rnn","lastStep":40,
                 "layers":[{"layer":0,"decayRatio":2e-11,"horizon":8},{"layer":1,"decayRatio":3e-4,"horizon":20}],
                 "activeAlerts":[{"layer":0,"type":"VANISHING"}]}""");
        MonitorClient.RunStatus status = MonitorClient.RunStatus.of("rnn", 41, health);

        assertThat(status.minDecayRatio()).isEqualTo(2e-11);
        assertThat(status.minHorizon()).isEqualTo(8);
        assertThat(status.lastStep()).isEqualTo(41);
        assertThat(StatusCommand.render(List.of(status, MonitorClient.RunStatus.of("new-run", 0, null))))
                .containsExactly(
                        "run      step     decay  horizon  active alerts",
                        "new-run     0         -        -  none",
                        "rnn        41  2.00e-11        8  VANISHING@L0");
    }

    @Test
    void columnsAreAsWideAsTheLongestRunId() {
        List<String> lines = StatusCommand.render(List.of(
                new MonitorClient.RunStatus("a", 5, 0.5, 49, List.of()),
                new MonitorClient.RunStatus(LONG_RUN, 123456, 2e-11, 3, List.of("VANISHING@L0"))));
        int stepEnd = lines.get(0).indexOf("step") + 4;
        assertThat(lines).allSatisfy(line -> assertThat(line.charAt(stepEnd)).isEqualTo(' '));
        assertThat(lines.get(2)).startsWith(LONG_RUN + "  123456");
        assertThat(lines.get(1).indexOf("none")).isEqualTo(lines.get(2).indexOf("VANISHING"));
    }

    @Test
    void noRunsSaysHowToStartOne() {
        assertThat(StatusCommand.render(List.of())).last().asString().contains("./gradwatch train");
    }

    @Test
    void exitsOneWhileACriticalAlertFiresAndMarksIt() {
        assertThat(status()).isEqualTo(1);
        assertThat(out.toString()).contains("exploding").contains("NON_FINITE@L0!").contains("VANISHING@L0")
                .doesNotContain("VANISHING@L0!").contains(LONG_RUN);
    }

    @Test
    void exitsZeroWhenTheRunsShownHaveNoCriticalAlert() {
        assertThat(status("--run", "rnn")).isZero();
        assertThat(out.toString()).contains("rnn").doesNotContain("exploding").doesNotContain(LONG_RUN);
    }

    @Test
    void aGlobMatchesAcrossSlashes() {
        assertThat(status("--run", "team-a/*")).isZero();
        assertThat(out.toString()).contains(LONG_RUN).doesNotContain("rnn ").doesNotContain("exploding");
        out.getBuffer().setLength(0);
        assertThat(status("--run", "ex?loding", "--run", "rnn")).isEqualTo(1);
        assertThat(out.toString()).contains("exploding").contains("rnn");
        out.getBuffer().setLength(0);
        assertThat(status("--run", "nothing*")).isZero();
        assertThat(out.toString()).contains("(no run matches nothing*)");
    }

    @Test
    void jsonHasEveryRunWithItsAlertsSeveritiesAndCriticalFlag() throws Exception {
        assertThat(status("--json")).isEqualTo(1);
        JsonNode runs = Json.MAPPER.readTree(out.toString());
        assertThat(runs).hasSize(3);
        JsonNode exploding = runs.get(0);
        assertThat(exploding.path("run").asText()).isEqualTo("exploding");
        assertThat(exploding.path("critical").asBoolean()).isTrue();
        assertThat(exploding.path("activeAlerts").get(0).path("type").asText()).isEqualTo("NON_FINITE");
        assertThat(exploding.path("activeAlerts").get(0).path("layer").asInt()).isZero();
        assertThat(exploding.path("activeAlerts").get(0).path("severity").asText()).isEqualTo("CRITICAL");
        JsonNode rnn = runs.get(1);
        assertThat(rnn.path("step").asLong()).isEqualTo(41);
        assertThat(rnn.path("minDecayRatio").asDouble()).isEqualTo(2e-11);
        assertThat(rnn.path("minHorizon").asInt()).isEqualTo(8);
        assertThat(rnn.path("critical").asBoolean()).isFalse();
    }

    @Test
    void watchRefreshesUntilStopped() throws Exception {
        picocli.CommandLine line = commandLine();
        line.parseArgs("status", "--port-base", Integer.toString(portBase), "--watch", "1");
        StatusCommand command = line.getSubcommands().get("status").getCommand();
        PrintWriter writer = new PrintWriter(out);
        assertThat(command.watch(3, Duration.ofMillis(1), writer, writer)).isEqualTo(1);
        assertThat(out.toString().split("active alerts", -1)).hasSize(4);
        assertThat(out.toString()).contains("\033[H\033[2J");
    }

    @Test
    void watchNeedsAPositiveInterval() {
        assertThat(status("--watch", "0")).isEqualTo(2);
        assertThat(err.toString()).contains("--watch must be at least 1 second");
    }

    @Test
    void aStackThatIsNotRunningIsNamedWithTheFixAndItsOwnExitCode() throws Exception {
        stopStubs();
        monitor = null;
        alerts = null;
        assertThat(status()).isEqualTo(3);
        assertThat(err.toString().strip()).doesNotContain("\n").contains("monitor-service does not answer at")
                .contains("./gradwatch up");
    }

    private int status(String... args) {
        String[] full = new String[args.length + 3];
        full[0] = "status";
        full[1] = "--port-base";
        full[2] = Integer.toString(portBase);
        System.arraycopy(args, 0, full, 3, args.length);
        return commandLine().execute(full);
    }

    private picocli.CommandLine commandLine() {
        return new picocli.CommandLine(new StackMain()).setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true));
    }

    private static HttpServer server(int port, Map<String, String> bodies) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 8);
        server.createContext("/", exchange -> {
            String body = bodies.get(exchange.getRequestURI().getRawPath());
            byte[] bytes = (body == null ? "{\"error\":\"not found\",\"status\":404}" : body)
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(body == null ? 404 : 200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        server.start();
        return server;
    }
}
