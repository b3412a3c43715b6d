package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import java.util.Optional;

/**
 * The debounce of one alert (run, layer, type): FIRING after {@code fireAfter} consecutive flagged
 * steps (NON_FINITE: at once), RESOLVED after {@code resolveAfter} consecutive clear ones. Pure:
 * a state and a step's verdict in, the next state and maybe a transition out.
 */
public final class AlertMachine {
    private AlertMachine() {
    }

    /** Where one alert stands. */
    public record State(boolean firing, int flaggedStreak, int clearStreak, long lastSeenMs) {
        public static final State CLEAR = new State(false, 0, 0, 0);
    }

    /** The next state, and FIRING or RESOLVED when the alert changed. */
    public record Step(State state, Optional<AlertState> transition) {
    }

    public static Step next(State state, AlertType type, boolean flagged, Thresholds thresholds, long nowMs) {
        return next(state, type, flagged, false, thresholds, nowMs);
    }

    /**
     * As {@link #next(State, AlertType, boolean, Thresholds, long)}; a {@code severe} flag fires on
     * this very step: an explosion 100x past its ceiling is one or two steps from NaN, and a 3-step
     * debounce would let NON_FINITE page first, when the weights are already lost.
     */
    public static Step next(State state, AlertType type, boolean flagged, boolean severe, Thresholds thresholds,
                            long nowMs) {
        if (flagged) {
            int streak = state.flaggedStreak() + 1;
            int needed = type == AlertType.NON_FINITE || severe ? 1 : thresholds.fireAfter();
            boolean fires = !state.firing() && streak >= needed;
            return new Step(new State(state.firing() || fires, streak, 0, nowMs),
                    fires ? Optional.of(AlertState.FIRING) : Optional.empty());
        }
        int streak = state.clearStreak() + 1;
        boolean resolves = state.firing() && streak >= thresholds.resolveAfter();
        return new Step(new State(state.firing() && !resolves, 0, streak, nowMs),
                resolves ? Optional.of(AlertState.RESOLVED) : Optional.empty());
    }

    /**
     * Whether an EXPLODING alert that is pending (flagged on earlier steps, not yet fired) must
     * fire now because this step turned non-finite: a run that grew first pages EXPLODING, never
     * NON_FINITE alone, since the growth is what tells on-call the cause.
     */
    public static boolean explosionTurnedNonFinite(State exploding, boolean nonFiniteNow) {
        return nonFiniteNow && !exploding.firing() && exploding.flaggedStreak() > 0;
    }
}
