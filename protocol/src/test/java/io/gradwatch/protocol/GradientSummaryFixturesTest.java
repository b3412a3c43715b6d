package io.gradwatch.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.GradientSummary;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The reduction's shared fixtures: each case is a step's TensorRecords ({@code <case>.tensors}:
 * 4-byte big-endian length, then the record, repeated) and the GradientSummary their reduction
 * gives ({@code <case>.summary}). The Python client's tests/test_summaries.py reduces the same
 * tensors and must produce the same bytes, so both producers agree with the monitor bit for bit.
 * Regenerate (only when the cases change) with {@code -Dgradwatch.fixtures.write=true}.
 */
class GradientSummaryFixturesTest {
    static final Path DIR = Path.of("src/test/resources/summary-fixtures");

    @ParameterizedTest
    @ValueSource(strings = {"rnn-tanh-saturated", "rnn-relu-dead", "lstm-non-finite", "gru-sigmoid-f16",
        "rnn-tanh-bf16", "mlp-relu-widths"})
    void theReductionOfEachFixtureIsItsCommittedSummary(String name) throws IOException {
        List<TensorRecord> records = build(name);
        GradientSummary summary = GradientSummaries.of(records, ActivationStats.DEFAULT_SATURATION_MARGIN);
        GradwatchSerdes.gradientSummary().decode(summary.toByteArray());
        if (Boolean.getBoolean("gradwatch.fixtures.write")) {
            Files.write(DIR.resolve(name + ".tensors"), frames(records));
            Files.write(DIR.resolve(name + ".summary"), summary.toByteArray());
        }
        assertThat(readFrames(DIR.resolve(name + ".tensors"))).isEqualTo(records);
        assertThat(Files.readAllBytes(DIR.resolve(name + ".summary"))).isEqualTo(summary.toByteArray());
    }

    private static List<TensorRecord> build(String name) {
        Random random = new Random(name.hashCode());
        return switch (name) {
            case "rnn-tanh-saturated" -> step(random, CellType.RNN, ActivationFunction.TANH, DType.F32, 7, 3, 11, 4, 0);
            case "rnn-relu-dead" -> step(random, CellType.RNN, ActivationFunction.RELU, DType.F32, 5, 4, 13, 1, 0);
            case "lstm-non-finite" -> step(random, CellType.LSTM, ActivationFunction.TANH, DType.F32, 6, 2, 9, 1, 4);
            case "gru-sigmoid-f16" -> step(random, CellType.GRU, ActivationFunction.SIGMOID, DType.F16, 5, 3, 8, 3, 0);
            case "rnn-tanh-bf16" -> step(random, CellType.RNN, ActivationFunction.TANH, DType.BF16, 4, 5, 6, 2, 0);
            default -> mlp(random);
        };
    }

    /** Activations, then pre-activation gradients (gates x hidden wide), then dL/dh_t, t = 0..T-1. */
    private static List<TensorRecord> step(Random random, CellType cell, ActivationFunction f, DType dtype, int seqLen,
                                           int batch, int hidden, double scale, int gates) {
        List<TensorRecord> records = new ArrayList<>();
        for (int t = 0; t < seqLen; t++) {
            float[] h = new float[batch * hidden];
            for (int i = 0; i < h.length; i++) {
                double z = scale * random.nextGaussian();
                h[i] = (float) switch (f) {
                    case RELU -> i % hidden < hidden / 2 ? 0 : Math.max(0, z);
                    case SIGMOID -> 1 / (1 + Math.exp(-z));
                    default -> Math.tanh(z);
                };
            }
            if (gates > 0 && t == 2) {
                h[3] = Float.NaN;
            }
            records.add(record(cell, f, dtype, t, seqLen, TensorKind.ACTIVATION, batch, hidden, h));
        }
        for (int t = 0; gates > 0 && t < seqLen; t++) {
            float[] dz = gaussian(random, batch * gates * hidden, 0.1);
            if (t == 1) {
                dz[0] = Float.NEGATIVE_INFINITY;
            }
            records.add(record(cell, f, dtype, t, seqLen, TensorKind.PREACT_GRAD, batch, gates * hidden, dz));
        }
        for (int t = 0; t < seqLen; t++) {
            float[] dh = gaussian(random, batch * hidden, Math.pow(0.7, seqLen - 1 - t));
            if (gates > 0 && t == 3) {
                java.util.Arrays.fill(dh, Float.NaN);
            } else if (gates > 0 && t == 4) {
                dh[5] = Float.POSITIVE_INFINITY;
                dh[6] = 0f;
            }
            records.add(record(cell, f, dtype, t, seqLen, TensorKind.HIDDEN_GRAD, batch, hidden, dh));
        }
        return records;
    }

    /** A feed-forward chain: "timestep" is depth, and the widths differ per depth. */
    private static List<TensorRecord> mlp(Random random) {
        int[] widths = {12, 9, 17, 5};
        List<TensorRecord> records = new ArrayList<>();
        for (int d = 0; d < widths.length; d++) {
            float[] h = gaussian(random, 3 * widths[d], 1);
            for (int i = 0; i < h.length; i++) {
                h[i] = i % widths[d] == 0 ? 0 : Math.max(0, h[i]);
            }
            records.add(record(CellType.MLP, ActivationFunction.RELU, DType.F32, d, widths.length,
                    TensorKind.ACTIVATION, 3, widths[d], h));
            records.add(record(CellType.MLP, ActivationFunction.RELU, DType.F32, d, widths.length,
                    TensorKind.HIDDEN_GRAD, 3, widths[d], gaussian(random, 3 * widths[d], 1e-3)));
        }
        return records;
    }

    private static float[] gaussian(Random random, int size, double scale) {
        float[] values = new float[size];
        for (int i = 0; i < size; i++) {
            values[i] = (float) (scale * random.nextGaussian());
        }
        return values;
    }

    private static TensorRecord record(CellType cell, ActivationFunction f, DType dtype, int t, int seqLen,
                                       TensorKind kind, int batch, int width, float[] values) {
        return TensorRecord.newBuilder().setRunId("fixture").setStep(3).setLayer(1).setTimestep(t).setSeqLen(seqLen)
                .setKind(kind).addShape(batch).addShape(width).setDtype(dtype)
                .setData(TensorRecords.encode(values, 0, values.length, dtype)).setCell(cell).setActivation(f)
                .setEventTimeMs(1_700_000_000_000L + t).setNumLayers(2).build();
    }

    private static byte[] frames(List<TensorRecord> records) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        for (TensorRecord record : records) {
            byte[] value = record.toByteArray();
            out.writeInt(value.length);
            out.write(value);
        }
        return bytes.toByteArray();
    }

    static List<TensorRecord> readFrames(Path path) throws IOException {
        List<TensorRecord> records = new ArrayList<>();
        try (InputStream file = Files.newInputStream(path); DataInputStream in = new DataInputStream(file)) {
            while (in.available() > 0) {
                byte[] value = new byte[in.readInt()];
                in.readFully(value);
                records.add(TensorRecord.parseFrom(value));
            }
        }
        return records;
    }
}
