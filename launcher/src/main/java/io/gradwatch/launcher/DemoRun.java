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
 * @param outreachesVanilla the run's gradient horizon must be longer than the vanilla RNN's
 */
record DemoRun(String runId, String preset, Set<AlertType> expectAnyOf, Set<AlertType> mustNotFire, String story,
               boolean outreachesVanilla) {
    static final String VANILLA = "demo-vanilla-rnn";

    static final List<DemoRun> ALL = List.of(
            new DemoRun(VANILLA, "vanishing-rnn", Set.of(AlertType.VANISHING), Set.of(),
                    "tanh RNN: the gradient shrinks by a factor per timestep and never reaches the first token", false),
            new DemoRun("demo-lstm", "lstm", Set.of(),
                    Set.of(AlertType.VANISHING, AlertType.EXPLODING, AlertType.NON_FINITE),
                    "LSTM: the cell state carries the gradient back across all 50 timesteps", true),
            new DemoRun("demo-gru", "gru", Set.of(),
                    Set.of(AlertType.VANISHING, AlertType.EXPLODING, AlertType.NON_FINITE),
                    "GRU: the update gate lets the gradient through, like the LSTM with fewer gates", true),
            new DemoRun("demo-exploding-rnn", "exploding-init", Set.of(AlertType.EXPLODING, AlertType.NON_FINITE),
                    Set.of(), "RNN with recurrent weights scaled up: each timestep multiplies the gradient by > 1", false),
            new DemoRun("demo-dead-relu", "dead-relu", Set.of(AlertType.DEAD_RELU), Set.of(),
                    "ReLU RNN, learning rate too large: units pushed negative output 0 and pass no gradient", false));

    /**
     * Whether what fired, and the horizon reached, match the prediction, with the reason in words.
     * An explosion must page before its NaN: when EXPLODING is predicted and NON_FINITE fired, EXPLODING
     * must have fired first ({@code fired} is in the order the alerts first fired).
     *
     * @param horizon this run's latest horizon (-1 if none yet)
     * @param vanillaHorizon the vanilla RNN's latest horizon (-1 if none yet)
     */
    Verdict judge(Set<AlertType> fired, int horizon, int vanillaHorizon) {
        for (AlertType type : mustNotFire) {
            if (fired.contains(type)) {
                return new Verdict(false, type + " fired, which the " + preset + " preset should not show");
            }
        }
        if (!expectAnyOf.isEmpty() && expectAnyOf.stream().noneMatch(fired::contains)) {
            return new Verdict(false, "expected " + expectAnyOf + ", fired " + (fired.isEmpty() ? "nothing" : fired));
        }
        List<AlertType> order = List.copyOf(fired);
        boolean paged = expectAnyOf.contains(AlertType.EXPLODING) && order.contains(AlertType.NON_FINITE);
        if (paged && !(order.contains(AlertType.EXPLODING)
                && order.indexOf(AlertType.EXPLODING) < order.indexOf(AlertType.NON_FINITE))) {
            return new Verdict(false, "NON_FINITE paged before EXPLODING: the explosion was not caught before its NaN");
        }
        if (outreachesVanilla && !(horizon > vanillaHorizon && vanillaHorizon >= 0)) {
            return new Verdict(false, "horizon " + horizon + " is not longer than the vanilla RNN's " + vanillaHorizon);
        }
        return new Verdict(true, expectAnyOf.isEmpty()
                ? "healthy, as expected" + (outreachesVanilla ? ", horizon " + horizon + " vs the vanilla RNN's "
                        + vanillaHorizon : "")
                : fired.stream().filter(expectAnyOf::contains).findFirst().orElseThrow() + " as expected"
                        + (paged ? ", before NON_FINITE" : ""));
    }

    record Verdict(boolean asExpected, String reason) {
    }
}
