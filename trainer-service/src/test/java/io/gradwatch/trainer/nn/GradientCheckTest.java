package io.gradwatch.trainer.nn;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.trainer.tasks.Batch;
import io.gradwatch.trainer.tasks.Targets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Central finite differences against the analytic gradient, in double precision: every cell,
 * activation, depth, head, loss and truncation. An entry passes when
 * |analytic - numeric| <= 1e-6 * max(|analytic|, |numeric|) + 1e-9 (the absolute floor only
 * matters for entries that are zero to rounding).
 */
class GradientCheckTest {
    static final int T = 5;
    static final int B = 3;
    static final int IN = 4;
    static final int H = 5;
    private static final double EPS = 1e-5;

    static Stream<Arguments> recurrentCases() {
        List<Arguments> cases = new ArrayList<>();
        for (Activation activation : Activation.values()) {
            for (int layers : new int[] {1, 2}) {
                cases.add(Arguments.of(CellKind.RNN, activation, layers, false, false));
            }
        }
        for (CellKind cell : new CellKind[] {CellKind.LSTM, CellKind.GRU}) {
            for (int layers : new int[] {1, 2}) {
                cases.add(Arguments.of(cell, Activation.TANH, layers, false, false));
            }
        }
        for (CellKind cell : new CellKind[] {CellKind.RNN, CellKind.LSTM, CellKind.GRU}) {
            cases.add(Arguments.of(cell, Activation.TANH, 2, true, false)); // per-timestep head
            cases.add(Arguments.of(cell, Activation.TANH, 1, false, true)); // MSE
            cases.add(Arguments.of(cell, Activation.TANH, 2, true, true));  // per-timestep MSE
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} layers={2} perTimestep={3} mse={4}")
    @MethodSource("recurrentCases")
    void exactBpttMatchesFiniteDifferences(CellKind cell, Activation activation, int layers, boolean perTimestep,
                                           boolean mse) {
        SplittableRandom rng = new SplittableRandom(42);
        Network network = Network.create(new ModelConfig(cell, activation, IN, H, layers, mse ? 2 : 3, Init.DEFAULT,
                1.5), rng);
        Batch batch = batch(T, mse, perTimestep, rng);
        Tbptt full = Tbptt.full(T);
        network.forwardBackward(batch, full);
        assertGradientsMatch(network.parameters(), () -> network.loss(batch, full));
    }

    /**
     * A non-zero initial state h_{-1} (and c_{-1}), as a carried-over TBPTT state: dW_hh must
     * include dz_0 h_{-1}^T.
     */
    @ParameterizedTest(name = "{0} layers={1} from a non-zero initial state")
    @MethodSource("initialStateCases")
    void exactBpttFromANonZeroInitialStateMatchesFiniteDifferences(CellKind cell, int layers) {
        SplittableRandom rng = new SplittableRandom(11);
        SequenceModel model = (SequenceModel) Network.create(new ModelConfig(cell, Activation.TANH, IN, H, layers, 3,
                Init.DEFAULT, 1.5), rng);
        for (RecurrentLayer layer : model.layers()) {
            layer.setInitialHidden(gaussian(B * H, rng));
            if (layer instanceof LstmLayer lstm) {
                lstm.setInitialCell(gaussian(B * H, rng));
            }
        }
        Batch batch = batch(T, false, false, rng);
        Tbptt full = Tbptt.full(T);
        model.forwardBackward(batch, full);
        assertGradientsMatch(model.parameters(), () -> model.loss(batch, full));
    }

    static Stream<Arguments> initialStateCases() {
        return Stream.of(CellKind.RNN, CellKind.LSTM, CellKind.GRU)
                .flatMap(cell -> Stream.of(Arguments.of(cell, 1), Arguments.of(cell, 2)));
    }

    private static double[] gaussian(int n, SplittableRandom rng) {
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = rng.nextGaussian();
        }
        return values;
    }

    @ParameterizedTest(name = "MLP {0} mse={1}")
    @MethodSource("mlpCases")
    void mlpBackpropMatchesFiniteDifferences(Activation activation, boolean mse) {
        SplittableRandom rng = new SplittableRandom(7);
        Batch batch = batch(2, mse, false, rng);
        Network network = Network.create(new ModelConfig(CellKind.MLP, activation, 2 * IN, H, 4, mse ? 2 : 3,
                Init.DEFAULT, 1.0), rng);
        network.forwardBackward(batch, Tbptt.full(2));
        assertGradientsMatch(network.parameters(), () -> network.loss(batch, Tbptt.full(2)));
    }

    static Stream<Arguments> mlpCases() {
        return Stream.of(Activation.values()).flatMap(a -> Stream.of(Arguments.of(a, false), Arguments.of(a, true)));
    }

    /**
     * TBPTT(k1, k2) equals, window by window, exact BPTT of a model that starts each window from
     * the (constant) hidden state the full forward pass reached just before it.
     */
    @ParameterizedTest(name = "{0} k1={1} k2={2} perTimestep={3}")
    @MethodSource("truncationCases")
    void truncatedBpttMatchesBpttOfDetachedWindows(CellKind cell, int k1, int k2, boolean perTimestep) {
        int seqLen = 7;
        SplittableRandom rng = new SplittableRandom(3);
        ModelConfig config = new ModelConfig(cell, Activation.TANH, IN, H, 2, 3, Init.DEFAULT, 1.0);
        SequenceModel model = (SequenceModel) Network.create(config, rng);
        Batch batch = batch(seqLen, false, perTimestep, rng);
        model.forwardBackward(batch, new Tbptt(k1, k2));
        List<double[]> truncated = model.parameters().stream().map(p -> p.grad().clone()).toList();

        SequenceModel reference = (SequenceModel) Network.create(config, new SplittableRandom(99));
        copyValues(model, reference);
        double[][] expected = new double[truncated.size()][];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = new double[truncated.get(i).length];
        }
        int previous = -1;
        for (int update = Math.min(k1, seqLen) - 1; ; update = Math.min(update + k1, seqLen - 1)) {
            int lo = Math.max(0, update - k2 + 1);
            int lossFrom = perTimestep ? previous + 1 : seqLen - 1;
            if (lossFrom <= update) {
                double[] windowGrads = windowGradient(model, reference, batch, lo, update, lossFrom, seqLen);
                int offset = 0;
                for (double[] e : expected) {
                    for (int j = 0; j < e.length; j++) {
                        e[j] += windowGrads[offset++];
                    }
                }
            }
            previous = update;
            if (update == seqLen - 1) {
                break;
            }
        }
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[i].length; j++) {
                assertClose(model.parameters().get(i).name() + "[" + j + "]", truncated.get(i)[j], expected[i][j]);
            }
        }
    }

    static Stream<Arguments> truncationCases() {
        return Stream.of(CellKind.RNN, CellKind.LSTM, CellKind.GRU).flatMap(cell -> Stream.of(
                Arguments.of(cell, 3, 3, false),
                Arguments.of(cell, 2, 4, false),
                Arguments.of(cell, 3, 3, true),
                Arguments.of(cell, 2, 3, true),
                Arguments.of(cell, 7, 7, true)));
    }

    /** Numeric gradient of the losses at [lossFrom, update] of a window [lo, update] started from detached states. */
    private static double[] windowGradient(SequenceModel model, SequenceModel reference, Batch batch, int lo,
                                           int update, int lossFrom, int seqLen) {
        // States the full forward reached just before the window, under the unperturbed parameters.
        model.loss(batch, Tbptt.full(seqLen));
        for (int l = 0; l < model.layers().size(); l++) {
            RecurrentLayer source = model.layers().get(l);
            RecurrentLayer target = reference.layers().get(l);
            target.setInitialHidden(lo == 0 ? null : slice(source.output(), lo - 1, B * H));
            if (source instanceof LstmLayer lstm) {
                ((LstmLayer) target).setInitialCell(lo == 0 ? null : slice(lstm.cellStates(), lo - 1, B * H));
            }
        }
        int length = update - lo + 1;
        double[] inputs = new double[length * B * IN];
        System.arraycopy(batch.inputs(), lo * B * IN, inputs, 0, inputs.length);
        Targets.Classes classes = (Targets.Classes) batch.targets();
        Batch window;
        double weight;
        if (classes.perTimestep()) {
            // Labels outside [lossFrom, update] are replaced by a per-step loss we subtract below.
            int[] labels = new int[length * B];
            System.arraycopy(classes.labels(), lo * B, labels, 0, labels.length);
            window = new Batch(length, B, IN, inputs, new Targets.Classes(labels, 3, true));
            weight = (double) length / seqLen;
        } else {
            window = new Batch(length, B, IN, inputs, classes);
            weight = 1.0;
        }
        List<double[]> grads = new ArrayList<>();
        List<Parameter> parameters = reference.parameters();
        int total = parameters.stream().mapToInt(Parameter::size).sum();
        double[] result = new double[total];
        int offset = 0;
        for (Parameter p : parameters) {
            for (int j = 0; j < p.size(); j++) {
                double original = p.value()[j];
                p.value()[j] = original + EPS;
                double plus = windowLoss(reference, window, lo, lossFrom, update) * weight;
                p.value()[j] = original - EPS;
                double minus = windowLoss(reference, window, lo, lossFrom, update) * weight;
                p.value()[j] = original;
                result[offset++] = (plus - minus) / (2 * EPS);
            }
            grads.add(p.grad());
        }
        return result;
    }

    /** Loss of the window restricted to timesteps [lossFrom, update] (per-timestep), via a masked sum. */
    private static double windowLoss(SequenceModel reference, Batch window, int lo, int lossFrom, int update) {
        if (!window.targets().perTimestep()) {
            return reference.loss(window, Tbptt.full(window.seqLen()));
        }
        // Sum of per-timestep losses: loss(prefix ending at t) * (t+1) - loss(prefix ending at t-1) * t.
        double sum = 0;
        for (int t = lossFrom - lo; t <= update - lo; t++) {
            sum += prefixLoss(reference, window, t + 1) * (t + 1) - (t == 0 ? 0 : prefixLoss(reference, window, t) * t);
        }
        return sum / window.seqLen();
    }

    private static double prefixLoss(SequenceModel reference, Batch window, int length) {
        double[] inputs = new double[length * B * IN];
        System.arraycopy(window.inputs(), 0, inputs, 0, inputs.length);
        int[] labels = new int[length * B];
        System.arraycopy(((Targets.Classes) window.targets()).labels(), 0, labels, 0, labels.length);
        return reference.loss(new Batch(length, B, IN, inputs, new Targets.Classes(labels, 3, true)),
                Tbptt.full(length));
    }

    private static double[] slice(double[] values, int t, int width) {
        double[] result = new double[width];
        System.arraycopy(values, t * width, result, 0, width);
        return result;
    }

    private static void copyValues(Network from, Network to) {
        for (int i = 0; i < from.parameters().size(); i++) {
            double[] source = from.parameters().get(i).value();
            System.arraycopy(source, 0, to.parameters().get(i).value(), 0, source.length);
        }
    }

    static void assertGradientsMatch(List<Parameter> parameters, DoubleSupplier loss) {
        for (Parameter p : parameters) {
            double[] analytic = p.grad().clone();
            for (int j = 0; j < p.size(); j++) {
                double original = p.value()[j];
                p.value()[j] = original + EPS;
                double plus = loss.getAsDouble();
                p.value()[j] = original - EPS;
                double minus = loss.getAsDouble();
                p.value()[j] = original;
                assertClose(p.name() + "[" + j + "]", analytic[j], (plus - minus) / (2 * EPS));
            }
        }
    }

    static void assertClose(String what, double analytic, double numeric) {
        double tolerance = 1e-6 * Math.max(Math.abs(analytic), Math.abs(numeric)) + 1e-9;
        assertThat(Math.abs(analytic - numeric)).as("%s: analytic %s vs numeric %s", what, analytic, numeric)
                .isLessThanOrEqualTo(tolerance);
    }

    static Batch batch(int seqLen, boolean mse, boolean perTimestep, SplittableRandom rng) {
        double[] inputs = new double[seqLen * B * IN];
        for (int i = 0; i < inputs.length; i++) {
            inputs[i] = rng.nextGaussian();
        }
        int rows = perTimestep ? seqLen * B : B;
        if (mse) {
            double[] values = new double[rows * 2];
            for (int i = 0; i < values.length; i++) {
                values[i] = rng.nextGaussian();
            }
            return new Batch(seqLen, B, IN, inputs, new Targets.Values(values, 2, perTimestep));
        }
        int[] labels = new int[rows];
        for (int i = 0; i < rows; i++) {
            labels[i] = rng.nextInt(3);
        }
        return new Batch(seqLen, B, IN, inputs, new Targets.Classes(labels, 3, perTimestep));
    }
}
