package io.gradwatch.common.http;

import io.gradwatch.common.config.ConfigException;
import io.gradwatch.common.config.Settings;
import java.util.Map;

/**
 * Where a service's HTTP server listens and who may call it.
 *
 * @param host bind address; 127.0.0.1 by default so nothing is exposed by accident
 * @param port TCP port, 0 for a free one
 * @param auth who may call the protected routes
 */
public record HttpSettings(String host, int port, HttpAuth auth) {
    public static final String HOST = "http.host";
    public static final String PORT = "http.port";
    public static final String BASIC_USER = "http.auth.basic-user";
    public static final String BASIC_PASSWORD = "http.auth.basic-password";
    public static final String BEARER_TOKEN = "http.auth.bearer-token";

    /** The HTTP settings every service declares, with the given default port. */
    public static Map<String, String> defaults(int port) {
        return Map.of(HOST, "127.0.0.1", PORT, Integer.toString(port), BASIC_USER, "", BASIC_PASSWORD, "",
                BEARER_TOKEN, "");
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
        return new HttpSettings(settings.string(HOST), settings.integerWithin(PORT, 0, 65535), auth);
    }
}
