package io.gradwatch.alerts.state;

import java.util.Arrays;
import java.util.List;

/**
 * The gradient-flow history of one layer: log10 ||dL/dh_t|| of the last {@code capacity} steps at
 * most {@code maxColumns} evenly spaced timesteps, in one flat ring of floats
 * ({@code cells[row * columns + c]}). Memory is fixed at {@code capacity * maxColumns * 4} bytes
 * plus the step numbers, whatever the sequence length. Not thread-safe: {@link FleetState} holds
 * its lock around every call.
 */
final class GradientFlow {
    private final int capacity;
    private final int maxColumns;
    private final long[] steps;
    private float[] cells;
    private int[] timesteps = new int[0];
    private int seqLen = -1;
    private int next;
    private int size;

    GradientFlow(int capacity, int maxColumns) {
        this.capacity = capacity;
        this.maxColumns = maxColumns;
        this.steps = new long[capacity];
    }

    /** Appends one step's norms; a new sequence length starts the history afresh (columns would not line up). */
    void add(long step, List<Double> norms) {
        int length = norms.size();
        if (length == 0) {
            return;
        }
        if (length != seqLen) {
            reset(length);
        }
        int columns = timesteps.length;
        int base = next * columns;
        for (int c = 0; c < columns; c++) {
            double norm = norms.get(timesteps[c]);
            // Zero, negative and non-finite norms have no logarithm: NaN draws as "no data".
            cells[base + c] = norm > 0 && Double.isFinite(norm) ? (float) Math.log10(norm) : Float.NaN;
        }
        steps[next] = step;
        next = (next + 1) % capacity;
        size = Math.min(size + 1, capacity);
    }

    /** A copy, oldest step first. */
    RunSnapshot.Flow snapshot() {
        int columns = timesteps.length;
        long[] stepCopy = new long[size];
        float[] cellCopy = new float[size * columns];
        int first = (next - size + capacity) % capacity;
        for (int r = 0; r < size; r++) {
            int row = (first + r) % capacity;
            stepCopy[r] = steps[row];
            System.arraycopy(cells, row * columns, cellCopy, r * columns, columns);
        }
        return new RunSnapshot.Flow(seqLen, timesteps.clone(), stepCopy, cellCopy);
    }

    private void reset(int length) {
        seqLen = length;
        int columns = Math.min(length, maxColumns);
        timesteps = new int[columns];
        for (int c = 0; c < columns; c++) {
            timesteps[c] = columns == 1 ? 0 : (int) Math.round(c * (length - 1) / (double) (columns - 1));
        }
        cells = new float[capacity * columns];
        Arrays.fill(cells, Float.NaN);
        next = 0;
        size = 0;
    }

}
