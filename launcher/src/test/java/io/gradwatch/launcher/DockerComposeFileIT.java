package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.gradwatch.protocol.TopicPlan;
import io.gradwatch.protocol.TopicPlan.TopicSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** docker-compose.yml stays valid and consistent with the local stack, though no Docker engine runs here. */
class DockerComposeFileIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path COMPOSE = ROOT.resolve("docker-compose.yml");

    @Test
    void composeFilePassesDockerComposeConfig() throws Exception {
        Path binary = Path.of("/usr/bin/docker-compose");
        if (!Files.isExecutable(binary)) {
            fail("docker-compose is not installed: install the Debian package 'docker-compose' (./gradwatch test does)");
        }
        Process process = new ProcessBuilder(binary.toString(), "-f", COMPOSE.toString(), "config", "-q")
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
    }

    @Test
    void composeUsesTheSameTopicPlanAndMainClassesAsTheLocalStack() throws Exception {
        String compose = Files.readString(COMPOSE);
        for (TopicSpec topic : TopicPlan.defaults()) {
            String settings = TopicPlan.MANAGED_CONFIGS.stream().map(key -> key + "=" + topic.configs().get(key))
                    .collect(Collectors.joining(","));
            assertThat(compose).contains("apply " + topic.name() + " " + settings + "\n");
        }
        assertThat(compose).contains("--partitions " + TopicPlan.DEFAULT_PARTITIONS + " ");
        assertThat(compose).contains(LocalStack.TRAINER_MAIN, LocalStack.MONITOR_MAIN, LocalStack.ALERTS_MAIN);
        for (DemoRun run : DemoRun.ALL) {
            assertThat(compose).contains("\"--run-id\", \"" + run.runId() + "\", \"--preset\", \"" + run.preset() + "\"");
        }
        for (String mounted : new String[] {"deploy/docker/prometheus.yml", "deploy/prometheus/rules",
            "deploy/alertmanager/alertmanager.yml", "deploy/grafana/provisioning", "deploy/grafana/dashboards",
            "deploy/docker/service.Dockerfile"}) {
            assertThat(ROOT.resolve(mounted)).as("compose mounts " + mounted).exists();
        }
    }
}
