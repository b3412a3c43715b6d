package io.gradwatch.common.http;

import io.gradwatch.common.config.ConfigException;
import io.gradwatch.common.config.Settings;
import java.time.Duration;
import java.util.Map;

/**
 * Where a service's HTTP server listens and who may call it.
 *
 * @param host bind address; 127.0.0.1 by default so nothing is exposed by accident
 * @param port TCP port, 0 for a free one
 * @param auth who may call the protected routes
 * @param limits read timeout and worker pool: what a slow or stuck client can hold
 */
public record HttpSettings(String host, int port, HttpAuth auth, HttpLimits limits) {
    public static final String HOST = "http.host";
    public static final String PORT = "http.port";
    public static final String BASIC_USER = "http.auth.basic-user";
    public static final String BASIC_PASSWORD = "http.auth.basic-password";
    public static final String BEARER_TOKEN = "http.auth.bearer-token";
    public static final String READ_TIMEOUT = "http.read-timeout";
    public static final String THREADS = "http.threads";
    public static final String QUEUE = "http.queue";

    /** With the default {@link HttpLimits}. */
    public HttpSettings(String host, int port, HttpAuth auth) {
        this(host, port, auth, HttpLimits.DEFAULT);
    }

    /** The HTTP settings every service declares, with the given default port. */
    public static Map<String, String> defaults(int port) {
        HttpLimits limits = HttpLimits.DEFAULT;
        return Map.of(HOST, "127.0.0.1", PORT, Integer.toString(port), BASIC_USER, "", BASIC_PASSWORD, "",
                BEARER_TOKEN, "", READ_TIMEOUT, limits.readTimeout().toMillis() + "ms",
                THREADS, Integer.toString(limits.threads()), QUEUE, Integer.toString(limits.queue()));
    }

    public static HttpSettings from(Settings settings) {
        String user = settings.string(BASIC_USER);
        String password = settings.string(BASIC_PASSWORD);
        String token = settings.string(BEARER_TOKEN);
        if (!user.isEmpty() && !token.isEmpty()) {
            throw new ConfigException("set either " + BASIC_USER + " or " + BEARER_TOKEN + ", not both");
        }
        if (user.isEmpty() != password.isEmpty()) {
            throw new ConfigException(BASIC_USER + " and " + BASIC_PASSWORD + " must be set together");
        }
        HttpAuth auth = !user.isEmpty() ? new HttpAuth.Basic(user, password)
                : !token.isEmpty() ? new HttpAuth.Bearer(token) : new HttpAuth.None();
        Duration readTimeout = settings.duration(READ_TIMEOUT);
        if (readTimeout.toMillis() < 1) {
            throw new ConfigException(READ_TIMEOUT + " must be at least 1ms");
        }
        HttpLimits limits = new HttpLimits(readTimeout, settings.integerWithin(THREADS, 1, 1024),
                settings.integerWithin(QUEUE, 0, 100_000));
        return new HttpSettings(settings.string(HOST), settings.integerWithin(PORT, 0, 65535), auth, limits);
    }
}
