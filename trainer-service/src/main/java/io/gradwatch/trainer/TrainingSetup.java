package io.gradwatch.trainer;

import io.gradwatch.trainer.checkpoint.Checkpoint;
import io.gradwatch.trainer.nn.CellKind;
import io.gradwatch.trainer.nn.ModelConfig;
import io.gradwatch.trainer.nn.Network;
import io.gradwatch.trainer.optim.Optimizer;
import io.gradwatch.trainer.tasks.AddingProblem;
import io.gradwatch.trainer.tasks.FileDataset;
import io.gradwatch.trainer.tasks.LongDependencyTask;
import io.gradwatch.trainer.tasks.SentimentTask;
import io.gradwatch.trainer.tasks.SequenceTask;
import java.io.IOException;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The task, network and optimizer a {@link TrainingSpec} describes, seeded, and restored from a
 * checkpoint when the spec resumes one.
 *
 * @param firstStep 0, or the step a resumed checkpoint had reached
 */
public record TrainingSetup(SequenceTask task, Network network, Optimizer optimizer, long firstStep,
                            SplittableRandom rng) {

    /**
     * @param csvFeatures features per timestep when the data file is CSV
     */
    public static TrainingSetup of(TrainingSpec spec, int csvFeatures) throws IOException {
        SequenceTask task = task(spec.task(), csvFeatures);
        SplittableRandom rng = new SplittableRandom(spec.seed());
        TrainingSpec.Model m = spec.model();
        int inputSize = m.cell() == CellKind.MLP ? task.seqLen() * task.inputSize() : task.inputSize();
        Network network = Network.create(new ModelConfig(m.cell(), m.activation(), inputSize, m.hidden(), m.layers(),
                task.outputs(), m.init(), m.initGain(), m.gateBias()), rng.split());
        TrainingSpec.Optimization o = spec.optimization();
        Optimizer optimizer = Optimizer.create(o.optimizer().name().toLowerCase(Locale.ROOT), network.parameters(),
                o.learningRate(), o.momentum());
        long firstStep = 0;
        if (spec.checkpointing().resumeFrom() != null) {
            Checkpoint.Restored restored = Checkpoint.load(spec.checkpointing().resumeFrom(), network.parameters());
            firstStep = Long.parseLong(restored.metadata().getOrDefault("step", "0"));
            optimizer.restore(restored.optimizerState(),
                    Long.parseLong(restored.metadata().getOrDefault("optimizer_steps", Long.toString(firstStep))));
            if (restored.metadata().containsKey("learning_rate")) {
                optimizer.setLearningRate(Double.parseDouble(restored.metadata().get("learning_rate")));
            }
            // A resumed run must not replay the batches it already trained on.
            for (long skipped = 0; skipped < firstStep; skipped++) {
                rng.nextLong();
            }
        }
        return new TrainingSetup(task, network, optimizer, firstStep, rng);
    }

    private static SequenceTask task(TrainingSpec.Task t, int csvFeatures) throws IOException {
        return switch (t.kind()) {
            case LONG_DEPENDENCY -> new LongDependencyTask(t.seqLen(), t.vocab(), t.batch(), 2);
            case ADDING -> new AddingProblem(t.seqLen(), t.batch());
            case SENTIMENT -> new SentimentTask(t.seqLen(), t.batch());
            case FILE -> {
                if (t.dataFile() == null) {
                    throw new IllegalArgumentException("--task file needs --data FILE");
                }
                yield FileDataset.load(t.dataFile(), t.batch(), t.vocab(), csvFeatures);
            }
        };
    }
}
