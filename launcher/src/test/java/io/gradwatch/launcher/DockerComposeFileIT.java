package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.gradwatch.protocol.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
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
    void composeUsesTheSameTopicsAndMainClassesAsTheLocalStack() throws Exception {
        String compose = Files.readString(COMPOSE);
        for (String topic : Topics.ALL) {
            assertThat(compose).contains(topic);
        }
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
