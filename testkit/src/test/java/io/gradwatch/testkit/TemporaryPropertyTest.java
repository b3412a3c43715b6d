package io.gradwatch.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TemporaryPropertyTest {
    private static final String NAME = "gradwatch.testkit.temporary-property-test";

    @Test
    void aPropertyThatWasUnsetIsClearedAgain() {
        try (TemporaryProperty ignored = TemporaryProperty.set(NAME, "during")) {
            assertThat(System.getProperty(NAME)).isEqualTo("during");
        }
        assertThat(System.getProperty(NAME)).isNull();
    }

    @Test
    void aPropertyThatWasSetGetsItsEarlierValueBack() {
        System.setProperty(NAME, "before");
        try {
            try (TemporaryProperty ignored = TemporaryProperty.set(NAME, "during")) {
                assertThat(System.getProperty(NAME)).isEqualTo("during");
            }
            assertThat(System.getProperty(NAME)).isEqualTo("before");
        } finally {
            System.clearProperty(NAME);
        }
    }
}
