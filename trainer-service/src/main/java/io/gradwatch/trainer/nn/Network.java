package io.gradwatch.trainer.nn;

import io.gradwatch.trainer.tasks.Batch;
import java.util.List;
import java.util.SplittableRandom;

/** A trainable network: a stack of recurrent layers or a deep MLP, with a linear head. */
public sealed interface Network permits SequenceModel, MlpModel {

    /** All parameters in PyTorch state_dict order, with their PyTorch names. */
    List<Parameter> parameters();

    /** Zeroes the gradients, runs forward and (truncated) backward, leaves gradients and traces. */
    StepResult forwardBackward(Batch batch, Tbptt tbptt);

    /** Forward only: the loss of the batch under the current parameters. */
    double loss(Batch batch, Tbptt tbptt);

    /** Per-layer views of the last step's activations and gradients, layer 0 first. */
    List<LayerTrace> traces();

    ModelConfig config();

    static Network create(ModelConfig config, SplittableRandom rng) {
        Network network = config.cell() == CellKind.MLP ? new MlpModel(config) : new SequenceModel(config);
        Init.initialize(network, config, rng);
        return network;
    }
}
