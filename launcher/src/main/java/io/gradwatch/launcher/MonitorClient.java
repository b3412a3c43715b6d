package io.gradwatch.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradwatch.common.http.Json;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads runs and their health from monitor-service's interactive-query API ({@code /runs},
 * {@code /runs/{run}/health}), which answers from the monitor's own state stores.
 */
final class MonitorClient {
    private final String baseUrl;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    MonitorClient(String baseUrl) {
        this.baseUrl = baseUrl;
    }

    /** Every run the monitor knows, with its current health; runs without health yet have none. */
    List<RunStatus> runs() throws IOException, InterruptedException {
        List<RunStatus> runs = new ArrayList<>();
        for (JsonNode run : get("/runs").orElseThrow(() -> new IOException(baseUrl + "/runs answered 404"))) {
            String runId = run.path("run").asText();
            Optional<JsonNode> health = get("/runs/" + URLEncoder.encode(runId, StandardCharsets.UTF_8) + "/health");
            runs.add(RunStatus.of(runId, run.path("lastStep").asLong(-1), health.orElse(null)));
        }
        return runs;
    }

    private Optional<JsonNode> get(String path) throws IOException, InterruptedException {
        return get(client, baseUrl, path, "monitor-service");
    }

    /**
     * The severity of every alert firing now, keyed {@code run -> TYPE@L{layer}}, from alert-service's
     * {@code /api/alerts/active} (monitor-service's query API does not carry severities).
     */
    Map<String, Map<String, String>> severities(String alertsUrl) throws IOException, InterruptedException {
        Map<String, Map<String, String>> severities = new HashMap<>();
        JsonNode alerts = get(client, alertsUrl, "/api/alerts/active", "alert-service")
                .orElseThrow(() -> new IOException(alertsUrl + "/api/alerts/active answered 404"));
        for (JsonNode alert : alerts) {
            severities.computeIfAbsent(alert.path("run").asText(), run -> new HashMap<>())
                    .put(alert.path("type").asText() + "@L" + alert.path("layer").asInt(), alert.path("severity").asText());
        }
        return severities;
    }

    private static Optional<JsonNode> get(HttpClient client, String baseUrl, String path, String service)
            throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(10)).build();
        HttpResponse<byte[]> response;
        try {
            response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (ConnectException e) {
            throw new NotRunningException(service + " does not answer at " + baseUrl, e);
        }
        if (response.statusCode() == 404) {
            return Optional.empty();
        }
        if (response.statusCode() != 200) {
            JsonNode body = parse(response.body());
            throw new IOException(service + " answered " + response.statusCode() + " for " + path
                    + (body == null ? "" : ": " + body.path("error").asText()));
        }
        return Optional.ofNullable(parse(response.body()));
    }

    /** Nothing listens where the service should: the stack is not running (or runs on another port base). */
    static final class NotRunningException extends IOException {
        NotRunningException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static JsonNode parse(byte[] body) {
        try {
            return Json.MAPPER.readTree(body);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * One line of {@code ./gradwatch status}.
     *
     * @param lastStep latest optimizer step the monitor saw a step record for
     * @param minDecayRatio smallest g_0/g_{T-1} over the run's layers (NaN without health)
     * @param minHorizon shortest horizon over the layers (-1 without health)
     * @param activeAlerts firing alerts as TYPE@L{layer}
     * @param severities the severity (CRITICAL, WARNING, INFO) of those alert-service knows, by TYPE@L{layer}
     */
    record RunStatus(String run, long lastStep, double minDecayRatio, int minHorizon, List<String> activeAlerts,
                     Map<String, String> severities) {
        RunStatus {
            activeAlerts = List.copyOf(activeAlerts);
            severities = Map.copyOf(severities);
        }

        RunStatus(String run, long lastStep, double minDecayRatio, int minHorizon, List<String> activeAlerts) {
            this(run, lastStep, minDecayRatio, minHorizon, activeAlerts, Map.of());
        }

        RunStatus withSeverities(Map<String, String> bySeverity) {
            return new RunStatus(run, lastStep, minDecayRatio, minHorizon, activeAlerts, bySeverity);
        }

        /** True while a critical alert fires for this run: what makes {@code ./gradwatch status} exit 1. */
        boolean critical() {
            return activeAlerts.stream().anyMatch(alert -> "CRITICAL".equals(severities.get(alert)));
        }

        static RunStatus of(String run, long lastStep, JsonNode health) {
            if (health == null) {
                return new RunStatus(run, lastStep, Double.NaN, -1, List.of());
            }
            double decay = Double.NaN;
            int horizon = -1;
            for (JsonNode layer : health.path("layers")) {
                // null: not finite (the API's JSON has no NaN); such a layer does not set the run's decay
                JsonNode layerDecayNode = layer.path("decayRatio");
                double layerDecay = layerDecayNode.isNumber() ? layerDecayNode.asDouble() : Double.NaN;
                decay = Double.isNaN(decay) || layerDecay < decay ? layerDecay : decay;
                int layerHorizon = layer.path("horizon").asInt(-1);
                horizon = horizon < 0 || layerHorizon < horizon ? layerHorizon : horizon;
            }
            List<String> alerts = new ArrayList<>();
            health.path("activeAlerts").forEach(alert -> alerts.add(alert.path("type").asText() + "@L"
                    + alert.path("layer").asInt()));
            return new RunStatus(run, Math.max(lastStep, health.path("lastStep").asLong(-1)), decay, horizon,
                    List.copyOf(alerts));
        }
    }
}
