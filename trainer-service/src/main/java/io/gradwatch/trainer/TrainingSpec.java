package io.gradwatch.trainer;

import io.gradwatch.protocol.v1.DType;
import io.gradwatch.trainer.nn.Activation;
import io.gradwatch.trainer.nn.CellKind;
import io.gradwatch.trainer.nn.Init;
import io.gradwatch.trainer.publish.PublishMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Everything one training job is: model, task, optimisation, publishing and checkpoints. Built
 * once from a preset and command-line flags, validated, then read by the training loop.
 */
public record TrainingSpec(
        String runId,
        Model model,
        Task task,
        Optimization optimization,
        Publishing publishing,
        Checkpointing checkpointing,
        long steps,
        long seed,
        double maxStepsPerSecond,
        Duration progressEvery) {

    /** Network shape and initialisation. */
    public record Model(CellKind cell, Activation activation, int hidden, int layers, Init init, double initGain,
                        double gateBias) {
    }

    /** What the network learns. */
    public record Task(TaskKind kind, int seqLen, int batch, int vocab, Path dataFile) {
    }

    /**
     * How it learns. With {@code warmupSteps > 0} the learning rate follows a linear warm-up from
     * {@code learningRate} to {@code peakLearningRate} over that many steps, then stays at the peak
     * (a too-high peak is the misconfigured warm-up that blows a run up over tens of steps).
     */
    public record Optimization(OptimizerKind optimizer, double learningRate, double momentum, double clipNorm,
                               double clipValue, int tbpttK1, int tbpttK2, int warmupSteps, double peakLearningRate) {

        /** The scheduled learning rate of {@code step}, before any scale_learning_rate command. */
        public double scheduledLearningRate(long step) {
            if (warmupSteps <= 0) {
                return learningRate;
            }
            double progress = Math.min(1.0, (double) step / warmupSteps);
            return learningRate + (peakLearningRate - learningRate) * progress;
        }
    }

    /**
     * What is published, how often, how encoded; {@code labels} go into the run's metadata (e.g.
     * {@code gradwatch.closed-loop=true} opts the run into the monitor's closed loop).
     */
    public record Publishing(boolean kafka, int every, DType dtype, boolean activations, boolean preactGrads,
                             int queueSteps, PublishMode mode,
                             Map<String, String> labels) {
        public Publishing {
            labels = Map.copyOf(labels);
        }
    }

    /** Where checkpoints go and how often; {@code resumeFrom} continues a run. */
    public record Checkpointing(Path directory, long every, Path resumeFrom) {
    }

    public enum TaskKind { LONG_DEPENDENCY, ADDING, SENTIMENT, FILE }

    public enum OptimizerKind { SGD, MOMENTUM, RMSPROP, ADAM }
}
