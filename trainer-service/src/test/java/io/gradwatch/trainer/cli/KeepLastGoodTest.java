package io.gradwatch.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.common.config.Settings;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.trainer.checkpoint.Checkpoint;
import io.gradwatch.trainer.Preset;
import io.gradwatch.trainer.TrainingRun;
import io.gradwatch.trainer.TrainingSetup;
import io.gradwatch.trainer.TrainingSpec;
import io.gradwatch.trainer.publish.GradientPublisher;
import io.gradwatch.trainer.publish.PublishStats;
import io.gradwatch.trainer.publish.StepSnapshot;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A stop after a non-finite value restores the newest checkpoint written before it. */
class KeepLastGoodTest {

    @Test
    void aStopAfterNanRestoresTheNewestCheckpointWrittenBeforeIt(@TempDir Path dir) throws Exception {
        TrainCommand command = new TrainCommand();
        new CommandLine(command).parseArgs("--preset", "exploding-init", "--run-id", "keep", "--steps", "20",
                "--publish-every", "1", "--no-kafka", "--checkpoint-dir", dir.toString(), "--checkpoint-every", "1",
                "--init-gain", "1.4", "--lr", "0.03");
        TrainingSpec spec = command.spec(Preset.fromCliName("exploding-init"),
                Settings.load(Map.of(), null, Map.of(), Map.of()));
        TrainingSetup setup = TrainingSetup.of(spec, 1);
        List<StepRecord> records = new ArrayList<>();
        List<String> log = new ArrayList<>();
        boolean[] stopSent = {false};
        TrainingRun run = new TrainingRun(spec, setup.task(), setup.network(), setup.optimizer(), new Recorder(records),
                () -> {
                    if (!stopSent[0] && !records.isEmpty() && !finite(records.get(records.size() - 1))) {
                        stopSent[0] = true;
                        return List.of(ControlCommand.newBuilder().setCommandId("c1")
                                .setStop(ControlCommand.Stop.getDefaultInstance()).setReason("NaN").build());
                    }
                    return List.of();
                }, log::add, 0, setup.rng());
        TrainingRun.Outcome outcome = run.run();

        long firstNan = records.stream().filter(r -> !finite(r)).findFirst().orElseThrow().getStep();
        assertThat(outcome.stoppedByCommand()).isTrue();
        assertThat(run.lastGoodStep()).isBetween(1L, firstNan);
        assertThat(log).anySatisfy(line -> assertThat(line).contains("keep-last-good: restored the checkpoint of step "
                + run.lastGoodStep()));
        Checkpoint.Restored saved = Checkpoint.load(dir, setup.network().parameters());
        assertThat(saved.metadata().get("step")).isEqualTo(Long.toString(run.lastGoodStep()));
        assertThat(setup.network().parameters()).allSatisfy(p -> {
            for (double w : p.value()) {
                assertThat(w).isFinite();
            }
        });
        assertThat(records.get(0).getParamNormsMap()).containsKey("weight_hh_l0");
        assertThat(records.get(0).getParamNormsMap().keySet()).isEqualTo(records.get(0).getParamGradNormsMap().keySet());
    }

    private static boolean finite(StepRecord record) {
        return Double.isFinite(record.getLoss()) && Double.isFinite(record.getGradNorm());
    }

    private record Recorder(List<StepRecord> records) implements GradientPublisher {
        @Override
        public boolean offer(StepSnapshot snapshot) {
            records.add(snapshot.stepRecord());
            return true;
        }

        @Override
        public PublishStats stats() {
            return new PublishStats(0, 0, 0, 0);
        }

        @Override
        public void close() {
        }
    }
}
