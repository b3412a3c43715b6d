package io.gradwatch.trainer.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradwatch.trainer.nn.Parameter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Expected values follow torch.optim's update formulas, computed by hand for two steps. */
class OptimizerTest {

    @Test
    void sgdStepsAgainstTheGradient() {
        Parameter p = param(1.0, 0.5);
        new Sgd(List.of(p), 0.1).step();
        assertThat(p.value()[0]).isCloseTo(0.95, within(1e-15));
    }

    @Test
    void momentumStartsItsBufferWithTheFirstGradient() {
        Parameter p = param(1.0, 0.5);
        Momentum momentum = new Momentum(List.of(p), 0.1, 0.9);
        momentum.step(); // buf = 0.5, p = 1 - 0.05
        momentum.step(); // buf = 0.9 * 0.5 + 0.5 = 0.95, p = 0.95 - 0.095
        assertThat(p.value()[0]).isCloseTo(0.855, within(1e-12));
    }

    @Test
    void rmspropDividesByTheRunningRms() {
        Parameter p = param(1.0, 0.5);
        new RmsProp(List.of(p), 0.01).step();
        double v = 0.01 * 0.25;
        assertThat(p.value()[0]).isCloseTo(1.0 - 0.01 * 0.5 / (Math.sqrt(v) + 1e-8), within(1e-12));
    }

    @Test
    void adamMatchesPyTorchsBiasCorrectedUpdate() {
        Parameter p = param(1.0, 0.5);
        Adam adam = new Adam(List.of(p), 0.001);
        adam.step();
        // First step: m = 0.05, v = 0.00025, step = lr / 0.1, denom = sqrt(v)/sqrt(0.001) + eps = 0.5 + eps.
        assertThat(p.value()[0]).isCloseTo(1.0 - 0.01 * 0.05 / (0.5 + 1e-8), within(1e-12));
        p.grad()[0] = -1.0;
        adam.step();
        double m = 0.9 * 0.05 + 0.1 * -1.0;
        double v = 0.999 * 0.00025 + 0.001 * 1.0;
        double expected = 1.0 - 0.01 * 0.05 / (0.5 + 1e-8)
                - (0.001 / (1 - 0.81)) * m / (Math.sqrt(v) / Math.sqrt(1 - 0.998001) + 1e-8);
        assertThat(p.value()[0]).isCloseTo(expected, within(1e-12));
        assertThat(adam.state()).containsKeys("exp_avg.w", "exp_avg_sq.w");
        assertThat(adam.steps()).isEqualTo(2);
    }

    @Test
    void stateRestoresExactly() {
        Parameter a = param(1.0, 0.3);
        Adam first = new Adam(List.of(a), 0.01);
        first.step();
        Parameter b = param(a.value()[0], 0.3);
        Adam resumed = new Adam(List.of(b), 0.01);
        resumed.restore(first.state(), first.steps());
        first.step();
        resumed.step();
        assertThat(b.value()[0]).isEqualTo(a.value()[0]);
    }

    @Test
    void clipByNormScalesLikeClipGradNorm() {
        Parameter p = Parameter.zeros("w", 2);
        p.grad()[0] = 3;
        p.grad()[1] = 4;
        double before = GradientClipping.clipByNorm(List.of(p), 1.0);
        assertThat(before).isEqualTo(5.0);
        assertThat(p.grad()[0]).isCloseTo(3 / (5 + 1e-6), within(1e-15));
        assertThat(GradientClipping.globalNorm(List.of(p))).isCloseTo(1.0, within(1e-6));
        assertThat(GradientClipping.clipByNorm(List.of(p), 10.0)).isCloseTo(1.0, within(1e-6));
    }

    @Test
    void clipByNormPropagatesANonFiniteNormLikePyTorch() {
        // torch 1.13, error_if_nonfinite=False: clip_coef = max_norm / (nan + 1e-6) = nan, clamp(max=1)
        // keeps nan, and every gradient is multiplied by it.
        Parameter a = Parameter.zeros("a", 2);
        Parameter b = Parameter.zeros("b", 2);
        a.grad()[0] = Double.NaN;
        a.grad()[1] = 1.0;
        b.grad()[0] = 0.5;
        b.grad()[1] = 0.0;
        assertThat(GradientClipping.clipByNorm(List.of(a, b), 1.0)).isNaN();
        assertThat(java.util.Arrays.stream(a.grad()).allMatch(Double::isNaN)).isTrue();
        assertThat(java.util.Arrays.stream(b.grad()).allMatch(Double::isNaN)).isTrue();

        // An infinite norm gives clip_coef 0: finite entries become 0, infinite ones 0 * inf = nan.
        Parameter c = Parameter.zeros("c", 3);
        c.grad()[0] = Double.POSITIVE_INFINITY;
        c.grad()[1] = -2.0;
        c.grad()[2] = 3.0;
        assertThat(GradientClipping.clipByNorm(List.of(c), 1.0)).isInfinite();
        assertThat(c.grad()[0]).isNaN();
        assertThat(c.grad()[1]).isEqualTo(-0.0);
        assertThat(c.grad()[2]).isEqualTo(0.0);
    }

    @Test
    void clipByValueClamps() {
        Parameter p = Parameter.zeros("w", 3);
        p.grad()[0] = -5;
        p.grad()[1] = 0.05;
        p.grad()[2] = 2;
        GradientClipping.clipByValue(List.of(p), 0.1);
        assertThat(p.grad()).containsExactly(-0.1, 0.05, 0.1);
    }

    @Test
    void badSettingsAreClearErrors() {
        assertThatThrownBy(() -> Optimizer.create("adagrad", List.of(), 0.1, 0))
                .hasMessageContaining("unknown optimizer 'adagrad'");
        assertThatThrownBy(() -> new Sgd(List.of(), -1)).hasMessageContaining("learning rate");
    }

    private static Parameter param(double value, double grad) {
        Parameter p = Parameter.zeros("w", 1);
        p.value()[0] = value;
        p.grad()[0] = grad;
        return p;
    }
}
