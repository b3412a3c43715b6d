package io.gradwatch.common.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;

/** Who may call a service's protected routes. */
public sealed interface HttpAuth {

    /** Whether a request with this {@code Authorization} header (may be null) is let in. */
    boolean permits(String authorizationHeader);

    /** The {@code WWW-Authenticate} challenge for a refused request. */
    String challenge();

    /** Everyone: the default, with the server bound to 127.0.0.1. */
    record None() implements HttpAuth {
        @Override
        public boolean permits(String authorizationHeader) {
            return true;
        }

        @Override
        public String challenge() {
            return "";
        }
    }

    /** HTTP basic authentication with one user. */
    record Basic(String user, String password) implements HttpAuth {
        @Override
        public boolean permits(String header) {
            String expected = "Basic " + Base64.getEncoder()
                    .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
            return constantTimeEquals(header, expected);
        }

        @Override
        public String challenge() {
            return "Basic realm=\"gradwatch\", charset=\"UTF-8\"";
        }

        @Override
        public String toString() {
            return "Basic[user=" + user + ", password=******]";
        }
    }

    /** A bearer token, as Prometheus' {@code authorization} scrape setting sends it. */
    record Bearer(String token) implements HttpAuth {
        @Override
        public boolean permits(String header) {
            return constantTimeEquals(header, "Bearer " + token);
        }

        @Override
        public String challenge() {
            return "Bearer realm=\"gradwatch\"";
        }

        @Override
        public String toString() {
            return "Bearer[token=******]";
        }
    }

    private static boolean constantTimeEquals(String actual, String expected) {
        if (actual == null) {
            return false;
        }
        return MessageDigest.isEqual(actual.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
    }
}
