package io.gradwatch.launcher;

import io.gradwatch.protocol.v1.AlertType;
import java.util.List;
import java.util.Set;

/**
 * One of the demo's side-by-side runs: the trainer preset it uses and the alerts the seeds
 * predict for it.
 *
 * @param runId the run's name on the dashboard
 * @param preset trainer preset ({@code ./gradwatch train --help} lists them)
 * @param expectAnyOf the run is as predicted if one of these fired (empty: none of {@code mustNotFire} fired)
 * @param mustNotFire alerts that would contradict the prediction
 * @param story one sentence on why
 */
record DemoRun(String runId, String preset, Set<AlertType> expectAnyOf, Set<AlertType> mustNotFire, String story) {

    static final List<DemoRun> ALL = List.of(
            new DemoRun("demo-vanilla-rnn", "vanishing-rnn", Set.of(AlertType.VANISHING), Set.of(),
                    "tanh RNN: the gradient shrinks by a factor per timestep and never reaches the first token"),
            new DemoRun("demo-lstm", "lstm", Set.of(),
                    Set.of(AlertType.VANISHING, AlertType.EXPLODING, AlertType.NON_FINITE),
                    "LSTM: the cell state carries the gradient back across all 50 timesteps"),
            new DemoRun("demo-gru", "gru", Set.of(),
                    Set.of(AlertType.VANISHING, AlertType.EXPLODING, AlertType.NON_FINITE),
                    "GRU: the update gate lets the gradient through, like the LSTM with fewer gates"),
            new DemoRun("demo-exploding-rnn", "exploding-init", Set.of(AlertType.EXPLODING, AlertType.NON_FINITE),
                    Set.of(), "RNN with recurrent weights scaled up: each timestep multiplies the gradient by > 1"),
            new DemoRun("demo-dead-relu", "dead-relu", Set.of(AlertType.DEAD_RELU), Set.of(),
                    "ReLU RNN, learning rate too large: units pushed negative output 0 and pass no gradient"));

    /** Whether what fired matches the prediction, with the reason in words. */
    Verdict judge(Set<AlertType> fired) {
        for (AlertType type : mustNotFire) {
            if (fired.contains(type)) {
                return new Verdict(false, type + " fired, which the " + preset + " preset should not show");
            }
        }
        if (!expectAnyOf.isEmpty() && expectAnyOf.stream().noneMatch(fired::contains)) {
            return new Verdict(false, "expected " + expectAnyOf + ", fired " + (fired.isEmpty() ? "nothing" : fired));
        }
        return new Verdict(true, expectAnyOf.isEmpty() ? "healthy, as expected"
                : fired.stream().filter(expectAnyOf::contains).findFirst().orElseThrow() + " as expected");
    }

    record Verdict(boolean asExpected, String reason) {
    }
}
