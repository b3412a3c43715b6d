package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradwatch.common.http.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusCommandTest {

    @Test
    void aRunsLineShowsTheWorstLayerAndItsFiringAlerts() throws Exception {
        JsonNode health = Json.MAPPER.readTree("""
                {"run":"rnn","lastStep":40,
                 "layers":[{"layer":0,"decayRatio":2e-11,"horizon":8},{"layer":1,"decayRatio":3e-4,"horizon":20}],
                 "activeAlerts":[{"layer":0,"type":"VANISHING"}]}""");
        MonitorClient.RunStatus status = MonitorClient.RunStatus.of("rnn", 41, health);

        assertThat(status.minDecayRatio()).isEqualTo(2e-11);
        assertThat(status.minHorizon()).isEqualTo(8);
        assertThat(status.lastStep()).isEqualTo(41);
        assertThat(StatusCommand.render(List.of(status, MonitorClient.RunStatus.of("new-run", 0, null))))
                .containsExactly(
                        "run                          step      decay  horizon  active alerts",
                        "new-run                         0          -        -  none",
                        "rnn                            41   2.00e-11        8  VANISHING@L0");
    }

    @Test
    void noRunsSaysHowToStartOne() {
        assertThat(StatusCommand.render(List.of())).last().asString().contains("./gradwatch train");
    }

    @Test
    void aStackThatIsNotRunningIsNamedWithTheFix() throws Exception {
        int exit = new picocli.CommandLine(new StackMain()).execute("status", "--port-base",
                Integer.toString(TestPorts.freePortBase(24000)));
        assertThat(exit).isEqualTo(1);
    }
}
