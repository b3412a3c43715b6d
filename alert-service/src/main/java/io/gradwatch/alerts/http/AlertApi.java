package io.gradwatch.alerts.http;

import io.gradwatch.alerts.state.FleetState;
import io.gradwatch.alerts.state.RunSnapshot;
import io.gradwatch.common.http.HttpError;
import io.gradwatch.common.http.HttpService;
import io.gradwatch.common.http.Response;
import io.gradwatch.protocol.RecordViews;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.Severity;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The JSON API: active alerts, alert history, runs and one run's detail. Unknown query parameters,
 * bad values and bad run ids are a 400 with a JSON message; an unknown run is a 404. Every answer
 * is built from a copy the state made under its lock, never from its live maps.
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
                    return Response.json(state.summaries().stream().map(AlertApi::summary).toList());
                })
                .get("/api/runs/{runId}", request -> Response.json(run(request.allowQuery().idParam("runId"))));
    }

    private static Map<String, Object> summary(RunSnapshot.Summary run) {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("run", run.runId());
        summary.put("lastSeenMs", run.lastSeenMs());
        FleetState.Progress progress = run.progress();
        summary.put("step", progress == null ? null : progress.step());
        summary.put("loss", progress == null ? null : RecordViews.finite(progress.loss()));
        summary.put("accuracy", progress == null ? null : RecordViews.finite(progress.accuracy()));
        summary.put("labels", run.labels());
        summary.put("state", alertState(run.activeAlerts()));
        summary.put("activeAlerts", run.activeAlerts().stream().map(RecordViews::alertEvent).toList());
        return summary;
    }

    /** The fleet table's alert state of a run: its worst firing severity, or "healthy". */
    static String alertState(List<AlertEvent> active) {
        Severity worst = Severity.SEVERITY_UNSPECIFIED;
        for (AlertEvent alert : active) {
            if (alert.getSeverity().getNumber() > worst.getNumber()) {
                worst = alert.getSeverity();
            }
        }
        return active.isEmpty() ? "healthy" : worst == Severity.SEVERITY_UNSPECIFIED ? "firing"
                : worst.name().toLowerCase(Locale.ROOT);
    }

    private Map<String, Object> run(String runId) {
        RunSnapshot run = state.snapshot(runId)
                .orElseThrow(() -> HttpError.notFound("no run '" + runId + "' is tracked"));
        Map<String, Object> detail = new LinkedHashMap<>();
        detail.put("run", runId);
        detail.put("progress", run.progress());
        detail.put("labels", run.labels());
        List<Map<String, Object>> layers = new ArrayList<>();
        for (RunSnapshot.Layer snapshot : run.layers()) {
            Map<String, Object> layer = RecordViews.layerHealth(snapshot.latest());
            layer.put("history", snapshot.history());
            layer.put("flow", flow(snapshot.flow()));
            layers.add(layer);
        }
        detail.put("layers", layers);
        detail.put("steps", steps(run.steps()));
        detail.put("paramGradNorms", finiteValues(run.paramGradNorms()));
        detail.put("activeAlerts", run.activeAlerts().stream().map(RecordViews::alertEvent).toList());
        detail.put("timeline", run.timeline());
        return detail;
    }

    /** The heatmap: rows are steps, columns timesteps, cells log10 norms rounded to 3 digits (null: none). */
    private static Map<String, Object> flow(RunSnapshot.Flow flow) {
        if (flow == null) {
            return null;
        }
        int columns = flow.timesteps().length;
        List<List<Double>> rows = new ArrayList<>(flow.steps().length);
        for (int r = 0; r < flow.steps().length; r++) {
            List<Double> row = new ArrayList<>(columns);
            for (int c = 0; c < columns; c++) {
                float value = flow.log10Norms()[r * columns + c];
                row.add(Float.isNaN(value) ? null : Math.round(value * 1000.0) / 1000.0);
            }
            rows.add(row);
        }
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("seqLen", flow.seqLen());
        view.put("timesteps", flow.timesteps());
        view.put("steps", flow.steps());
        view.put("log10Norms", rows);
        return view;
    }

    private static Map<String, Object> steps(RunSnapshot.Steps steps) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("step", steps.steps());
        view.put("loss", finite(steps.loss()));
        view.put("gradNorm", finite(steps.gradNorm()));
        view.put("gradNormClipped", finite(steps.gradNormClipped()));
        view.put("learningRate", finite(steps.learningRate()));
        return view;
    }

    private static Map<String, Double> finiteValues(Map<String, Double> values) {
        Map<String, Double> view = new LinkedHashMap<>();
        values.forEach((name, value) -> view.put(name, RecordViews.finite(value)));
        return view;
    }

    /** JSON has no NaN or Infinity: a value that is not finite is null (the charts leave a gap). */
    private static List<Double> finite(double[] values) {
        List<Double> view = new ArrayList<>(values.length);
        for (double value : values) {
            view.add(RecordViews.finite(value));
        }
        return view;
    }
}
