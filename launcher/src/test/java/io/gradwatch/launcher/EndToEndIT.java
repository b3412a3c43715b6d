package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.gradwatch.testkit.Await;
import io.gradwatch.testkit.TemporaryProperty;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * What the platform team and on-call see, with every part real: the local stack (broker,
 * monitor-service, alert-service), an exploding and a vanishing training run, Debian's Prometheus
 * scraping alert-service with the repo's config and rules, Debian's Alertmanager with the repo's
 * config sending to a webhook here, every PromQL expression of the rules and the Grafana
 * dashboards evaluated against that Prometheus, and the dashboard page rendered in headless
 * Chromium (screenshot kept in launcher/target/dashboard.png).
 */
class EndToEndIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final String VANISHING_RUN = "e2e-vanishing";
    private static final String EXPLODING_RUN = "e2e-exploding";
    private final HttpClient client = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void alertsReachAlertmanagerPanelsHaveDataAndTheDashboardShowsTheRuns(@TempDir Path dir) throws Exception {
        requireBinary("/usr/bin/prometheus", "prometheus");
        requireBinary("/usr/bin/prometheus-alertmanager", "prometheus-alertmanager");
        requireBinary("/usr/bin/chromium", "chromium");
        StackLayout layout = new StackLayout(ROOT, dir.resolve("stack"), TestPorts.freePortBase(31000));
        List<String> webhook = new CopyOnWriteArrayList<>();
        HttpServer receiver = receiver(webhook);
        List<Process> tools = new ArrayList<>();
        try (TemporaryProperty home = TemporaryProperty.set("gradwatch.home", ROOT.toString());
             LocalStack stack = LocalStack.start(layout, message -> { })) {
            stack.startTrainer(VANISHING_RUN, List.of("--preset", "vanishing-rnn", "--publish-every", "5",
                    "--max-steps-per-second", "20", "--steps", "100000", "--bootstrap-servers", layout.bootstrapServers()));
            stack.startTrainer(EXPLODING_RUN, List.of("--preset", "exploding-init", "--publish-every", "5",
                    "--max-steps-per-second", "20", "--steps", "100000", "--bootstrap-servers", layout.bootstrapServers()));
            int alertmanagerPort = TestPorts.freePort();
            int prometheusPort = TestPorts.freePort();
            tools.add(startAlertmanager(dir, alertmanagerPort, receiver.getAddress().getPort()));
            tools.add(startPrometheus(dir, layout, prometheusPort, alertmanagerPort));
            String prometheus = "http://127.0.0.1:" + prometheusPort;

            List<JsonNode> alerts = awaitWebhook(webhook, "NonFiniteGradient", EXPLODING_RUN, "GradientVanishing",
                    VANISHING_RUN);
            JsonNode nonFinite = find(alerts, "NonFiniteGradient", EXPLODING_RUN);
            assertThat(nonFinite.path("labels").path("severity").asText()).isEqualTo("critical");
            assertThat(nonFinite.path("labels").path("layer").asText()).isEqualTo("0");
            assertThat(nonFinite.path("annotations").path("remedy").asText()).contains("checkpoint");
            JsonNode vanishing = find(alerts, "GradientVanishing", VANISHING_RUN);
            assertThat(vanishing.path("labels").path("severity").asText()).isEqualTo("warning");
            assertThat(vanishing.path("annotations").path("description").asText()).contains("of the loss gradient");
            assertThat(vanishing.path("annotations").path("remedy").asText()).contains("LSTM or GRU");
            assertThat(alerts).as("inhibited while NonFiniteGradient fires for the run")
                    .noneMatch(a -> a.path("labels").path("run").asText().equals(EXPLODING_RUN)
                            && a.path("labels").path("severity").asText().equals("warning"));

            // ./gradwatch status reads the same from monitor-service's API.
            List<MonitorClient.RunStatus> runs = new MonitorClient(layout.monitorUrl()).runs();
            assertThat(runs).anySatisfy(run -> {
                assertThat(run.run()).isEqualTo(EXPLODING_RUN);
                assertThat(run.activeAlerts()).contains("NON_FINITE@L0");
            }).anySatisfy(run -> {
                assertThat(run.run()).isEqualTo(VANISHING_RUN);
                assertThat(run.activeAlerts()).contains("VANISHING@L0");
                assertThat(run.minHorizon()).isBetween(1, 15);
            });
            assertThat(StatusCommand.render(runs)).hasSize(3);
            // Exit code 1: NonFinite is critical and fires for the exploding run; the vanishing run alone is 0.
            assertThat(new CommandLine(new StackMain()).execute("status", "--port-base",
                    Integer.toString(layout.portBase()))).isEqualTo(1);
            assertThat(new CommandLine(new StackMain()).execute("status", "--port-base",
                    Integer.toString(layout.portBase()), "--run", VANISHING_RUN)).isZero();

            // Every rule is valid PromQL here, and every series it reads exists for the demo runs.
            for (String expr : ruleExpressions()) {
                seriesCount(prometheus, expr);
                for (String metric : metricNames(expr)) {
                    assertThat(awaitSeries(prometheus, metric)).as(metric + " (read by " + expr + ")").isPositive();
                }
            }
            // Every Grafana panel shows data for one of the runs (no dead panels), the step-level series among them.
            List<List<String>> panels = panelExpressions();
            assertThat(panels.stream().flatMap(List::stream).toList()).as("step-level series on the dashboards")
                    .anyMatch(expr -> expr.contains("gradwatch_training_learning_rate"))
                    .anyMatch(expr -> expr.contains("gradwatch_gradient_global_norm_clipped"))
                    .anyMatch(expr -> expr.contains("gradwatch_parameter_gradient_norm"))
                    .anyMatch(expr -> expr.startsWith("log10(gradwatch_gradient_norm"));
            for (List<String> panel : panels) {
                int series = Await.until("Grafana panel " + panel + " to return data", Duration.ofSeconds(60),
                        () -> panelSeries(prometheus, panel), count -> count > 0);
                assertThat(series).as("Grafana panel returns data: " + panel).isPositive();
            }

            // The dashboard's own API first, so a failure names the cause (once a transient 500 here left the page empty).
            for (String api : List.of("/api/runs", "/api/alerts/active", "/api/runs/" + EXPLODING_RUN)) {
                HttpResponse<String> answer = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + layout.alertsPort() + api)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(answer.statusCode()).as("%s answered %s; alert-service's log ends:%n%s", api, answer.body(),
                        LocalStack.tail(layout.logDir().resolve("alert-service.log"))).isEqualTo(200);
            }
            String dom = chromium(dir, "--dump-dom", layout.dashboardUrl());
            assertThat(dom).contains("data-run=\"" + VANISHING_RUN + "\"").contains("data-run=\"" + EXPLODING_RUN + "\"")
                    .contains("data-type=\"NON_FINITE\"").contains("uplot");
            // The exploding run is selected (it alerts first): its gradient flow, parameter norms and timeline
            // come from the real trainer's records.
            assertThat(dom).contains("id=\"flow-layer-0\"").contains("data-param=\"weight_hh_l0\"")
                    .contains("data-kind=\"FIRING\"");
            Path screenshot = ROOT.resolve("launcher/target/dashboard.png");
            chromium(dir, "--screenshot=" + screenshot, "--window-size=1400,1000",
                    layout.dashboardUrl() + "?run=" + VANISHING_RUN);
            assertThat(screenshot).exists();
        } finally {
            tools.forEach(process -> {
                process.destroy();
                try {
                    process.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                process.destroyForcibly();
            });
            receiver.stop(0);
        }
    }

    private Process startAlertmanager(Path dir, int port, int receiverPort) throws IOException {
        String config = Files.readString(ROOT.resolve("deploy/alertmanager/alertmanager.yml"))
                .replace("http://127.0.0.1:5001/gradwatch", "http://127.0.0.1:" + receiverPort + "/gradwatch")
                .replace("group_wait: 30s", "group_wait: 1s")
                .replace("group_interval: 5m", "group_interval: 1s");
        Path file = dir.resolve("alertmanager.yml");
        Files.writeString(file, config);
        return start(dir, "alertmanager", "/usr/bin/prometheus-alertmanager", "--config.file=" + file,
                "--storage.path=" + dir.resolve("alertmanager-data"), "--web.listen-address=127.0.0.1:" + port,
                "--cluster.listen-address=");
    }

    private Process startPrometheus(Path dir, StackLayout layout, int port, int alertmanagerPort) throws IOException {
        String config = Files.readString(ROOT.resolve("deploy/prometheus/prometheus.yml"))
                .replace("scrape_interval: 15s", "scrape_interval: 1s")
                .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
                .replace("127.0.0.1:9093", "127.0.0.1:" + alertmanagerPort)
                .replace("127.0.0.1:8082", "127.0.0.1:" + layout.alertsPort())
                .replace("127.0.0.1:8081", "127.0.0.1:" + layout.monitorPort())
                .replace("rules/gradwatch.rules.yml", ROOT.resolve("deploy/prometheus/rules/gradwatch.rules.yml").toString());
        Path file = dir.resolve("prometheus.yml");
        Files.writeString(file, config);
        return start(dir, "prometheus", "/usr/bin/prometheus", "--config.file=" + file,
                "--storage.tsdb.path=" + dir.resolve("prometheus-data"), "--web.listen-address=127.0.0.1:" + port);
    }

    private static Process start(Path dir, String name, String... command) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile()).start();
    }

    private static HttpServer receiver(List<String> bodies) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 16);
        server.createContext("/gradwatch", exchange -> {
            bodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
        return server;
    }

    /** Waits until the webhook got each (alertname, run) pair; returns every alert received. */
    private List<JsonNode> awaitWebhook(List<String> bodies, String... namesAndRuns) {
        return Await.until("the webhook to receive " + String.join(", ", namesAndRuns), Duration.ofSeconds(150),
                () -> alertsIn(bodies), alerts -> receivedAll(alerts, namesAndRuns));
    }

    private List<JsonNode> alertsIn(List<String> bodies) throws IOException {
        List<JsonNode> alerts = new ArrayList<>();
        for (String body : List.copyOf(bodies)) {
            json.readTree(body).path("alerts").forEach(alerts::add);
        }
        return alerts;
    }

    private static boolean receivedAll(List<JsonNode> alerts, String... namesAndRuns) {
        for (int i = 0; i < namesAndRuns.length; i += 2) {
            if (find(alerts, namesAndRuns[i], namesAndRuns[i + 1]) == null) {
                return false;
            }
        }
        return true;
    }

    private static JsonNode find(List<JsonNode> alerts, String name, String run) {
        return alerts.stream().filter(a -> a.path("labels").path("alertname").asText().equals(name)
                && a.path("labels").path("run").asText().equals(run)).findFirst().orElse(null);
    }

    /** The rules' expressions; a threshold comparison at the end is dropped so the quantity itself is checked. */
    private static List<String> ruleExpressions() throws IOException {
        List<String> expressions = new ArrayList<>();
        List<String> lines = Files.readAllLines(ROOT.resolve("deploy/prometheus/rules/gradwatch.rules.yml"));
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int at = line.indexOf("expr:");
            if (at < 0) {
                continue;
            }
            String value = line.substring(at + 5).trim();
            if (value.equals("|")) {
                StringBuilder block = new StringBuilder();
                int indent = at;
                while (i + 1 < lines.size() && (lines.get(i + 1).isBlank()
                        || lines.get(i + 1).length() - lines.get(i + 1).stripLeading().length() > indent)) {
                    block.append(lines.get(++i).trim()).append(' ');
                }
                value = block.toString().trim();
            }
            expressions.add(value);
        }
        assertThat(expressions).as("one expression per alert rule")
                .hasSize((int) lines.stream().filter(l -> l.trim().startsWith("- alert:")).count());
        return expressions;
    }

    private static List<String> metricNames(String expr) {
        List<String> names = new ArrayList<>();
        java.util.regex.Matcher matcher = java.util.regex.Pattern.compile("\\b(gradwatch_[a-z_]+|up)\\b").matcher(expr);
        while (matcher.find()) {
            if (!names.contains(matcher.group(1))) {
                names.add(matcher.group(1));
            }
        }
        return names;
    }

    /** Each panel's target expressions (and the run variable's query as a panel of its own). */
    private List<List<String>> panelExpressions() throws IOException {
        List<List<String>> expressions = new ArrayList<>();
        for (String dashboard : List.of("fleet-overview.json", "run-drilldown.json")) {
            JsonNode root = json.readTree(ROOT.resolve("deploy/grafana/dashboards").resolve(dashboard).toFile());
            for (JsonNode panel : root.path("panels")) {
                List<String> targets = new ArrayList<>();
                panel.path("targets").forEach(target -> targets.add(target.path("expr").asText()));
                expressions.add(targets);
            }
            for (JsonNode variable : root.path("templating").path("list")) {
                String definition = variable.path("definition").asText();
                if (definition.startsWith("label_values(")) {
                    expressions.add(List.of(definition.substring("label_values(".length(), definition.lastIndexOf(','))));
                }
            }
        }
        return expressions;
    }

    /** Evaluates {@code expr} (it must be valid PromQL); returns the number of series. */
    private int seriesCount(String prometheus, String expr) throws Exception {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(prometheus
                + "/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8))).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode result = json.readTree(response.body());
        assertThat(result.path("status").asText()).as(expr + ": " + response.body()).isEqualTo("success");
        return result.path("data").path("result").size();
    }

    /** Series appear over the first scrapes: awaits {@code expr} having data; returns the number of series. */
    private int awaitSeries(String prometheus, String expr) {
        return Await.until(expr + " to have data", Duration.ofSeconds(60), () -> seriesCount(prometheus, expr),
                count -> count > 0);
    }

    /** The series a panel's expressions return for the demo runs together. */
    private int panelSeries(String prometheus, List<String> panel) throws Exception {
        int series = 0;
        for (String expr : panel) {
            for (String run : List.of(VANISHING_RUN, EXPLODING_RUN)) {
                series += seriesCount(prometheus, expr.replace("$run", run));
            }
        }
        return series;
    }

    private static String chromium(Path dir, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + Files.createTempDirectory(dir, "chromium"),
                "--virtual-time-budget=8000"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectError(dir.resolve("chromium.log").toFile()).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(90, TimeUnit.SECONDS)).isTrue();
        return output;
    }

    private static void requireBinary(String path, String debianPackage) {
        if (!Files.isExecutable(Path.of(path))) {
            fail(path + " is not installed: install the Debian package '" + debianPackage + "' (./gradwatch test does)");
        }
    }
}
