package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.StepRecord;
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
        assertThat(exploding.judge(new java.util.LinkedHashSet<>(List.of(AlertType.EXPLODING, AlertType.NON_FINITE)), 0, 8)
                .reason()).isEqualTo("EXPLODING as expected, before NON_FINITE");
        assertThat(exploding.judge(Set.of(AlertType.NON_FINITE), 0, 8).reason())
                .isEqualTo("NON_FINITE paged before EXPLODING: the explosion was not caught before its NaN");
        assertThat(exploding.judge(Set.of(AlertType.EXPLODING), 0, 8).asExpected()).isTrue();
    }

    private static AlertEvent alert(String run, AlertType type, AlertState state) {
        return AlertEvent.newBuilder().setRunId(run).setLayer(0).setType(type).setState(state).build();
    }
}
