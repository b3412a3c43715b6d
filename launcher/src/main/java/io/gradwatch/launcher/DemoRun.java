package io.gradwatch.launcher;

import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.ControlCommand;
import java.util.List;
import java.util.Locale;
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
 * @param seqLen the run's own sequence length, 0 for the demo's {@code --seq-len}
 * @param closedLoop the run opts in to the closed loop (label {@code gradwatch.closed-loop=true}) and is
 *                   judged on its rescue ({@link #judgeRescue})
 */
record DemoRun(String runId, String preset, Set<AlertType> expectAnyOf, Set<AlertType> mustNotFire, String story,
               boolean outreachesVanilla, int seqLen, boolean closedLoop) {
    static final String VANILLA = "demo-vanilla-rnn";
    static final String RESCUED = "demo-rescued-rnn";
    /** The rescued run's sequence length: see its story and docs/signals.md. */
    static final int RESCUED_SEQ_LEN = 20;

    DemoRun(String runId, String preset, Set<AlertType> expectAnyOf, Set<AlertType> mustNotFire, String story,
            boolean outreachesVanilla) {
        this(runId, preset, expectAnyOf, mustNotFire, story, outreachesVanilla, 0, false);
    }

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
                    "ReLU RNN, learning rate too large: units pushed negative output 0 and pass no gradient", false),
            new DemoRun(RESCUED, "warmup-overshoot", Set.of(AlertType.EXPLODING), Set.of(AlertType.NON_FINITE),
                    "Adam warm-up to lr 0.1 with the closed loop on: a lower learning rate saves it (a clip would not)",
                    false, RESCUED_SEQ_LEN, true));

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

    /**
     * A closed-loop run is rescued when EXPLODING fired, the loop acted (and did not have to stop
     * the run), EXPLODING is no longer firing, NON_FINITE never fired and the latest loss is finite;
     * other alerts firing at the end are named in the reason.
     *
     * @param firingNow alert types firing at the end
     * @param actions the loop's actions in order, e.g. {@code SET_CLIP_NORM@35}
     * @param loss the run's latest loss (NaN if none)
     */
    Verdict judgeRescue(Set<AlertType> fired, Set<AlertType> firingNow, List<RunBoard.Action> actions, double loss) {
        if (fired.contains(AlertType.NON_FINITE)) {
            return new Verdict(false, "NON_FINITE fired: the closed loop did not save the run" + after(actions));
        }
        if (!fired.contains(AlertType.EXPLODING)) {
            return new Verdict(false, "EXPLODING never fired, nothing to rescue yet");
        }
        if (actions.isEmpty()) {
            return new Verdict(false, "EXPLODING fired but the closed loop took no action");
        }
        if (actions.stream().anyMatch(a -> a.command() == ControlCommand.CommandCase.STOP)) {
            return new Verdict(false, "the closed loop had to stop the run" + after(actions));
        }
        if (firingNow.contains(AlertType.EXPLODING)) {
            return new Verdict(false, "EXPLODING still firing" + after(actions));
        }
        if (!Double.isFinite(loss)) {
            return new Verdict(false, "the latest loss is " + loss + after(actions));
        }
        // Other alerts do not undo the rescue, but the line says so: a solved run's loss can reach exactly
        // 0, and with it the gradient, which VANISHING and UPDATE_RATIO then report.
        String others = firingNow.isEmpty() ? "" : "; also firing now: "
                + String.join(", ", firingNow.stream().map(AlertType::name).toList());
        return new Verdict(true, String.format(Locale.ROOT, "rescued: EXPLODING, then %s; EXPLODING resolved, loss %.4g%s",
                describe(actions), loss, others));
    }

    private static String after(List<RunBoard.Action> actions) {
        return actions.isEmpty() ? "" : " (after " + describe(actions) + ")";
    }

    private static String describe(List<RunBoard.Action> actions) {
        return String.join(", ", actions.stream().map(a -> a.command().name().toLowerCase(Locale.ROOT) + "@"
                + a.step()).toList());
    }

    record Verdict(boolean asExpected, String reason) {
    }
}
