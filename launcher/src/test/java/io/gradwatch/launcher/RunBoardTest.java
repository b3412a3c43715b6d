package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.StepRecord;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RunBoardTest {

    @Test
    void showsLatestStepWorstLayerAndAlertHistory() {
        RunBoard board = new RunBoard();
        board.apply(StepRecord.newBuilder().setRunId("rnn").setStep(40).setLoss(0.6931).setAccuracy(0.5).build());
        board.apply(StepRecord.newBuilder().setRunId("rnn").setStep(39).setLoss(9).build());
        board.apply(LayerHealth.newBuilder().setRunId("rnn").setStep(40).setLayer(0).setDecayRatio(2e-5).setHorizon(7)
                .build());
        board.apply(LayerHealth.newBuilder().setRunId("rnn").setStep(40).setLayer(1).setDecayRatio(3e-4).setHorizon(12)
                .build());
        board.apply(alert("rnn", AlertType.VANISHING, AlertState.FIRING));

        assertThat(board.render()).hasSize(2);
        assertThat(board.render().get(1)).contains("rnn", "40", "0.6931", "0.50", "2.00e-05", "7",
                "VANISHING@L0 / VANISHING");

        board.apply(alert("rnn", AlertType.VANISHING, AlertState.RESOLVED));
        assertThat(board.render().get(1)).contains("healthy / VANISHING");
        assertThat(board.everFired("rnn")).containsExactly(AlertType.VANISHING);
        assertThat(board.everFired("unknown")).isEmpty();
    }

    @Test
    void theVerdictsHorizonIsTheMedianOfTheLastTenSteps() {
        RunBoard board = new RunBoard();
        int[] horizons = {49, 49, 3, 49, 49, 2, 49, 49, 49, 4, 49};
        for (int step = 0; step < horizons.length; step++) {
            board.apply(LayerHealth.newBuilder().setRunId("lstm").setStep(step).setLayer(0)
                    .setHorizon(horizons[step]).build());
        }
        assertThat(board.horizon("lstm")).as("one bad step does not decide").isEqualTo(49);
        assertThat(board.horizon("unknown")).isEqualTo(-1);
    }

    @Test
    void demoVerdictsFollowTheSeeds() {
        DemoRun vanilla = DemoRun.ALL.get(0);
        DemoRun lstm = DemoRun.ALL.get(1);
        DemoRun exploding = DemoRun.ALL.get(3);
        assertThat(vanilla.judge(Set.of(AlertType.VANISHING), 8, 8).asExpected()).isTrue();
        assertThat(vanilla.judge(Set.of(), 8, 8).reason()).contains("expected [VANISHING], fired nothing");
        assertThat(lstm.judge(Set.of(), 49, 8).asExpected()).isTrue();
        assertThat(lstm.judge(Set.of(), 3, 8).reason()).isEqualTo("horizon 3 is not longer than the vanilla RNN's 8");
        assertThat(lstm.judge(Set.of(AlertType.VANISHING), 49, 8).asExpected()).isFalse();
        assertThat(exploding.judge(new LinkedHashSet<>(List.of(AlertType.EXPLODING, AlertType.NON_FINITE)), 0, 8)
                .reason()).isEqualTo("EXPLODING as expected, before NON_FINITE");
        assertThat(exploding.judge(Set.of(AlertType.NON_FINITE), 0, 8).reason())
                .isEqualTo("NON_FINITE paged before EXPLODING: the explosion was not caught before its NaN");
        assertThat(exploding.judge(Set.of(AlertType.EXPLODING), 0, 8).asExpected()).isTrue();
    }

    @Test
    void theBoardKeepsTheClosedLoopsActionsTheAlertsFiringNowAndTheLatestLoss() {
        RunBoard board = new RunBoard();
        board.apply(StepRecord.newBuilder().setRunId("r").setStep(30).setLoss(0.7).build());
        board.apply(alert("r", AlertType.EXPLODING, AlertState.FIRING));
        board.apply(action("r", 30, ControlCommand.newBuilder().setSetClipNorm(
                ControlCommand.SetClipNorm.newBuilder().setMaxNorm(1))));
        board.apply(action("r", 75, ControlCommand.newBuilder().setScaleLearningRate(
                ControlCommand.ScaleLearningRate.newBuilder().setFactor(0.1))));
        assertThat(board.firingNow("r")).containsExactly(AlertType.EXPLODING);
        board.apply(alert("r", AlertType.EXPLODING, AlertState.RESOLVED));
        board.apply(StepRecord.newBuilder().setRunId("r").setStep(100).setLoss(4e-5).build());

        assertThat(board.actions("r")).containsExactly(new RunBoard.Action(ControlCommand.CommandCase.SET_CLIP_NORM, 30),
                new RunBoard.Action(ControlCommand.CommandCase.SCALE_LEARNING_RATE, 75));
        assertThat(board.firingNow("r")).isEmpty();
        assertThat(board.loss("r")).isEqualTo(4e-5);
        assertThat(board.actions("unknown")).isEmpty();
        assertThat(board.loss("unknown")).isNaN();
    }

    @Test
    void theRescuedRunIsRescuedOnlyWhenTheLoopActedTheExplosionResolvedAndTheLossIsFinite() {
        DemoRun rescued = DemoRun.ALL.stream().filter(DemoRun::closedLoop).findFirst().orElseThrow();
        assertThat(rescued.runId()).isEqualTo(DemoRun.RESCUED);
        List<RunBoard.Action> ladder = List.of(new RunBoard.Action(ControlCommand.CommandCase.SET_CLIP_NORM, 30),
                new RunBoard.Action(ControlCommand.CommandCase.SCALE_LEARNING_RATE, 75));
        Set<AlertType> exploded = Set.of(AlertType.EXPLODING);

        assertThat(rescued.judgeRescue(exploded, Set.of(), ladder, 4.4e-5).reason()).isEqualTo(
                "rescued: EXPLODING, then set_clip_norm@30, scale_learning_rate@75; EXPLODING resolved, loss 4.400e-05");
        assertThat(rescued.judgeRescue(exploded, Set.of(), ladder, 4.4e-5).asExpected()).isTrue();
        assertThat(rescued.judgeRescue(exploded, new LinkedHashSet<>(List.of(AlertType.UPDATE_RATIO,
                AlertType.VANISHING)), ladder, 0).reason()).isEqualTo("rescued: EXPLODING, then set_clip_norm@30, "
                + "scale_learning_rate@75; EXPLODING resolved, loss 0.000; also firing now: UPDATE_RATIO, VANISHING");
        assertThat(rescued.judgeRescue(exploded, Set.of(AlertType.EXPLODING), ladder, 12).reason())
                .isEqualTo("EXPLODING still firing (after set_clip_norm@30, scale_learning_rate@75)");
        assertThat(rescued.judgeRescue(Set.of(), Set.of(), List.of(), 0.69).reason())
                .isEqualTo("EXPLODING never fired, nothing to rescue yet");
        assertThat(rescued.judgeRescue(exploded, Set.of(), List.of(), 0.69).reason())
                .isEqualTo("EXPLODING fired but the closed loop took no action");
        List<RunBoard.Action> stopped = new ArrayList<>(ladder);
        stopped.add(new RunBoard.Action(ControlCommand.CommandCase.STOP, 125));
        assertThat(rescued.judgeRescue(exploded, Set.of(), stopped, 8.5).reason()).isEqualTo(
                "the closed loop had to stop the run (after set_clip_norm@30, scale_learning_rate@75, stop@125)");
        assertThat(rescued.judgeRescue(new LinkedHashSet<>(List.of(AlertType.EXPLODING, AlertType.NON_FINITE)),
                Set.of(), ladder, Double.NaN).asExpected()).isFalse();
        assertThat(rescued.judgeRescue(exploded, Set.of(), ladder, Double.NaN).reason())
                .isEqualTo("the latest loss is NaN (after set_clip_norm@30, scale_learning_rate@75)");
    }

    @Test
    void theDemosOtherRunsKeepTheirPresetsAndOnlyTheRescuedRunHasTheLoop() {
        assertThat(DemoRun.ALL).extracting(DemoRun::runId).containsExactly("demo-vanilla-rnn", "demo-lstm",
                "demo-gru", "demo-exploding-rnn", "demo-dead-relu", "demo-rescued-rnn");
        assertThat(DemoRun.ALL).filteredOn(DemoRun::closedLoop).extracting(DemoRun::preset)
                .containsExactly("warmup-overshoot");
        assertThat(DemoRun.ALL).filteredOn(run -> !run.closedLoop()).allSatisfy(run ->
                assertThat(run.seqLen()).as(run.runId() + " uses the demo's --seq-len").isZero());
    }

    private static AlertEvent action(String run, long step, ControlCommand.Builder command) {
        return AlertEvent.newBuilder().setRunId(run).setLayer(0).setStep(step).setType(AlertType.EXPLODING)
                .setState(AlertState.ACTION_TAKEN).setAction(command.setRunId(run)).build();
    }

    private static AlertEvent alert(String run, AlertType type, AlertState state) {
        return AlertEvent.newBuilder().setRunId(run).setLayer(0).setType(type).setState(state).build();
    }
}
