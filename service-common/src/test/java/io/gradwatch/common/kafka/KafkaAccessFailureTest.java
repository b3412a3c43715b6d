package io.gradwatch.common.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;

class KafkaAccessFailureTest {

    @Test
    void aRefusedLoginAnywhereInTheCauseChainIsExplainedInOneLine() {
        var refused = new SaslAuthenticationException("Authentication failed during authentication due to invalid "
                + "credentials with SASL mechanism SCRAM-SHA-512");
        String line = KafkaAccessFailure.explain(new KafkaException("wrapped", refused)).orElseThrow();
        assertThat(line).startsWith("Kafka authentication failed (Authentication failed")
                .contains("kafka.sasl.jaas.config").doesNotContain("\n");
    }

    @Test
    void tlsAndAclRefusalsNameTheirOwnSettings() {
        assertThat(KafkaAccessFailure.explain(new SslAuthenticationException("SSL handshake failed")))
                .hasValueSatisfying(line -> assertThat(line).startsWith("Kafka TLS handshake failed")
                        .contains("kafka.ssl.truststore.location"));
        assertThat(KafkaAccessFailure.explain(new TopicAuthorizationException(Set.of("gradwatch.gradients"))))
                .hasValueSatisfying(line -> assertThat(line).startsWith("Kafka denied access")
                        .contains("gradwatch.gradients").contains("docs/security.md"));
    }

    @Test
    void otherErrorsAreNotAccessFailures() {
        assertThat(KafkaAccessFailure.explain(new KafkaException("broker gone"))).isEmpty();
        assertThat(KafkaAccessFailure.isAccessFailure(new IllegalStateException())).isFalse();
    }
}
