package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three monitor-service instances (child processes, one application id, each task with a standby
 * on another instance) share six partitions; twelve runs, two per partition, publish steadily, and
 * one instance is SIGKILLed mid-stream ({@link FailoverDrill}). A read_committed reader then sees
 * each (run, step, layer)'s LayerHealth exactly once and each alert transition once, and the
 * partitions the dead instance owned produce again within 15 s of the kill (the figure is printed,
 * against the 10 s target). The drill starts its own broker, as {@link MonitorCrashIT}
 * does: the topics need six partitions, and the broker a short check for timed-out transactions
 * (docs/scaling.md, "Failover").
 */
class FailoverIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    /** The target for the failover time: printed as met or missed. */
    private static final Duration FAILOVER_TARGET = Duration.ofSeconds(10);
    /**
     * What the test fails on: the 6 s session plus the rebalance, restoration and first commit took
     * 8.2 to 10.9 s on the shared, loaded 2-core build machine (docs/scaling.md), so the target itself
     * would make the test flaky; Kafka's defaults (a 45 s session) fail this by far.
     */
    private static final Duration FAILOVER_CEILING = Duration.ofSeconds(15);

    @Test
    void killingOneOfThreeInstancesLosesNothingDuplicatesNothingAndItsPartitionsProduceAgainWithinFifteenSeconds(
            @TempDir Path dir) throws Exception {
        FailoverDrill.Plan plan = FailoverDrill.Plan.standard();
        StackLayout layout = new StackLayout(ROOT, dir, TestPorts.freePortBase(36000));
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < plan.instances(); i++) {
            ports.add(TestPorts.freePort());
        }
        FailoverDrill.Result result = FailoverDrill.run(layout, ports, plan, message -> { });
        Duration failover = result.failover();
        System.out.printf(Locale.ROOT, "FailoverIT: %s; failover %.2f s (target < %d s: %s)%n", result.describe(),
                failover.toMillis() / 1000.0, FAILOVER_TARGET.toSeconds(),
                failover.compareTo(FAILOVER_TARGET) < 0 ? "met" : "missed");

        String context = result.describe();
        assertThat(result.partitionMismatches()).as("health records on another partition than their run's; "
                + context).isEmpty();
        assertThat(result.health()).as(context).hasSize(result.expectedHealth());
        assertThat(result.health().values()).as("LayerHealth per (run, step, layer); " + context).containsOnly(1);
        for (String run : result.runs()) {
            assertThat(result.transitions().get(run)).as("alert transitions of " + run + "; " + context)
                    .isEqualTo(plan.expectedTransitions());
        }
        assertThat(failover).as("time from the kill until the dead instance's partitions produced again; " + context)
                .isLessThan(FAILOVER_CEILING);
    }
}
