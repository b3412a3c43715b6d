package io.gradwatch.monitor.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The horizon reads the recurrence, not the head: recorded profiles (trainer-service's presets,
 * and the PyTorch LSTM profile of issue 14) give an LSTM a longer horizon than a tanh RNN at every
 * step after warm-up, where the head-relative definition did not separate them.
 */
class HorizonTest {
    private static final int WARM_UP = 5;

    /**
     * The issue's healthy PyTorch LSTM (forget bias): g_{T-1} = 1.0 (the head's direct gradient),
     * 0.146, 0.022, then a slow decay to 0.002 at t = 0. Reconstructed from the numbers in the issue.
     */
    static double[] pytorchLstm(int seqLen) {
        double[] norms = new double[seqLen];
        norms[seqLen - 1] = 1.0;
        norms[seqLen - 2] = 0.146;
        norms[seqLen - 3] = 0.022;
        double factor = Math.pow(0.002 / 0.022, 1.0 / (seqLen - 3));
        for (int t = seqLen - 4; t >= 0; t--) {
            norms[t] = norms[t + 1] * factor;
        }
        return norms;
    }

    @Test
    void theHeadDominatedPytorchLstmHasAHorizonOfTheWholeSequenceUnlikeTheHeadRelativeOne() {
        for (int seqLen : new int[] {20, 35, 50, 100}) {
            double[] lstm = pytorchLstm(seqLen);
            assertThat(LayerAnalysis.headHorizon(lstm)).as("head-relative, T = " + seqLen).isLessThan(seqLen / 2);
            assertThat(LayerAnalysis.horizon(lstm)).as("fitted, T = " + seqLen).isEqualTo(seqLen - 1);
        }
    }

    @Test
    void anLstmReachesFurtherBackThanATanhRnnAtEveryStepAfterWarmUp() throws IOException {
        List<double[]> lstm = profiles("preset-lstm.csv");
        List<double[]> gru = profiles("preset-gru.csv");
        List<double[]> tanh = profiles("preset-vanishing-rnn.csv");
        for (int i = WARM_UP; i < tanh.size(); i++) {
            int rnn = LayerAnalysis.horizon(tanh.get(i));
            assertThat(LayerAnalysis.horizon(lstm.get(i))).as("LSTM vs tanh at record " + i).isGreaterThan(rnn);
            assertThat(LayerAnalysis.horizon(gru.get(i))).as("GRU vs tanh at record " + i).isGreaterThan(rnn);
            assertThat(LayerAnalysis.horizon(pytorchLstm(50))).isGreaterThan(rnn);
            assertThat(rnn).as("the tanh RNN's gradient is gone within a dozen steps").isBetween(5, 12);
        }
    }

    @Test
    void theNotesGeometricExampleKeepsItsHorizonAndShortSequencesFallBack() {
        assertThat(LayerAnalysis.horizon(LayerAnalysisTest.geometric(0.5, 11))).isEqualTo(6);
        assertThat(LayerAnalysis.horizon(LayerAnalysisTest.geometric(1.0, 11))).as("flat: the whole sequence")
                .isEqualTo(10);
        assertThat(LayerAnalysis.horizon(new double[] {0.001, 1})).isEqualTo(0);
        assertThat(LayerAnalysis.horizon(new double[] {0.5, 1})).isEqualTo(1);
    }

    static List<double[]> profiles(String name) throws IOException {
        try (InputStream in = HorizonTest.class.getResourceAsStream("/profiles/" + name)) {
            List<double[]> norms = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                double[] values = Arrays.stream(line.split(",")).mapToDouble(Double::parseDouble).toArray();
                norms.add(Arrays.copyOfRange(values, 3, values.length));
            }
            return norms;
        }
    }

    /** Whole rows: step, loss, grad_norm, then the norms. */
    static List<double[]> rows(String name) throws IOException {
        try (InputStream in = HorizonTest.class.getResourceAsStream("/profiles/" + name)) {
            List<double[]> rows = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    rows.add(Arrays.stream(line.split(",")).mapToDouble(Double::parseDouble).toArray());
                }
            }
            return rows;
        }
    }
}
