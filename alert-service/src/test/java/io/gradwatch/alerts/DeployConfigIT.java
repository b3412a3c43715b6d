package io.gradwatch.alerts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * deploy/'s Prometheus and Alertmanager files, checked by the tools that run them: promtool
 * checks the config and the rules and runs the rules' unit tests (every rule, firing and not);
 * amtool checks the Alertmanager config.
 */
class DeployConfigIT {
    private static final Path DEPLOY = Path.of("..", "deploy").toAbsolutePath().normalize();

    @Test
    void prometheusConfigAndRulesAreValid() throws Exception {
        run("prometheus", "/usr/bin/promtool", "check", "config", DEPLOY.resolve("prometheus/prometheus.yml").toString());
        String rules = run("prometheus", "/usr/bin/promtool", "check", "rules",
                DEPLOY.resolve("prometheus/rules/gradwatch.rules.yml").toString());
        assertThat(rules).contains("SUCCESS: 13 rules found");
    }

    @Test
    void everyRuleFiresAndStaysQuietWhenItShould() throws Exception {
        String tests = run("prometheus", "/usr/bin/promtool", "test", "rules",
                DEPLOY.resolve("prometheus/rules/gradwatch.rules.test.yml").toString());
        assertThat(tests).contains("SUCCESS");
        String testFile = Files.readString(DEPLOY.resolve("prometheus/rules/gradwatch.rules.test.yml"));
        for (String alert : List.of("GradientVanishing", "GradientExploding", "NonFiniteGradient", "DeadReluLayer",
                "ActivationSaturation", "RunNonFinite", "GlobalGradientNormSpike", "LossNotDecreasing",
                "TrainingStalled", "UpdateRatioOutOfBand", "GradwatchClosedLoopActed", "GradwatchPipelineDown",
                "GradwatchPipelineLagging")) {
            assertThat(testFile).as(alert + " is unit-tested").contains("alertname: " + alert);
        }
    }

    @Test
    void alertmanagerConfigIsValidAndInhibitsOnNonFinite() throws Exception {
        String check = run("prometheus-alertmanager", "/usr/bin/amtool", "check-config",
                DEPLOY.resolve("alertmanager/alertmanager.yml").toString());
        assertThat(check).contains("SUCCESS").contains("1 inhibit rules");
    }

    private static String run(String debianPackage, String... command) throws Exception {
        if (!Files.isExecutable(Path.of(command[0]))) {
            fail(command[0] + " is not installed: install the Debian package '" + debianPackage
                    + "' (./gradwatch test does)");
        }
        Process process = new ProcessBuilder(new ArrayList<>(List.of(command))).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(String.join(" ", command) + ":\n" + output).isZero();
        return output;
    }
}
