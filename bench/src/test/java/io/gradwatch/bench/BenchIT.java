package io.gradwatch.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradwatch.common.http.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The harness itself, in its quick mode: every scenario runs against a real broker and the
 * services' jars, and the JSON holds every figure. The figures of a quick run mean nothing; the
 * full run is {@code ./gradwatch bench} (docs/performance.md). Needs the module jars (mvn verify
 * builds them before this module's integration tests).
 */
class BenchIT {

    @Test
    void aQuickRunProducesEveryFigure(@TempDir Path dir) throws Exception {
        String previousHome = System.getProperty("gradwatch.home");
        System.setProperty("gradwatch.home", Path.of("..").toAbsolutePath().normalize().toString());
        Path results = dir.resolve("results.json");
        int exit;
        try {
            exit = new CommandLine(new BenchMain()).setCaseInsensitiveEnumValuesAllowed(true).execute("--quick",
                    "--data-dir", dir.resolve("data").toString(), "--out", results.toString(), "--port-base",
                    Integer.toString(io.gradwatch.launcher.StackLayout.DEFAULT_PORT_BASE + 27000));
        } finally {
            if (previousHome == null) {
                System.clearProperty("gradwatch.home");
            } else {
                System.setProperty("gradwatch.home", previousHome);
            }
        }
        assertThat(exit).isZero();
        JsonNode json = Json.MAPPER.readTree(results.toFile());
        List<String> sections = new ArrayList<>();
        json.path("figures").forEach(figure -> {
            sections.add(figure.path("section").asText());
            assertThat(figure.path("value").isNumber()).as(figure.toString()).isTrue();
        });
        assertThat(sections).contains("1 monitor throughput", "2 detection latency", "3 publish overhead",
                "4 LSTM step (JMH)", "5 scale", "6 PyTorch client", "7 summaries", "8 failover");
        assertThat(json.path("figures").findValuesAsText("name")).contains("monitor / consumer",
                "send -> AlertEvent p99", "overhead (wall clock)", "step / peak", "/metrics scrape max",
                "training thread publishing a probed step", "tensors / summary", "timesteps analysed",
                "failover_seconds");
    }
}
