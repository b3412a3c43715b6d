package io.gradwatch.launcher;

import java.util.ArrayList;
import java.util.List;

/**
 * The fault drills' synthetic runs: steps alternate in blocks of ten, vanishing (the gradient
 * multiplied by 0.3 per timestep) then healthy, so an uninterrupted monitor's alert transitions
 * are known in advance and a crash or failover that lost or repeated one shows.
 */
public final class VanishingBlocks {
    public static final int BLOCK = 10;

    private VanishingBlocks() {
    }

    /** The per-timestep factor of {@code step}'s gradient. */
    public static double factor(long step) {
        return (step / BLOCK) % 2 == 0 ? 0.3 : 1.0;
    }

    /**
     * The alert transitions an uninterrupted monitor emits for a run of {@code steps} steps, with
     * the default thresholds: FIRING on a vanishing block's third step, RESOLVED on the fifth
     * healthy one.
     */
    public static List<String> expectedTransitions(int steps) {
        List<String> expected = new ArrayList<>();
        for (int block = 0; block * BLOCK < steps; block += 2) {
            expected.add("VANISHING FIRING at " + (block * BLOCK + 2));
            if ((block + 1) * BLOCK + 4 < steps) {
                expected.add("VANISHING RESOLVED at " + ((block + 1) * BLOCK + 4));
            }
        }
        return expected;
    }
}
