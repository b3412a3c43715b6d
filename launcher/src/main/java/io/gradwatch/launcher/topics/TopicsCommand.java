package io.gradwatch.launcher.topics;

import io.gradwatch.common.config.Settings;
import io.gradwatch.common.kafka.KafkaAccessFailure;
import io.gradwatch.common.kafka.KafkaDefaults;
import io.gradwatch.launcher.topics.TopicProvisioner.KafkaCallException;
import io.gradwatch.launcher.topics.TopicProvisioner.Mode;
import io.gradwatch.launcher.topics.TopicProvisioner.Outcome;
import io.gradwatch.launcher.topics.TopicProvisioner.Report;
import io.gradwatch.protocol.TopicPlan;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code ./gradwatch topics}: creates the gradwatch topics with their settings, or reports drift. */
@Command(name = "topics", mixinStandardHelpOptions = true, description = {
    "Create gradwatch's topics with their partitions and retention (docs/operations.md, \"Topics\"),",
    "and set the retention of existing ones to the plan. Safe to run again: what matches is left alone.",
    "Partition counts are never changed; a difference is reported as drift.",
    "Exit code: 0 every topic matches the plan, 1 drift or missing topics remain, 2 bad flags,",
    "3 Kafka refused or did not answer."})
public final class TopicsCommand implements Callable<Integer> {
    static final int EXIT_DRIFT = 1;
    static final int EXIT_KAFKA = 3;

    @Option(names = "--bootstrap-servers", defaultValue = KafkaDefaults.LOCAL_BOOTSTRAP_SERVERS, paramLabel = "HOST:PORT",
            description = "Kafka to provision (default: ${DEFAULT-VALUE})")
    String bootstrapServers;

    @Option(names = "--config", paramLabel = "FILE",
            description = "properties file with kafka.* client settings (security, etc.)")
    Path config;

    @Option(names = "--partitions", defaultValue = "" + TopicPlan.DEFAULT_PARTITIONS, paramLabel = "N",
            description = "partitions of each topic created (default: ${DEFAULT-VALUE})")
    int partitions;

    @Option(names = "--timeout-seconds", defaultValue = "20", paramLabel = "S",
            description = "how long to wait for each answer from Kafka (default: ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--check", description = "only report differences from the plan; change nothing")
    boolean check;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if (partitions < 1 || timeoutSeconds < 1) {
            throw new ParameterException(spec.commandLine(), "--partitions and --timeout-seconds must be at least 1");
        }
        Duration timeout = Duration.ofSeconds(timeoutSeconds);
        Properties kafka = Settings.fromEnvironment(Map.of(), config,
                Map.of("kafka.bootstrap.servers", bootstrapServers)).kafkaProperties();
        kafka.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        kafka.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        PrintWriter out = spec.commandLine().getOut();
        try (Admin admin = Admin.create(kafka)) {
            Report report = new TopicProvisioner(admin, timeout)
                    .provision(TopicPlan.withPartitions(partitions), check ? Mode.CHECK : Mode.APPLY);
            print(report, out);
            return report.inSync() ? 0 : EXIT_DRIFT;
        } catch (KafkaCallException | KafkaException e) {
            spec.commandLine().getErr().println("gradwatch topics: " + KafkaAccessFailure.explain(e)
                    .orElse("Kafka at " + bootstrapServers + " failed: " + e.getMessage()));
            return EXIT_KAFKA;
        }
    }

    static void print(Report report, PrintWriter out) {
        int width = report.outcomes().stream().mapToInt(outcome -> outcome.topic().length()).max().orElse(0);
        for (Outcome outcome : report.outcomes()) {
            String status = outcome.status().name().toLowerCase(Locale.ROOT).replace('_', ' ');
            String details = outcome.differences().isEmpty() ? "" : ": " + String.join("; ", outcome.differences());
            out.printf("%-" + width + "s  %s%s%n", outcome.topic(), status, details);
        }
        out.println(report.inSync() ? "every topic matches the plan"
                : "some topics differ from the plan (see above)");
        out.flush();
    }
}
