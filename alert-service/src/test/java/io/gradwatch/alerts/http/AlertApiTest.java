package io.gradwatch.alerts.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradwatch.alerts.state.FleetListener;
import io.gradwatch.alerts.state.FleetState;
import io.gradwatch.common.http.HttpAuth;
import io.gradwatch.common.http.HttpService;
import io.gradwatch.common.http.HttpSettings;
import io.gradwatch.common.http.Json;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.Severity;
import io.gradwatch.protocol.v1.StepRecord;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The JSON API on what a dying run sends: NaN losses and alert values, infinite norms. */
class AlertApiTest {
    private final FleetState state = new FleetState(10, 60_000, 100, System::currentTimeMillis, new FleetListener() { });
    private HttpService http;

    @AfterEach
    void stop() {
        if (http != null) {
            http.close();
        }
    }

    @Test
    void aRunWithNonFiniteValuesIsListedAndShownWithNullsForThem() throws Exception {
        state.apply(StepRecord.newBuilder().setRunId("dying").setStep(0).setLoss(1).setGradNorm(2).build());
        state.apply(StepRecord.newBuilder().setRunId("dying").setStep(1).setLoss(Double.NaN)
                .setGradNorm(Double.POSITIVE_INFINITY).setGradNormClipped(Double.NaN).build());
        state.apply(LayerHealth.newBuilder().setRunId("dying").setStep(1).setLayer(0).setSeqLen(2)
                .addTimestepNorms(Double.NaN).addTimestepNorms(Double.POSITIVE_INFINITY)
                .setDecayRatio(Double.NaN).setNonFiniteCount(4).build());
        state.apply(AlertEvent.newBuilder().setRunId("dying").setLayer(-1).setStep(1).setType(AlertType.NON_FINITE)
                .setState(AlertState.FIRING).setSeverity(Severity.CRITICAL).setValue(Double.NaN)
                .setThreshold(Double.POSITIVE_INFINITY).build());
        http = new AlertApi(state).routes(new HttpService(new HttpSettings("127.0.0.1", 0, new HttpAuth.None()))).start("alert-api-test");

        HttpResponse<String> runs = get("/api/runs");
        assertThat(runs.statusCode()).as(runs.body()).isEqualTo(200);
        JsonNode run = Json.MAPPER.readTree(runs.body()).get(0);
        assertThat(run.get("loss").isNull()).isTrue();
        assertThat(run.get("state").asText()).isEqualTo("critical");
        assertThat(run.get("activeAlerts").get(0).get("value").isNull()).isTrue();

        HttpResponse<String> detail = get("/api/runs/dying");
        assertThat(detail.statusCode()).as(detail.body()).isEqualTo(200);
        JsonNode layer = Json.MAPPER.readTree(detail.body()).get("layers").get(0);
        assertThat(layer.get("decayRatio").isNull()).isTrue();
        assertThat(layer.get("timestepNorms").get(1).isNull()).isTrue();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(http.baseUri() + path))
                .build(), HttpResponse.BodyHandlers.ofString());
    }
}
