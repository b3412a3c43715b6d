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
import java.util.List;
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
        HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(10)).build();
        HttpResponse<byte[]> response;
        try {
            response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (ConnectException e) {
            throw new IOException("monitor-service does not answer at " + baseUrl, e);
        }
        if (response.statusCode() == 404) {
            return Optional.empty();
        }
        if (response.statusCode() != 200) {
            JsonNode body = parse(response.body());
            throw new IOException("monitor-service answered " + response.statusCode() + " for " + path
                    + (body == null ? "" : ": " + body.path("error").asText()));
        }
        return Optional.ofNullable(parse(response.body()));
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
     */
    record RunStatus(String run, long lastStep, double minDecayRatio, int minHorizon, List<String> activeAlerts) {
        static RunStatus of(String run, long lastStep, JsonNode health) {
            if (health == null) {
                return new RunStatus(run, lastStep, Double.NaN, -1, List.of());
            }
            double decay = Double.NaN;
            int horizon = -1;
            for (JsonNode layer : health.path("layers")) {
                double layerDecay = layer.path("decayRatio").asDouble(Double.NaN);
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
