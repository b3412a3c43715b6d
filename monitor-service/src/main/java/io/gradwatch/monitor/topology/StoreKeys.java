package io.gradwatch.monitor.topology;

import java.util.Locale;

/**
 * State-store keys. All start with the run id and a separator that cannot occur in one (NUL), so
 * a run's entries are one prefix range; steps are zero-padded so they sort numerically.
 */
public final class StoreKeys {
    static final char SEPARATOR = '\u0000';

    private StoreKeys() {
    }

    public static String runPrefix(String runId) {
        return runId + SEPARATOR;
    }

    static String step(String runId, long step, int layer) {
        return runId + SEPARATOR + String.format(Locale.ROOT, "%019d", step) + SEPARATOR + layer;
    }

    static String layer(String runId, int layer) {
        return runId + SEPARATOR + layer;
    }

    static String alert(String runId, int layer, String type) {
        return runId + SEPARATOR + layer + SEPARATOR + type;
    }

    /** The parts of a {@link #step} key. */
    record StepKey(String runId, long step, int layer) {
    }

    /** Parses a {@link #step} key from its end, so the run id is taken whole whatever it holds. */
    static StepKey parseStep(String key) {
        int layerAt = key.lastIndexOf(SEPARATOR);
        int stepAt = key.lastIndexOf(SEPARATOR, layerAt - 1);
        return new StepKey(key.substring(0, stepAt), Long.parseLong(key.substring(stepAt + 1, layerAt)),
                Integer.parseInt(key.substring(layerAt + 1)));
    }

    /** The layer and alert type of an {@link #alert} key, parsed from its end. */
    public static String[] alertParts(String key) {
        int typeAt = key.lastIndexOf(SEPARATOR);
        int layerAt = key.lastIndexOf(SEPARATOR, typeAt - 1);
        return new String[] {key.substring(layerAt + 1, typeAt), key.substring(typeAt + 1)};
    }

    /** The run id a key starts with. */
    public static String runOf(String key) {
        int end = key.indexOf(SEPARATOR);
        return end < 0 ? key : key.substring(0, end);
    }
}
