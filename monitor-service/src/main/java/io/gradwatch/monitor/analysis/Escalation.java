package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.v1.StepRecord;

/**
 * The closed loop's ladder, as a pure function of the loop's position and the next StepRecord.
 * After an action the loop follows its effect, not dL/dh_t (measured before clipping, so
 * clipping never changes it): a step record is healthy when its loss and its clipped global
 * gradient norm are finite and the loss is no higher than the worst loss of the window before
 * the loop engaged. Healthy for the resolve window: the alert resolves. Not healthy
 * {@code escalateAfter} records after an action: the next rung (clip -> scale the learning rate
 * down -> stop; an adaptive optimizer's run starts at the learning rate). A non-finite value
 * stops at once, whatever the rung.
 */
public final class Escalation {
    private Escalation() {
    }

    /** What the loop does after one step record. */
    public enum Action { NONE, SCALE_LEARNING_RATE, STOP, RESOLVE }

    public record Decision(RunSteps.Loop loop, Action action) {
    }

    /** The loop engaged by the first action (the clip) for an alert of {@code layer}. */
    public static RunSteps.Loop engage(int layer, double lossCeiling) {
        return new RunSteps.Loop(1, 0, 0, lossCeiling, layer, false);
    }

    /**
     * The loop engaged on the second rung, the learning rate: for an adaptive optimizer (Adam,
     * RMSprop), which divides the step by the gradient's running scale, so a clipped gradient moves
     * the weights as far and the clip rung would only spend {@code escalateAfter} records.
     */
    public static RunSteps.Loop engageAtLearningRate(int layer, double lossCeiling) {
        return new RunSteps.Loop(2, 0, 0, lossCeiling, layer, false);
    }

    public static Decision follow(RunSteps.Loop loop, StepRecord record, Thresholds th, StepThresholds st) {
        if (!loop.engaged() || loop.resolved() || loop.level() >= 3) {
            return new Decision(loop, Action.NONE);
        }
        double loss = record.getLoss();
        double clipped = record.getGradNormClipped();
        if (!Double.isFinite(loss) || !Double.isFinite(clipped) || !Double.isFinite(record.getGradNorm())) {
            return new Decision(new RunSteps.Loop(3, 0, 0, loop.lossCeiling(), loop.layer(), false), Action.STOP);
        }
        boolean healthy = Double.isNaN(loop.lossCeiling()) || loss <= loop.lossCeiling();
        int streak = healthy ? loop.healthyStreak() + 1 : 0;
        int since = loop.sinceAction() + 1;
        if (streak >= th.resolveAfter()) {
            return new Decision(new RunSteps.Loop(loop.level(), since, streak, loop.lossCeiling(), loop.layer(), true),
                    Action.RESOLVE);
        }
        if (!healthy && since >= st.escalateAfter()) {
            int level = loop.level() + 1;
            return new Decision(new RunSteps.Loop(level, 0, 0, loop.lossCeiling(), loop.layer(), false),
                    level == 2 ? Action.SCALE_LEARNING_RATE : Action.STOP);
        }
        return new Decision(new RunSteps.Loop(loop.level(), since, streak, loop.lossCeiling(), loop.layer(), false),
                Action.NONE);
    }
}
