package io.gradwatch.trainer.publish;

/** What a trainer sends of each published step and layer (docs/protocol.md, "Summaries"). */
public enum PublishMode {
    /** Every timestep's tensors on gradwatch.gradients: the monitor can recompute anything from them. */
    TENSORS,
    /** One GradientSummary per layer on gradwatch.summaries: the same analysis, 100-1000x fewer bytes. */
    SUMMARIES
}
