package io.gradwatch.launcher.topics;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.launcher.topics.TopicProvisioner.Mode;
import io.gradwatch.launcher.topics.TopicProvisioner.Outcome;
import io.gradwatch.launcher.topics.TopicProvisioner.Report;
import io.gradwatch.launcher.topics.TopicProvisioner.Status;
import io.gradwatch.protocol.TopicPlan;
import io.gradwatch.protocol.TopicPlan.TopicSpec;
import io.gradwatch.protocol.Topics;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import picocli.CommandLine;

@ExtendWith(KafkaBrokerExtension.class)
class TopicProvisionerIT {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** The plan under names of this test's own, so tests sharing the broker do not meet. */
    private static List<TopicSpec> planNamed(String prefix) {
        return TopicPlan.defaults().stream()
                .map(spec -> new TopicSpec(prefix + spec.name(), spec.partitions(), spec.configs())).toList();
    }

    private static List<Status> statuses(Report report) {
        return report.outcomes().stream().map(Outcome::status).toList();
    }

    @Test
    void applyCreatesEveryTopicWithThePlansSettingsAndASecondApplyChangesNothing(KafkaBroker broker)
            throws Exception {
        List<TopicSpec> plan = planNamed(KafkaBroker.uniqueTopic("create") + "-");
        try (Admin admin = Admin.create(broker.clientProperties())) {
            TopicProvisioner provisioner = new TopicProvisioner(admin, TIMEOUT);
            assertThat(statuses(provisioner.provision(plan, Mode.CHECK))).containsOnly(Status.MISSING);
            assertThat(statuses(provisioner.provision(plan, Mode.APPLY))).containsOnly(Status.CREATED);
            assertThat(statuses(provisioner.provision(plan, Mode.APPLY))).containsOnly(Status.IN_SYNC);

            ConfigResource gradients = new ConfigResource(ConfigResource.Type.TOPIC, plan.get(0).name());
            ConfigEntry retention = admin.describeConfigs(List.of(gradients)).all().get(30, TimeUnit.SECONDS)
                    .get(gradients).get("retention.ms");
            assertThat(retention.value()).isEqualTo(plan.get(0).configs().get("retention.ms"));
        }
    }

    @Test
    void changedRetentionIsReportedByCheckAndRestoredByApplyWhilePartitionDriftIsOnlyReported(KafkaBroker broker)
            throws Exception {
        List<TopicSpec> plan = planNamed(KafkaBroker.uniqueTopic("drift") + "-");
        try (Admin admin = Admin.create(broker.clientProperties())) {
            TopicProvisioner provisioner = new TopicProvisioner(admin, TIMEOUT);
            provisioner.provision(plan, Mode.APPLY);
            String steps = plan.get(1).name();
            String health = plan.get(2).name();
            ConfigResource stepsResource = new ConfigResource(ConfigResource.Type.TOPIC, steps);
            admin.incrementalAlterConfigs(Map.of(stepsResource, List.of(new AlterConfigOp(
                    new ConfigEntry("retention.ms", "604800000"), AlterConfigOp.OpType.SET))))
                    .all().get(30, TimeUnit.SECONDS);
            admin.createPartitions(Map.of(health, NewPartitions.increaseTo(5))).all().get(30, TimeUnit.SECONDS);

            // Kafka applies a configuration change to the broker's metadata shortly after acknowledging it.
            Report check = awaitReport(provisioner, plan, Mode.CHECK, report -> report.outcomes().get(1).status()
                    == Status.DRIFT);
            assertThat(check.outcomes().get(1)).isEqualTo(new Outcome(steps, Status.DRIFT,
                    List.of("retention.ms is 604800000, plan " + plan.get(1).configs().get("retention.ms"))));
            assertThat(check.outcomes().get(2).status()).isEqualTo(Status.DRIFT);
            assertThat(check.inSync()).isFalse();

            Report apply = provisioner.provision(plan, Mode.APPLY);
            assertThat(apply.outcomes().get(1).status()).isEqualTo(Status.UPDATED);
            assertThat(apply.outcomes().get(2).status()).isEqualTo(Status.DRIFT);
            Report after = awaitReport(provisioner, plan, Mode.CHECK, report -> report.outcomes().get(1).status()
                    == Status.IN_SYNC);
            assertThat(after.outcomes().get(2).differences()).singleElement().asString()
                    .startsWith("5 partitions, plan 3");
        }
    }

    @Test
    void theCommandExitsOneWhileTopicsAreMissingAndZeroOnceItCreatedThem(KafkaBroker broker) throws Exception {
        // Other test classes of this JVM may have created gradwatch's topics with the broker's defaults.
        try (Admin admin = Admin.create(broker.clientProperties())) {
            Set<String> existing = new HashSet<>(admin.listTopics().names().get(30, TimeUnit.SECONDS));
            existing.retainAll(Topics.ALL);
            admin.deleteTopics(existing).all().get(30, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (admin.listTopics().names().get(30, TimeUnit.SECONDS).stream().anyMatch(Topics.ALL::contains)) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("gradwatch's topics were not deleted within " + TIMEOUT);
                }
                Thread.onSpinWait();
            }
        }
        StringWriter out = new StringWriter();
        CommandLine command = new CommandLine(new TopicsCommand()).setOut(new PrintWriter(out));
        String[] args = {"--bootstrap-servers", broker.bootstrapServers(), "--partitions", "2"};

        int check = command.execute(append(args, "--check"));
        int apply = command.execute(args);
        int again = command.execute(args);

        assertThat(check).as(out.toString()).isEqualTo(TopicsCommand.EXIT_DRIFT);
        assertThat(apply).as(out.toString()).isZero();
        assertThat(again).isZero();
        assertThat(out.toString()).contains("gradwatch.gradients  missing: does not exist",
                "gradwatch.gradients  created", "gradwatch.gradients  in sync", "every topic matches the plan");
    }

    @Test
    void anUnreachableKafkaIsOneLineAndExitCodeThree() {
        StringWriter err = new StringWriter();
        CommandLine command = new CommandLine(new TopicsCommand()).setErr(new PrintWriter(err));
        int code = command.execute("--bootstrap-servers", "127.0.0.1:1", "--check", "--timeout-seconds", "2");
        assertThat(code).as(err.toString()).isEqualTo(TopicsCommand.EXIT_KAFKA);
        assertThat(err.toString()).startsWith("gradwatch topics: Kafka at 127.0.0.1:1 failed").doesNotContain("\tat ");
    }

    private static Report awaitReport(TopicProvisioner provisioner, List<TopicSpec> plan, Mode mode,
                                      Predicate<Report> condition) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        Report report = provisioner.provision(plan, mode);
        while (!condition.test(report)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no such report within " + TIMEOUT + "; the last: " + report);
            }
            Thread.onSpinWait();
            report = provisioner.provision(plan, mode);
        }
        return report;
    }

    private static String[] append(String[] args, String extra) {
        String[] result = Arrays.copyOf(args, args.length + 1);
        result[args.length] = extra;
        return result;
    }
}
