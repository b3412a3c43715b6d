package io.gradwatch.common.config;

/** A setting is missing, unknown or malformed; the message says which and where it came from. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
