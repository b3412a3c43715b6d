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
        if (flagged) {
            int streak = state.flaggedStreak() + 1;
            int needed = type == AlertType.NON_FINITE ? 1 : thresholds.fireAfter();
            boolean fires = !state.firing() && streak >= needed;
            return new Step(new State(state.firing() || fires, streak, 0, nowMs),
                    fires ? Optional.of(AlertState.FIRING) : Optional.empty());
        }
        int streak = state.clearStreak() + 1;
        boolean resolves = state.firing() && streak >= thresholds.resolveAfter();
        return new Step(new State(state.firing() && !resolves, 0, streak, nowMs),
                resolves ? Optional.of(AlertState.RESOLVED) : Optional.empty());
    }
}
