package io.gradwatch.trainer.publish;

import java.io.PrintStream;
import java.util.Locale;

/**
 * For offline runs ({@code --no-kafka}): prints each published step's per-timestep gradient norms
 * g_t = ||dL/dh_t|| (at up to eight evenly spaced timesteps) and the decay ratio g_0 / g_{T-1},
 * the same numbers the monitor would compute from the published tensors.
 */
public final class ConsolePublisher implements GradientPublisher {
    private static final int POSITIONS = 8;
    private final PrintStream out;

    public ConsolePublisher(PrintStream out) {
        this.out = out;
    }

    @Override
    public boolean offer(StepSnapshot snapshot) {
        for (LayerSnapshot layer : snapshot.layers()) {
            double[] norms = layer.timestepNorms();
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s step %d layer %d |dL/dh_t|:",
                    snapshot.runId(), snapshot.step(), layer.layer()));
            int count = Math.min(POSITIONS, norms.length);
            for (int i = 0; i < count; i++) {
                int t = count == 1 ? norms.length - 1 : (int) Math.round(i * (norms.length - 1) / (double) (count - 1));
                line.append(String.format(Locale.ROOT, " t%d=%.2e", t, norms[t]));
            }
            line.append(String.format(Locale.ROOT, "  decay %.2e", norms[0] / norms[norms.length - 1]));
            if (layer.activation() != null && layer.activations() != null && isReluFamily(layer)) {
                line.append(String.format(Locale.ROOT, "  dead %.0f%%", 100 * layer.deadFraction()));
            }
            out.println(line);
        }
        return true;
    }

    private static boolean isReluFamily(LayerSnapshot layer) {
        return switch (layer.activation()) {
            case RELU, LEAKY_RELU, ELU -> true;
            default -> false;
        };
    }

    @Override
    public PublishStats stats() {
        return new PublishStats(0, 0, 0, 0);
    }

    @Override
    public void close() {
    }
}
