package io.gradwatch.protocol;

import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.LayerHealth;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The JSON-ready shape of result records, the same in every service's HTTP API. JSON has no NaN or
 * Infinity (Jackson would write them as strings): a value that is not finite is null.
 */
public final class RecordViews {
    private RecordViews() {
    }

    public static Map<String, Object> layerHealth(LayerHealth health) {
        Map<String, Object> layer = new LinkedHashMap<>();
        layer.put("layer", health.getLayer());
        layer.put("step", health.getStep());
        layer.put("seqLen", health.getSeqLen());
        layer.put("complete", health.getComplete());
        layer.put("cell", health.getCell().name());
        layer.put("activation", health.getActivation().name());
        layer.put("decayRatio", finite(health.getDecayRatio()));
        layer.put("horizon", health.getHorizon());
        layer.put("deadFraction", health.hasDeadFraction() ? health.getDeadFraction() : null);
        layer.put("saturationFraction", health.hasSaturationFraction() ? health.getSaturationFraction() : null);
        layer.put("nonFiniteCount", health.getNonFiniteCount());
        layer.put("flags", health.getFlagsList().stream().map(Enum::name).toList());
        layer.put("timestepNorms", health.getTimestepNormsList().stream().map(RecordViews::finite).toList());
        return layer;
    }

    public static Map<String, Object> alertEvent(AlertEvent event) {
        Map<String, Object> alert = new LinkedHashMap<>();
        alert.put("run", event.getRunId());
        alert.put("layer", event.getLayer());
        alert.put("step", event.getStep());
        alert.put("type", event.getType().name());
        alert.put("state", event.getState().name());
        alert.put("severity", event.getSeverity().name());
        alert.put("value", finite(event.getValue()));
        alert.put("threshold", finite(event.getThreshold()));
        alert.put("message", event.getMessage());
        alert.put("remedy", event.getRemedy());
        alert.put("eventTimeMs", event.getEventTimeMs());
        return alert;
    }

    /** A finite value, or null: what JSON can carry of a double. */
    public static Double finite(double value) {
        return Double.isFinite(value) ? value : null;
    }
}
