package io.gradwatch.common.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The one config loader of gradwatch. Settings are read, lowest precedence first, from the
 * service's defaults, a properties file ({@code --config FILE} or {@code GRADWATCH_CONFIG}),
 * environment variables ({@code monitor.vanishing.decay-floor} is {@code
 * GRADWATCH_MONITOR_VANISHING_DECAY_FLOOR}) and explicit overrides (command-line flags).
 *
 * <p>Keys under {@code kafka.} are standard Kafka client properties passed through unchanged
 * (e.g. {@code kafka.security.protocol=SASL_SSL}, env {@code GRADWATCH_KAFKA_SECURITY_PROTOCOL}).
 * Any other key must be one the service declares in its defaults, so a typo is an error, not a
 * silently ignored setting. A service builds one typed config record from this, once, at start.
 */
public final class Settings {
    public static final String ENV_PREFIX = "GRADWATCH_";
    public static final String KAFKA_PREFIX = "kafka.";
    private static final Pattern SECRET = Pattern.compile("(?i).*(password|secret|jaas|token|credential|key\\.pass).*");
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h|d)");

    private final Map<String, String> values;
    private final Map<String, String> origins;

    private Settings(Map<String, String> values, Map<String, String> origins) {
        this.values = values;
        this.origins = origins;
    }

    /**
     * Loads settings.
     *
     * @param defaults every key the service knows, with its default value
     * @param file optional properties file (null for none)
     * @param environment the process environment (pass {@code System.getenv()})
     * @param overrides values from the command line, highest precedence
     */
    public static Settings load(Map<String, String> defaults, Path file, Map<String, String> environment,
                                Map<String, String> overrides) {
        Map<String, String> values = new LinkedHashMap<>(defaults);
        Map<String, String> origins = new LinkedHashMap<>();
        defaults.keySet().forEach(key -> origins.put(key, "default"));
        if (file != null) {
            readFile(file).forEach((key, value) -> put(values, origins, defaults, key, value, "file " + file));
        }
        environment.forEach((name, value) -> {
            if (!name.startsWith(ENV_PREFIX) || name.equals(ENV_PREFIX + "CONFIG")) {
                return;
            }
            String key = keyForEnvironmentVariable(name, defaults);
            if (key != null) {
                put(values, origins, defaults, key, value, "env " + name);
            }
        });
        overrides.forEach((key, value) -> put(values, origins, defaults, key, value, "command line"));
        return new Settings(values, origins);
    }

    /** Loads with the file named by {@code GRADWATCH_CONFIG}, if set, and the real environment. */
    public static Settings fromEnvironment(Map<String, String> defaults, Path configFile, Map<String, String> overrides) {
        Map<String, String> environment = System.getenv();
        Path file = configFile;
        if (file == null && environment.containsKey(ENV_PREFIX + "CONFIG")) {
            file = Path.of(environment.get(ENV_PREFIX + "CONFIG"));
        }
        return load(defaults, file, environment, overrides);
    }

    /** The environment variable that sets {@code key}. */
    public static String environmentVariableFor(String key) {
        return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    private static String keyForEnvironmentVariable(String name, Map<String, String> defaults) {
        for (String key : defaults.keySet()) {
            if (environmentVariableFor(key).equals(name)) {
                return key;
            }
        }
        String kafkaEnv = ENV_PREFIX + "KAFKA_";
        if (name.startsWith(kafkaEnv)) {
            return KAFKA_PREFIX + name.substring(kafkaEnv.length()).toLowerCase(Locale.ROOT).replace('_', '.');
        }
        return null; // other GRADWATCH_* variables belong to other tools (scripts, tests)
    }

    private static void put(Map<String, String> values, Map<String, String> origins, Map<String, String> defaults,
                            String key, String value, String origin) {
        if (!defaults.containsKey(key) && !key.startsWith(KAFKA_PREFIX)) {
            throw new ConfigException("unknown setting '" + key + "' (from " + origin + "); known settings: "
                    + String.join(", ", new TreeMap<>(defaults).keySet()));
        }
        values.put(key, value.trim());
        origins.put(key, origin);
    }

    private static Map<String, String> readFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("config file " + file + " does not exist or is not a file");
        }
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (IOException | IllegalArgumentException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
        }
        Map<String, String> result = new LinkedHashMap<>();
        properties.stringPropertyNames().stream().sorted().forEach(key -> result.put(key, properties.getProperty(key)));
        return result;
    }

    public String string(String key) {
        String value = values.get(key);
        if (value == null) {
            throw new ConfigException("setting '" + key + "' is not set");
        }
        return value;
    }

    public int integer(String key) {
        try {
            return Integer.parseInt(string(key));
        } catch (NumberFormatException e) {
            throw invalid(key, "a whole number");
        }
    }

    public long longValue(String key) {
        try {
            return Long.parseLong(string(key));
        } catch (NumberFormatException e) {
            throw invalid(key, "a whole number");
        }
    }

    public double decimal(String key) {
        try {
            return Double.parseDouble(string(key));
        } catch (NumberFormatException e) {
            throw invalid(key, "a number");
        }
    }

    public boolean bool(String key) {
        String value = string(key).toLowerCase(Locale.ROOT);
        return switch (value) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw invalid(key, "true or false");
        };
    }

    /** A duration such as {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code 7d}. */
    public Duration duration(String key) {
        Matcher matcher = DURATION.matcher(string(key).toLowerCase(Locale.ROOT));
        if (!matcher.matches()) {
            throw invalid(key, "a duration like 500ms, 30s, 5m, 2h or 7d");
        }
        double amount = Double.parseDouble(matcher.group(1));
        long millis = switch (matcher.group(2)) {
            case "ms" -> 1;
            case "s" -> 1_000;
            case "m" -> 60_000;
            case "h" -> 3_600_000;
            default -> 86_400_000;
        };
        return Duration.ofMillis(Math.round(amount * millis));
    }

    /** A decimal within [min, max], with an error naming the key and the bounds. */
    public double decimalWithin(String key, double min, double max) {
        double value = decimal(key);
        if (!(value >= min && value <= max)) {
            throw new ConfigException("setting '" + key + "' = " + value + " (from " + origins.get(key)
                    + ") must be between " + min + " and " + max);
        }
        return value;
    }

    /** An integer within [min, max], with an error naming the key and the bounds. */
    public int integerWithin(String key, int min, int max) {
        int value = integer(key);
        if (value < min || value > max) {
            throw new ConfigException("setting '" + key + "' = " + value + " (from " + origins.get(key)
                    + ") must be between " + min + " and " + max);
        }
        return value;
    }

    /** The {@code kafka.*} settings with the prefix removed: ready for a Kafka client. */
    public Properties kafkaProperties() {
        Properties properties = new Properties();
        values.forEach((key, value) -> {
            if (key.startsWith(KAFKA_PREFIX)) {
                properties.setProperty(key.substring(KAFKA_PREFIX.length()), value);
            }
        });
        return properties;
    }

    /** Every setting with its origin, secrets masked: safe to log at start-up. */
    public String describe() {
        return new TreeMap<>(values).entrySet().stream()
                .map(e -> "  " + e.getKey() + " = " + mask(e.getKey(), e.getValue()) + "  (" + origins.get(e.getKey())
                        + ")")
                .collect(Collectors.joining("\n"));
    }

    /** Masks the value of a key that looks like it holds a secret. */
    public static String mask(String key, String value) {
        return SECRET.matcher(key).matches() && !value.isEmpty() ? "******" : value;
    }

    private ConfigException invalid(String key, String expected) {
        return new ConfigException("setting '" + key + "' must be " + expected + ", got '" + values.get(key)
                + "' (from " + origins.get(key) + ")");
    }
}
