package io.gradwatch.common.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradwatch.common.config.ConfigException;
import io.gradwatch.common.config.Settings;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HttpSettingsTest {

    @Test
    void limitsDefaultToAFiveSecondReadTimeoutThirtyTwoThreadsAndAQueueOfSixtyFour() {
        HttpSettings http = HttpSettings.from(Settings.load(HttpSettings.defaults(8081), null, Map.of(), Map.of()));
        assertThat(http.limits()).isEqualTo(new HttpLimits(Duration.ofSeconds(5), 32, 64)).isEqualTo(HttpLimits.DEFAULT);
    }

    @Test
    void limitsAreReadFromTheEnvironmentAndChecked() {
        HttpSettings http = HttpSettings.from(Settings.load(HttpSettings.defaults(8081), null,
                Map.of("GRADWATCH_HTTP_READ_TIMEOUT", "750ms", "GRADWATCH_HTTP_THREADS", "8", "GRADWATCH_HTTP_QUEUE", "0"),
                Map.of()));
        assertThat(http.limits()).isEqualTo(new HttpLimits(Duration.ofMillis(750), 8, 0));
        assertThatThrownBy(() -> HttpSettings.from(Settings.load(HttpSettings.defaults(8081), null, Map.of(),
                Map.of(HttpSettings.THREADS, "0")))).isInstanceOf(ConfigException.class).hasMessageContaining("http.threads");
        assertThatThrownBy(() -> HttpSettings.from(Settings.load(HttpSettings.defaults(8081), null, Map.of(),
                Map.of(HttpSettings.READ_TIMEOUT, "0s")))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("http.read-timeout");
        assertThatThrownBy(() -> HttpSettings.from(Settings.load(HttpSettings.defaults(8081), null, Map.of(),
                Map.of(HttpSettings.READ_TIMEOUT, "soon")))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("http.read-timeout");
    }
}
