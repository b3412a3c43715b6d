package io.gradwatch.trainer;

import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.RunMetadata;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.trainer.checkpoint.Checkpoint;
import io.gradwatch.trainer.nn.LayerTrace;
import io.gradwatch.trainer.nn.Network;
import io.gradwatch.trainer.nn.StepResult;
import io.gradwatch.trainer.nn.Tbptt;
import io.gradwatch.trainer.optim.GradientClipping;
import io.gradwatch.trainer.optim.Optimizer;
import io.gradwatch.trainer.publish.GradientPublisher;
import io.gradwatch.trainer.publish.LayerSnapshot;
import io.gradwatch.trainer.publish.PublishStats;
import io.gradwatch.trainer.publish.StepSnapshot;
import io.gradwatch.trainer.tasks.Batch;
import io.gradwatch.trainer.tasks.SequenceTask;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The training loop of one run: batches, forward and (truncated) backward, clipping, the
 * optimizer step, control commands between steps, publishing every N steps, checkpoints and a
 * progress line. Everything it talks to is handed in, so a test can run it without Kafka.
 */
public final class TrainingRun {
    /** The sub-directory of the checkpoint directory that holds the last good checkpoint. */
    public static final String LAST_GOOD = "last-good";
    private final TrainingSpec spec;
    private final SequenceTask task;
    private final Network network;
    private final Optimizer optimizer;
    private final GradientPublisher publisher;
    private final Supplier<List<ControlCommand>> commands;
    private final Consumer<String> log;
    private final SplittableRandom rng;
    private final Tbptt tbptt;
    private final RunningStats recent = new RunningStats(50);
    private double clipNorm;
    /** The product of the scale_learning_rate commands so far: a warm-up schedule is scaled by it. */
    private double learningRateScale = 1.0;
    private long step;
    private final List<String> appliedSinceLastStep = new ArrayList<>();
    /** The first step whose loss or gradient norm was not finite, -1 while all were. */
    private long firstNonFiniteStep = -1;
    /** The step of the newest checkpoint written before the first non-finite value, -1 if none. */
    private long lastGoodStep = -1;
    private StepObserver observer = (step, loss, gradNorm) -> { };

    /** Hears about every step (for the trainer's own metrics). */
    @FunctionalInterface
    public interface StepObserver {
        void step(long completedSteps, double loss, double gradNorm);
    }

    public TrainingRun observe(StepObserver stepObserver) {
        this.observer = stepObserver;
        return this;
    }

    public TrainingRun(TrainingSpec spec, SequenceTask task, Network network, Optimizer optimizer,
                       GradientPublisher publisher, Supplier<List<ControlCommand>> commands, Consumer<String> log,
                       long firstStep, SplittableRandom rng) {
        this.spec = spec;
        this.task = task;
        this.network = network;
        this.optimizer = optimizer;
        this.publisher = publisher;
        this.commands = commands;
        this.log = log;
        this.rng = rng;
        this.step = firstStep;
        this.clipNorm = spec.optimization().clipNorm();
        int k1 = spec.optimization().tbpttK1() > 0 ? spec.optimization().tbpttK1() : task.seqLen();
        int k2 = spec.optimization().tbpttK2() > 0 ? spec.optimization().tbpttK2() : Math.max(k1, task.seqLen());
        this.tbptt = new Tbptt(Math.min(k1, task.seqLen()), Math.min(Math.max(k2, k1), task.seqLen()));
    }

    /** How a run ended. */
    public record Outcome(long steps, double loss, double accuracy, double gradNorm, boolean stoppedByCommand,
                          PublishStats published) {
    }

    /** Trains until {@code spec.steps()} or a stop command; checkpoints at the end when configured. */
    public Outcome run() {
        long start = System.nanoTime();
        long lastProgress = start;
        long stepsAtLastProgress = step;
        long end = step + spec.steps();
        double lastNorm = Double.NaN;
        boolean stopped = false;
        while (step < end) {
            if (applyCommands()) {
                stopped = true;
                break;
            }
            if (spec.optimization().warmupSteps() > 0) {
                optimizer.setLearningRate(spec.optimization().scheduledLearningRate(step) * learningRateScale);
            }
            Batch batch = task.nextBatch(rng);
            StepResult result = network.forwardBackward(batch, tbptt);
            double norm = GradientClipping.globalNorm(network.parameters());
            Map<String, Double> parameterNorms = GradientClipping.parameterNorms(network.parameters());
            boolean publishing = step % spec.publishing().every() == 0;
            // ||w_p|| before this step's update: lr * ||grad_p|| / ||w_p|| is the update against the weight it changes.
            Map<String, Double> weightNorms = publishing ? GradientClipping.weightNorms(network.parameters()) : Map.of();
            if (firstNonFiniteStep < 0 && !(Double.isFinite(result.loss()) && Double.isFinite(norm))) {
                firstNonFiniteStep = step;
            }
            if (spec.optimization().clipValue() > 0) {
                GradientClipping.clipByValue(network.parameters(), spec.optimization().clipValue());
            }
            double clipped = clipNorm > 0 ? clippedNorm(norm) : norm;
            optimizer.step();
            recent.add(result.loss(), result.accuracy());
            lastNorm = norm;
            if (publishing) {
                publish(batch, result, norm, clipped, parameterNorms, weightNorms);
            }
            step++;
            observer.step(step, result.loss(), norm);
            if (spec.checkpointing().directory() != null && spec.checkpointing().every() > 0
                    && step % spec.checkpointing().every() == 0) {
                checkpoint();
            }
            long now = System.nanoTime();
            if (now - lastProgress >= spec.progressEvery().toNanos()) {
                double rate = (step - stepsAtLastProgress) / ((now - lastProgress) / 1e9);
                log.accept(progressLine(norm, rate));
                lastProgress = now;
                stepsAtLastProgress = step;
            }
            throttle(start, step - (end - spec.steps()));
        }
        if (spec.checkpointing().directory() != null) {
            checkpoint();
        }
        return new Outcome(step, recent.meanLoss(), recent.meanAccuracy(), lastNorm, stopped, publisher.stats());
    }

    public long step() {
        return step;
    }

    private double clippedNorm(double norm) {
        GradientClipping.clipByNorm(network.parameters(), clipNorm);
        return Math.min(norm, clipNorm);
    }

    /** Applies pending control commands; true when one of them stops the run. */
    private boolean applyCommands() {
        for (ControlCommand command : commands.get()) {
            String id = command.getCommandId().isEmpty() ? "(no id)" : command.getCommandId();
            switch (command.getCommandCase()) {
                case STOP -> {
                    log.accept("control: stop (" + id + ", " + command.getReason() + ") at step " + step
                            + (spec.checkpointing().directory() != null ? "; checkpointing first" : ""));
                    appliedSinceLastStep.add(id);
                    restoreLastGood();
                    return true;
                }
                case SET_CLIP_NORM -> {
                    double maxNorm = command.getSetClipNorm().getMaxNorm();
                    if (maxNorm > 0 && Double.isFinite(maxNorm)) {
                        clipNorm = maxNorm;
                        log.accept("control: clip norm set to " + maxNorm + " (" + id + ", " + command.getReason() + ")");
                        appliedSinceLastStep.add(id);
                    } else {
                        log.accept("control: ignored clip norm " + maxNorm + " (" + id + "): must be a positive number");
                    }
                }
                case SCALE_LEARNING_RATE -> {
                    double factor = command.getScaleLearningRate().getFactor();
                    if (factor > 0 && Double.isFinite(factor)) {
                        learningRateScale *= factor;
                        optimizer.setLearningRate(optimizer.learningRate() * factor);
                        log.accept("control: learning rate x" + factor + " = " + optimizer.learningRate() + " (" + id
                                + ", " + command.getReason() + ")");
                        appliedSinceLastStep.add(id);
                    } else {
                        log.accept("control: ignored learning-rate factor " + factor + " (" + id + ")");
                    }
                }
                default -> log.accept("control: ignored empty command " + id);
            }
        }
        return false;
    }

    private void publish(Batch batch, StepResult result, double norm, double clipped,
                         Map<String, Double> parameterNorms, Map<String, Double> weightNorms) {
        long now = System.currentTimeMillis();
        PublishStats stats = publisher.stats();
        StepRecord.Builder record = StepRecord.newBuilder()
                .setRunId(spec.runId())
                .setStep(step)
                .setLoss(result.loss())
                .setLearningRate(optimizer.learningRate())
                .setGradNorm(norm)
                .setGradNormClipped(clipped)
                .putAllParamGradNorms(parameterNorms)
                .putAllParamNorms(weightNorms)
                .setSeqLen(batch.seqLen())
                .setAccuracy(result.accuracy())
                .setEventTimeMs(now)
                .addAllAppliedCommands(appliedSinceLastStep)
                .setDroppedRecordsTotal(stats.lostRecords());
        appliedSinceLastStep.clear();
        if (step == 0) {
            record.setMetadata(metadata(batch));
        }
        List<LayerSnapshot> layers = new ArrayList<>();
        for (LayerTrace trace : network.traces()) {
            layers.add(snapshot(trace));
        }
        publisher.offer(new StepSnapshot(spec.runId(), step, now, layers.size(), layers, record.build()));
    }

    private LayerSnapshot snapshot(LayerTrace trace) {
        int size = trace.seqLen() * trace.batch() * trace.hidden();
        float[] activations = spec.publishing().activations() ? LayerSnapshot.toFloats(trace.activations(), size) : null;
        float[] preact = spec.publishing().preactGrads()
                ? LayerSnapshot.toFloats(trace.preactGrads(), trace.seqLen() * trace.batch() * trace.preactWidth())
                : null;
        return new LayerSnapshot(trace.layer(), trace.seqLen(), trace.batch(), trace.hidden(), cellType(),
                activationFunction(trace), LayerSnapshot.toFloats(trace.hiddenGrads(), size), activations, preact,
                trace.preactWidth());
    }

    private RunMetadata metadata(Batch batch) {
        return RunMetadata.newBuilder()
                .setCell(cellType())
                .setActivation(ActivationFunction.valueOf(spec.model().activation().name()))
                .setNumLayers(spec.model().layers())
                .setHiddenSize(spec.model().hidden())
                .setInputSize(task.inputSize())
                .setBatchSize(batch.batchSize())
                .setTask(task.name())
                .setOptimizer(optimizer.name())
                .setInit(spec.model().init().name().toLowerCase(Locale.ROOT))
                .setClipNorm(Math.max(0, clipNorm))
                .putAllLabels(spec.publishing().labels())
                .build();
    }

    private CellType cellType() {
        return CellType.valueOf(spec.model().cell().name());
    }

    private ActivationFunction activationFunction(LayerTrace trace) {
        return ActivationFunction.valueOf(trace.activation().name());
    }

    private String progressLine(double norm, double stepsPerSecond) {
        PublishStats stats = publisher.stats();
        String accuracy = Double.isNaN(recent.meanAccuracy()) ? "-"
                : String.format(Locale.ROOT, "%.3f", recent.meanAccuracy());
        return String.format(Locale.ROOT, "%s step %d  loss %.4f  acc %s  grad-norm %.3e  %.1f steps/s%s",
                spec.runId(), step, recent.meanLoss(), accuracy, norm, stepsPerSecond,
                stats.lostRecords() > 0 ? "  dropped " + stats.lostRecords() + " records" : "");
    }

    /**
     * Keep-last-good: after a non-finite value the weights are lost, so a stop puts back the newest
     * checkpoint written before it (kept in {@code <dir>/last-good}) and the final checkpoint is
     * written from those weights, not from the NaN ones.
     */
    private void restoreLastGood() {
        if (firstNonFiniteStep < 0 || spec.checkpointing().directory() == null) {
            return;
        }
        if (lastGoodStep < 0) {
            log.accept("keep-last-good: the first NaN/Inf came at step " + firstNonFiniteStep
                    + ", before any checkpoint; nothing good to restore");
            return;
        }
        try {
            Checkpoint.Restored restored = Checkpoint.load(lastGoodDirectory(), network.parameters());
            optimizer.restore(restored.optimizerState(), Long.parseLong(restored.metadata().get("optimizer_steps")));
            step = Long.parseLong(restored.metadata().get("step"));
            log.accept("keep-last-good: restored the checkpoint of step " + lastGoodStep + " (the first NaN/Inf came "
                    + "at step " + firstNonFiniteStep + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the last good checkpoint in " + lastGoodDirectory(), e);
        }
    }

    private Path lastGoodDirectory() {
        return spec.checkpointing().directory().resolve(LAST_GOOD);
    }

    /** The step of the checkpoint {@code restoreLastGood} would put back, -1 if none. */
    public long lastGoodStep() {
        return lastGoodStep;
    }

    private void checkpoint() {
        // The weights are checked too: a finite loss can come with an update that already overflowed them.
        if (firstNonFiniteStep < 0 && GradientClipping.weightNorms(network.parameters()).values().stream()
                .allMatch(Double::isFinite)) {
            writeCheckpoint(lastGoodDirectory());
            lastGoodStep = step;
        } else if (firstNonFiniteStep < 0) {
            firstNonFiniteStep = step;
        }
        writeCheckpoint(spec.checkpointing().directory());
    }

    private void writeCheckpoint(Path directory) {
        try {
            Checkpoint.save(directory, network.parameters(), optimizer.state(), Map.of(
                    "run_id", spec.runId(),
                    "step", Long.toString(step),
                    "optimizer", optimizer.name(),
                    "optimizer_steps", Long.toString(optimizer.steps()),
                    "learning_rate", Double.toString(optimizer.learningRate()),
                    "clip_norm", Double.toString(clipNorm),
                    "seed", Long.toString(spec.seed()),
                    "task", task.name()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint to " + directory, e);
        }
    }

    private void throttle(long start, long stepsDone) {
        if (spec.maxStepsPerSecond() <= 0) {
            return;
        }
        long due = start + (long) (stepsDone / spec.maxStepsPerSecond() * 1e9);
        long wait = due - System.nanoTime();
        if (wait > 0) {
            try {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Mean loss and accuracy over the last {@code window} steps, for a steadier progress line. */
    private static final class RunningStats {
        private final double[] losses;
        private final double[] accuracies;
        private int count;

        RunningStats(int window) {
            losses = new double[window];
            accuracies = new double[window];
        }

        void add(double loss, double accuracy) {
            losses[count % losses.length] = loss;
            accuracies[count % accuracies.length] = accuracy;
            count++;
        }

        double meanLoss() {
            return mean(losses);
        }

        double meanAccuracy() {
            return mean(accuracies);
        }

        private double mean(double[] values) {
            int n = Math.min(count, values.length);
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += values[i];
            }
            return n == 0 ? Double.NaN : sum / n;
        }
    }
}
