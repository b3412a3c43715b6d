package io.gradwatch.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PercentilesTest {

    @Test
    void nearestRankOfAHundredValues() {
        double[] sample = new double[100];
        for (int i = 0; i < sample.length; i++) {
            sample[99 - i] = i + 1;
        }
        Percentiles p = Percentiles.of(sample);
        assertThat(p.count()).isEqualTo(100);
        assertThat(p.p50()).isEqualTo(50);
        assertThat(p.p99()).isEqualTo(99);
        assertThat(p.max()).isEqualTo(100);
    }

    @Test
    void anEmptySampleHasNoFigures() {
        assertThat(Percentiles.of(new double[0]).p99()).isNaN();
    }

    @Test
    void theWindowTimesTenToNinetyPercentOnly() throws InterruptedException {
        MonitorThroughput.Window window = new MonitorThroughput.Window(100);
        window.advance(5);
        window.advance(10);
        Thread.sleep(20);
        window.advance(80);
        assertThat(window.done()).isFalse();
        window.advance(5);
        assertThat(window.done()).isTrue();
        assertThat(window.rate()).isPositive().isLessThan(80 / 0.019);
    }
}
