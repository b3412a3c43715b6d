package io.gradwatch.monitor.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.v1.StepRecord;
import org.junit.jupiter.api.Test;

class EscalationTest {
    private static final Thresholds TH = Thresholds.DEFAULTS;
    private static final StepThresholds ST = StepThresholds.DEFAULTS;

    @Test
    void aHealthyEffectForTheResolveWindowResolves() {
        RunSteps.Loop loop = Escalation.engage(0, 2.0);
        for (int i = 1; i < TH.resolveAfter(); i++) {
            Escalation.Decision decision = Escalation.follow(loop, StepRulesTest.step(i, 1.5, 1.0), TH, ST);
            assertThat(decision.action()).isEqualTo(Escalation.Action.NONE);
            loop = decision.loop();
        }
        Escalation.Decision last = Escalation.follow(loop, StepRulesTest.step(9, 1.4, 1.0), TH, ST);
        assertThat(last.action()).isEqualTo(Escalation.Action.RESOLVE);
        assertThat(last.loop().resolved()).isTrue();
        assertThat(Escalation.follow(last.loop(), StepRulesTest.step(10, 9, 1), TH, ST).action())
                .isEqualTo(Escalation.Action.NONE);
    }

    @Test
    void anActionThatDoesNotHelpWithinNRecordsEscalatesClipThenLearningRateThenStop() {
        RunSteps.Loop loop = Escalation.engage(0, 2.0);
        int records = 0;
        StringBuilder ladder = new StringBuilder();
        while (loop.level() < 3 && records < 100) {
            Escalation.Decision decision = Escalation.follow(loop, StepRulesTest.step(records, 3.0, 1.0), TH, ST);
            if (decision.action() != Escalation.Action.NONE) {
                ladder.append(decision.action()).append('@').append(records).append(' ');
            }
            loop = decision.loop();
            records++;
        }
        assertThat(ladder.toString().trim()).isEqualTo("SCALE_LEARNING_RATE@9 STOP@19");
    }

    @Test
    void aNonFiniteLossStopsAtOnceOnAnyRung() {
        StepRecord nan = StepRulesTest.step(3, Double.NaN, 1);
        assertThat(Escalation.follow(Escalation.engage(0, 2.0), nan, TH, ST).action())
                .isEqualTo(Escalation.Action.STOP);
    }
}
