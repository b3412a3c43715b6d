package io.gradwatch.monitor.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.RunMetadata;
import org.junit.jupiter.api.Test;

class RemediesTest {

    @Test
    void anAdamRunIsNotToldToUseAdam() {
        RunMetadata adam = RunMetadata.newBuilder().setCell(CellType.RNN).setOptimizer("adam").build();
        assertThat(Remedies.remedy(AlertType.EXPLODING, adam)).doesNotContain("use RMSprop or Adam")
                .contains("lower the learning rate").contains("normalises the step");
        RunMetadata sgd = adam.toBuilder().setOptimizer("sgd").build();
        assertThat(Remedies.remedy(AlertType.EXPLODING, sgd)).contains("use RMSprop or Adam");
    }

    @Test
    void aClippedRunIsToldItsClipNormIsTooLoose() {
        RunMetadata clipped = RunMetadata.newBuilder().setOptimizer("sgd").setClipNorm(5).build();
        assertThat(Remedies.remedy(AlertType.EXPLODING, clipped)).contains("the clip norm 5 is too loose")
                .doesNotContain("clip_grad_norm_ to 1");
        assertThat(Remedies.remedy(AlertType.EXPLODING, RunMetadata.getDefaultInstance()))
                .contains("clip the gradient norm");
        assertThat(Remedies.remedy(AlertType.NON_FINITE, clipped)).contains("a tighter clip norm than 5");
    }

    @Test
    void anLstmIsNotToldToUseAnLstm() {
        RunMetadata lstm = RunMetadata.newBuilder().setCell(CellType.LSTM).setActivation(ActivationFunction.TANH)
                .setInit("orthogonal").build();
        String remedy = Remedies.remedy(AlertType.VANISHING, lstm);
        assertThat(remedy).doesNotContain("LSTM or GRU").doesNotContain("ReLU-family").doesNotContain("orthogonal")
                .contains("forget gate");
        RunMetadata rnn = RunMetadata.newBuilder().setCell(CellType.RNN).setActivation(ActivationFunction.TANH)
                .setInit("default").build();
        assertThat(Remedies.remedy(AlertType.VANISHING, rnn)).contains("use an LSTM or GRU", "ReLU-family",
                "orthogonal or identity");
    }

    @Test
    void aLeakyHeInitialisedRunIsNotToldToUseWhatItUses() {
        RunMetadata leaky = RunMetadata.newBuilder().setActivation(ActivationFunction.LEAKY_RELU).setInit("he").build();
        assertThat(Remedies.remedy(AlertType.DEAD_RELU, leaky)).doesNotContain("leaky ReLU or ELU")
                .doesNotContain("He initialisation").contains("lower learning rate");
    }

    @Test
    void everyAlertTypeHasARemedyAndASeverity() {
        for (AlertType type : AlertType.values()) {
            if (type == AlertType.ALERT_TYPE_UNSPECIFIED || type == AlertType.UNRECOGNIZED) {
                continue;
            }
            assertThat(Remedies.remedy(type)).as(type.name()).isNotBlank();
            assertThat(Remedies.severity(type)).as(type.name()).isNotNull();
        }
    }
}
