package io.gradwatch.alerts.http;

import io.gradwatch.alerts.state.FleetState;
import io.gradwatch.common.http.HttpError;
import io.gradwatch.common.http.HttpService;
import io.gradwatch.common.http.Response;
import io.gradwatch.protocol.RecordViews;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON API: active alerts, alert history, runs and one run's detail. Unknown query parameters,
 * bad values and bad run ids are a 400 with a JSON message; an unknown run is a 404.
 */
public final class AlertApi {
    private final FleetState state;

    public AlertApi(FleetState state) {
        this.state = state;
    }

    public HttpService routes(HttpService http) {
        return http
                .get("/api/alerts/active", request -> {
                    request.allowQuery();
                    return Response.json(state.activeAlerts().stream().map(RecordViews::alertEvent).toList());
                })
                .get("/api/alerts/history", request -> Response.json(state.history(request.allowQuery("limit")
                        .intQueryParam("limit", 100, 1, 10_000)).stream().map(RecordViews::alertEvent).toList()))
                .get("/api/runs", request -> {
                    request.allowQuery();
                    return Response.json(runs());
                })
                .get("/api/runs/{runId}", request -> Response.json(run(request.allowQuery().idParam("runId"))));
    }

    private List<Map<String, Object>> runs() {
        List<Map<String, Object>> runs = new ArrayList<>();
        state.runs().values().forEach(run -> {
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("run", run.runId());
            summary.put("lastSeenMs", run.lastSeenMs());
            FleetState.Progress progress = run.progress();
            summary.put("step", progress == null ? null : progress.step());
            summary.put("loss", progress == null ? null : progress.loss());
            summary.put("accuracy", progress == null ? null : progress.accuracy());
            summary.put("activeAlerts", run.active().values().stream().map(RecordViews::alertEvent).toList());
            runs.add(summary);
        });
        return runs;
    }

    private Map<String, Object> run(String runId) {
        FleetState.RunView run = state.runView(runId);
        if (run == null) {
            throw HttpError.notFound("no run '" + runId + "' is tracked");
        }
        Map<String, Object> detail = new LinkedHashMap<>();
        detail.put("run", runId);
        detail.put("progress", run.progress());
        List<Map<String, Object>> layers = new ArrayList<>();
        run.layers().forEach((index, health) -> {
            Map<String, Object> layer = RecordViews.layerHealth(health);
            layer.put("history", run.layerHistory().get(index));
            layers.add(layer);
        });
        detail.put("layers", layers);
        detail.put("activeAlerts", run.active().values().stream().map(RecordViews::alertEvent).toList());
        return detail;
    }
}
