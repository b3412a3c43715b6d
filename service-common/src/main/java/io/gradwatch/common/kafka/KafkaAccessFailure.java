package io.gradwatch.common.kafka;

import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.SslAuthenticationException;

/**
 * Recognises the Kafka errors that no retry fixes because the broker refused who the client is
 * (authentication: wrong user or password, wrong SASL mechanism, untrusted certificate) or what it
 * may do (authorization: a missing ACL), and says so in one line that names the settings to check.
 * Services end with that line instead of retrying forever or printing only a stack trace.
 */
public final class KafkaAccessFailure {
    private KafkaAccessFailure() {
    }

    /** The one-line explanation if {@code error} or one of its causes is such a refusal; else empty. */
    public static Optional<String> explain(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
            if (cause instanceof SslAuthenticationException) {
                return Optional.of("Kafka TLS handshake failed (" + message(cause) + "); check kafka.security.protocol "
                        + "and that kafka.ssl.truststore.location holds the CA of the broker's certificate");
            }
            if (cause instanceof AuthenticationException) {
                return Optional.of("Kafka authentication failed (" + message(cause) + "); check kafka.sasl.mechanism "
                        + "and the user and password in kafka.sasl.jaas.config");
            }
            if (cause instanceof AuthorizationException) {
                return Optional.of("Kafka denied access (" + message(cause) + "); grant this principal the ACLs "
                        + "listed in docs/security.md");
            }
        }
        return Optional.empty();
    }

    /**
     * Asks the broker for its cluster id with {@code clientProperties} (the admin-client subset of
     * them) and returns the explanation if Kafka refused the login. A broker that does not answer
     * within {@code timeout} is not a refusal: services wait for Kafka on their own. Services call
     * this before they start, so that a wrong password ends them at once with one line, before
     * Kafka Streams or a consumer thread start and log their own errors.
     */
    public static Optional<String> probe(Properties clientProperties, Duration timeout) {
        Properties admin = new Properties();
        Set<String> known = AdminClientConfig.configNames();
        clientProperties.forEach((key, value) -> {
            if (known.contains(String.valueOf(key))) {
                admin.put(key, value);
            }
        });
        admin.put(AdminClientConfig.CLIENT_ID_CONFIG, "gradwatch-access-check");
        admin.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(timeout.toMillis()));
        admin.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(Math.min(timeout.toMillis(), 10_000)));
        Admin client = Admin.create(admin);
        try {
            client.describeCluster().clusterId().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return Optional.empty();
        } catch (ExecutionException e) {
            return explain(e.getCause());
        } catch (TimeoutException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } finally {
            client.close(Duration.ofSeconds(2));
        }
    }

    /** Whether {@code error} is such a refusal. */
    public static boolean isAccessFailure(Throwable error) {
        return explain(error).isPresent();
    }

    private static String message(Throwable cause) {
        String message = cause.getMessage();
        return message == null || message.isBlank() ? cause.getClass().getSimpleName() : message.strip();
    }
}
