package io.gradwatch.trainer.metrics;

import io.gradwatch.trainer.publish.GradientPublisher;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

/**
 * One training job's own meters, for a Prometheus that scrapes trainers directly
 * ({@code --metrics-port}): progress of the loop and what the publisher sent, dropped or lost.
 */
public final class TrainerMetrics {
    private volatile double step = Double.NaN;
    private volatile double loss = Double.NaN;
    private volatile double gradNorm = Double.NaN;

    public TrainerMetrics(MeterRegistry registry, String runId, GradientPublisher publisher) {
        Tags run = Tags.of("run", runId);
        Gauge.builder("gradwatch.trainer.step", this, m -> m.step).tags(run).description("optimizer steps done")
                .register(registry);
        Gauge.builder("gradwatch.trainer.loss", this, m -> m.loss).tags(run).description("loss of the last step")
                .register(registry);
        Gauge.builder("gradwatch.trainer.gradient.norm", this, m -> m.gradNorm).tags(run)
                .description("global gradient norm of the last step, before clipping").register(registry);
        FunctionCounter.builder("gradwatch.trainer.published.records", publisher, p -> p.stats().sentRecords())
                .tags(run).description("records acknowledged by Kafka").register(registry);
        FunctionCounter.builder("gradwatch.trainer.dropped.records", publisher, p -> p.stats().droppedRecords())
                .tags(run).description("records dropped because the publish buffer was full").register(registry);
        FunctionCounter.builder("gradwatch.trainer.failed.records", publisher, p -> p.stats().failedRecords())
                .tags(run).description("records Kafka did not acknowledge in time").register(registry);
    }

    /** Called by the training loop after every step. */
    public void step(long completedSteps, double lastLoss, double lastGradNorm) {
        step = completedSteps;
        loss = lastLoss;
        gradNorm = lastGradNorm;
    }
}
