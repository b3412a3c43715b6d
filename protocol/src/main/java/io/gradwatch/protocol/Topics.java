package io.gradwatch.protocol;

import java.util.List;

/** The Kafka topics of gradwatch, in one place. Every record on them is keyed by run id. */
public final class Topics {
    public static final String GRADIENTS = "gradwatch.gradients";
    /** GradientSummary records: a step's reduction, published instead of its tensors. */
    public static final String SUMMARIES = "gradwatch.summaries";
    public static final String STEPS = "gradwatch.steps";
    public static final String HEALTH = "gradwatch.health";
    public static final String ALERTS = "gradwatch.alerts";
    public static final String CONTROL = "gradwatch.control";
    public static final String DLQ = "gradwatch.dlq";

    public static final List<String> ALL = List.of(GRADIENTS, SUMMARIES, STEPS, HEALTH, ALERTS, CONTROL, DLQ);

    private Topics() {
    }
}
