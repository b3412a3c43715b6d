package io.gradwatch.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AwaitTest {

    @Test
    void returnsAsSoonAsTheConditionHolds() {
        AtomicInteger polls = new AtomicInteger();
        long started = System.nanoTime();
        Await.until("the third poll", Duration.ofSeconds(10), () -> polls.incrementAndGet() >= 3);
        assertThat(polls).hasValue(3);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void returnsTheFirstAcceptedValue() {
        AtomicInteger counter = new AtomicInteger();
        int seen = Await.until("a count of 5", Duration.ofSeconds(10), counter::incrementAndGet, n -> n >= 5);
        assertThat(seen).isEqualTo(5);
    }

    @Test
    void failsNamingWhatWasAwaitedAndTheLastValueSeen() {
        AtomicInteger counter = new AtomicInteger();
        assertThatThrownBy(() -> Await.until("a negative count", Duration.ofMillis(100), counter::incrementAndGet,
                n -> n < 0))
                .isInstanceOf(AssertionError.class)
                .hasMessageStartingWith("a negative count: not within PT0.1S; last observed: ")
                .hasMessageEndingWith(": " + counter.get());
    }

    @Test
    void aThrowingProbeIsRetriedAndItsLastExceptionBecomesTheCause() {
        AtomicInteger polls = new AtomicInteger();
        Await.until("the server to answer", Duration.ofSeconds(10), () -> {
            if (polls.incrementAndGet() < 3) {
                throw new IOException("connection refused");
            }
            return true;
        });
        assertThat(polls).hasValue(3);

        IOException refused = new IOException("connection refused");
        assertThatThrownBy(() -> Await.until("the server to answer", Duration.ofMillis(50), () -> {
            throw refused;
        })).isInstanceOf(AssertionError.class).hasMessageContaining("last observed: " + refused).hasCause(refused);
    }

    @Test
    void aFixedWaitNeedsAReason() {
        assertThatThrownBy(() -> Await.hold(Duration.ofMillis(1), " ")).isInstanceOf(IllegalArgumentException.class);
    }
}
