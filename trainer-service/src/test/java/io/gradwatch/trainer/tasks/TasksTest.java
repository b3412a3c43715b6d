package io.gradwatch.trainer.tasks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TasksTest {

    @Test
    void longDependencyLabelIsTheFirstTokenAndNothingElse() {
        LongDependencyTask task = new LongDependencyTask(20, 10, 500, 2);
        Batch batch = task.nextBatch(new SplittableRandom(1));
        int[] labels = ((Targets.Classes) batch.targets()).labels();
        int positives = 0;
        for (int b = 0; b < 500; b++) {
            assertThat(token(batch, 0, b)).isEqualTo(labels[b]);
            for (int t = 1; t < 20; t++) {
                assertThat(token(batch, t, b)).as("distractor").isBetween(2, 9);
            }
            positives += labels[b];
        }
        assertThat(positives / 500.0).isCloseTo(0.5, within(0.08));
        assertThat(task.chanceAccuracy()).isEqualTo(0.5);
    }

    @Test
    void sameSeedSameBatches() {
        LongDependencyTask task = new LongDependencyTask(8, 6, 4, 2);
        assertThat(task.nextBatch(new SplittableRandom(9)).inputs())
                .containsExactly(task.nextBatch(new SplittableRandom(9)).inputs());
    }

    @Test
    void addingProblemTargetIsTheSumOfTheTwoMarkedValues() {
        AddingProblem task = new AddingProblem(10, 50);
        Batch batch = task.nextBatch(new SplittableRandom(2));
        double[] targets = ((Targets.Values) batch.targets()).values();
        for (int b = 0; b < 50; b++) {
            double sum = 0;
            int markers = 0;
            int firstHalf = 0;
            for (int t = 0; t < 10; t++) {
                int row = (t * 50 + b) * 2;
                if (batch.inputs()[row + 1] == 1.0) {
                    markers++;
                    sum += batch.inputs()[row];
                    firstHalf += t < 5 ? 1 : 0;
                }
            }
            assertThat(markers).isEqualTo(2);
            assertThat(firstHalf).isEqualTo(1);
            assertThat(targets[b]).isCloseTo(sum, within(1e-12));
        }
    }

    @Test
    void sentimentSentencesEndInTheirSentimentWord() {
        SentimentTask task = new SentimentTask(8, 20);
        Batch batch = task.nextBatch(new SplittableRandom(3));
        int[] labels = ((Targets.Classes) batch.targets()).labels();
        for (int b = 0; b < 20; b++) {
            String last = SentimentTask.VOCABULARY.get(token(batch, 7, b));
            assertThat(labels[b] == 1 ? "good great tasty" : "bad awful bland").contains(last);
            assertThat(SentimentTask.VOCABULARY.get(token(batch, 0, b))).isEqualTo("<pad>");
        }
    }

    @Test
    void loadsNdjsonSequencesTokensAndCsv(@TempDir Path dir) throws Exception {
        Path ndjson = dir.resolve("data.ndjson");
        Files.writeString(ndjson, "{\"label\":1,\"sequence\":[[0.5,1],[0,2],[3,4]]}\n\n"
                + "{\"label\":0,\"sequence\":[[1,1],[1,1],[1,1]]}\n");
        FileDataset data = FileDataset.load(ndjson, 4, 0, 1);
        assertThat(data.seqLen()).isEqualTo(3);
        assertThat(data.inputSize()).isEqualTo(2);
        assertThat(data.classification()).isTrue();
        assertThat(data.nextBatch(new SplittableRandom(1)).inputs()).hasSize(3 * 4 * 2);

        Path tokens = dir.resolve("tokens.ndjson");
        Files.writeString(tokens, "{\"label\":1,\"tokens\":[3,1,2]}\n{\"label\":0,\"tokens\":[0,0,4]}\n");
        assertThat(FileDataset.load(tokens, 2, 5, 1).inputSize()).isEqualTo(5);

        Path csv = dir.resolve("data.csv");
        Files.writeString(csv, "label,a,b,c,d\n0.5,1,2,3,4\n1.5,4,3,2,1\n");
        FileDataset regression = FileDataset.load(csv, 2, 0, 2);
        assertThat(regression.classification()).isFalse();
        assertThat(regression.seqLen()).isEqualTo(2);
    }

    @Test
    void badLinesAreAllReportedWithTheirNumbers(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.ndjson");
        Files.writeString(file, "{\"label\":1,\"sequence\":[[1],[2]]}\n"
                + "{oops\n"
                + "{\"label\":1,\"sequence\":[[1],[2],[3]]}\n"
                + "{\"label\":-1,\"sequence\":[[1],[2]]}\n"
                + "{\"label\":1,\"tokens\":[1]}\n");
        assertThatThrownBy(() -> FileDataset.load(file, 2, 0, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("4 bad lines")
                .hasMessageContaining("bad.ndjson:2: not valid JSON")
                .hasMessageContaining("bad.ndjson:3: sequence of 3 x 1, earlier lines have 2 x 1")
                .hasMessageContaining("bad.ndjson:4: 'label' must be a class index >= 0")
                .hasMessageContaining("bad.ndjson:5: 'tokens' lines need --vocab N");
        assertThatThrownBy(() -> FileDataset.load(dir.resolve("missing.csv"), 2, 0, 1))
                .hasMessageContaining("does not exist");
    }

    @Test
    void invalidTaskSettingsSayWhatIsWrong() {
        assertThatThrownBy(() -> new LongDependencyTask(1, 10, 4, 2)).hasMessageContaining("sequence length >= 2");
        assertThatThrownBy(() -> new LongDependencyTask(10, 2, 4, 2)).hasMessageContaining("vocabulary");
        assertThatThrownBy(() -> new SentimentTask(3, 4)).hasMessageContaining("seq-len >= 5");
    }

    private static int token(Batch batch, int t, int b) {
        int vocab = batch.inputSize();
        for (int k = 0; k < vocab; k++) {
            if (batch.inputs()[(t * batch.batchSize() + b) * vocab + k] == 1.0) {
                return k;
            }
        }
        return -1;
    }
}
