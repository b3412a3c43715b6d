package io.gradwatch.bench;

import io.gradwatch.launcher.ManagedProcess;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.GradientSummary;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.protocol.v1.TensorRecord;
import io.gradwatch.trainer.publish.LayerSnapshot;
import io.gradwatch.trainer.publish.StepSnapshot;
import io.gradwatch.trainer.publish.SummaryRecordFactory;
import io.gradwatch.trainer.publish.TensorRecordFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Scenario 7: GradientSummary records. Bytes on the wire per step of the lstm preset's layer
 * (B 32, H 64, T 50, dL/dh_t and h_t published, F32), tensors against summaries, both made by the
 * trainer's own factories; then a topic of summaries analysed by monitor-service (exactly-once),
 * in records/s and timesteps analysed per second.
 */
final class SummaryThroughput {
    static final int BATCH = 32;
    static final int HIDDEN = 64;
    static final int SEQ_LEN = 50;

    record Result(long tensorBytesPerStep, long summaryBytesPerStep, long records, double monitorRecordsPerSecond,
                  double monitorCores) {
        double ratio() {
            return tensorBytesPerStep / (double) summaryBytesPerStep;
        }

        double timestepsPerSecond() {
            return monitorRecordsPerSecond * SEQ_LEN;
        }
    }

    private SummaryThroughput() {
    }

    static Result run(BenchStack stack, int runs, int steps, Consumer<String> progress) throws InterruptedException {
        StepSnapshot lstm = lstmStep("bench-lstm", 0, new Random(1));
        long tensorBytes = new TensorRecordFactory(DType.F32).records(lstm).stream()
                .mapToLong(TensorRecord::getSerializedSize).sum();
        SummaryRecordFactory summaries = new SummaryRecordFactory();
        long summaryBytes = summaries.summaries(lstm).stream().mapToLong(GradientSummary::getSerializedSize).sum();
        progress.accept(String.format("summaries: lstm preset step %,d B as tensors, %,d B as a summary (%.0fx); "
                + "producing %,d summaries (%d runs x %d steps, T %d)", tensorBytes, summaryBytes,
                tensorBytes / (double) summaryBytes, (long) runs * steps, runs, steps, SEQ_LEN));
        // A few distinct steps' reductions, reused with each run's id and step number: drawing
        // 100k values per summary would time the generator, not the monitor.
        Random random = new Random(2);
        List<GradientSummary> distinct = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            distinct.addAll(summaries.summaries(lstmStep("template", i, random)));
        }
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(stack.producerProps())) {
            for (int step = 0; step < steps; step++) {
                for (int run = 0; run < runs; run++) {
                    String runId = "bench-summary-" + run;
                    GradientSummary summary = distinct.get((step + run) % distinct.size()).toBuilder()
                            .setRunId(runId).setStep(step).setEventTimeMs(System.currentTimeMillis()).build();
                    producer.send(new ProducerRecord<>(Topics.SUMMARIES, runId, summary.toByteArray()));
                }
            }
            producer.flush();
        }
        ManagedProcess monitor = stack.startMonitor("1g");
        MonitorThroughput.MonitorRate rate = MonitorThroughput.monitorRate(stack, "bench-summary-health",
                "bench-summary-", (long) runs * steps, 1, monitor.pid());
        return new Result(tensorBytes, summaryBytes, (long) runs * steps, rate.recordsPerSecond(), rate.monitorCores());
    }

    /** One step of one LSTM layer shaped like the lstm preset's: gradients fading back from the loss. */
    private static StepSnapshot lstmStep(String runId, long step, Random random) {
        float[] grads = new float[SEQ_LEN * BATCH * HIDDEN];
        float[] activations = new float[grads.length];
        for (int i = 0; i < grads.length; i++) {
            int t = i / (BATCH * HIDDEN);
            grads[i] = (float) (Math.pow(0.97, SEQ_LEN - 1 - t) * 1e-2 * random.nextGaussian());
            activations[i] = (float) Math.tanh(random.nextGaussian());
        }
        LayerSnapshot layer = new LayerSnapshot(0, SEQ_LEN, BATCH, HIDDEN, CellType.LSTM, ActivationFunction.TANH,
                grads, activations, null, 0);
        return new StepSnapshot(runId, step, System.currentTimeMillis(), 1, List.of(layer),
                StepRecord.newBuilder().setRunId(runId).setStep(step).build());
    }
}
