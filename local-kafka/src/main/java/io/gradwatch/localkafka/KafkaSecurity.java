package io.gradwatch.localkafka;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.apache.kafka.common.acl.AclBinding;

/**
 * A secured {@link LocalKafka}: one SASL_SSL listener for clients and for the broker itself, with
 * SCRAM-SHA-512 users created when the storage is formatted and the broker's certificate from
 * {@link TlsFiles}. The KRaft controller listener stays PLAINTEXT on 127.0.0.1.
 *
 * @param tls the broker's keystore and the truststore clients use
 * @param adminUser the broker's own user (inter-broker traffic, {@link LocalKafka}'s admin client); a super user
 * @param adminPassword its password
 * @param users further SCRAM users, name to password
 * @param authorizer whether the broker authorizes requests (KRaft's StandardAuthorizer; no ACL, no access)
 * @param acls the ACLs {@link LocalKafka} creates as soon as the broker answers, when {@code authorizer}
 */
public record KafkaSecurity(TlsFiles tls, String adminUser, String adminPassword, Map<String, String> users,
                            boolean authorizer, List<AclBinding> acls) {
    /** The one SASL mechanism a secured broker enables. */
    public static final String MECHANISM = "SCRAM-SHA-512";
    /** Names and passwords go into StorageTool's {@code name=...,password=...} syntax: keep them plain. */
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._-]+");

    public KafkaSecurity {
        Objects.requireNonNull(tls, "tls");
        users = Map.copyOf(users);
        acls = List.copyOf(acls);
        if (!authorizer && !acls.isEmpty()) {
            throw new IllegalArgumentException("ACLs need the authorizer");
        }
        requirePlain(adminUser, "admin user");
        requirePlain(adminPassword, "admin password");
        users.forEach((name, password) -> {
            requirePlain(name, "user name");
            requirePlain(password, "password of " + name);
        });
        if (users.containsKey(adminUser)) {
            throw new IllegalArgumentException("user " + adminUser + " is the admin user already");
        }
    }

    /** Authentication only: every user may do everything. */
    public KafkaSecurity(TlsFiles tls, String adminUser, String adminPassword, Map<String, String> users) {
        this(tls, adminUser, adminPassword, users, false, List.of());
    }

    /**
     * The same broker with authorization on: a request is allowed only by one of {@code bindings}
     * (the admin user, a super user, may do everything).
     */
    public KafkaSecurity withAcls(List<AclBinding> bindings) {
        return new KafkaSecurity(tls, adminUser, adminPassword, users, true, bindings);
    }

    /** Every SCRAM user the broker knows, the admin first. */
    public Map<String, String> allUsers() {
        Map<String, String> all = new LinkedHashMap<>();
        all.put(adminUser, adminPassword);
        all.putAll(users);
        return all;
    }

    /**
     * The Kafka client properties that reach the broker as {@code user}: SASL_SSL, SCRAM-SHA-512,
     * the JAAS line and the truststore. The password is not checked here, so a test can use a wrong one.
     */
    public Map<String, String> clientProperties(String user, String password) {
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("security.protocol", "SASL_SSL");
        properties.put("sasl.mechanism", MECHANISM);
        properties.put("sasl.jaas.config", jaas(user, password));
        properties.put("ssl.truststore.location", tls.truststore().toString());
        properties.put("ssl.truststore.password", tls.password());
        properties.put("ssl.truststore.type", TlsFiles.STORE_TYPE);
        return properties;
    }

    /** {@link #clientProperties} for the admin user. */
    public Map<String, String> adminClientProperties() {
        return clientProperties(adminUser, adminPassword);
    }

    /** The SCRAM login module line of {@code sasl.jaas.config}. */
    public static String jaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    /** Broker properties for the listener named {@code listener} (its security protocol is SASL_SSL). */
    Map<String, String> brokerProperties(String listener) {
        String prefix = "listener.name." + listener.toLowerCase(Locale.ROOT) + ".";
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("sasl.enabled.mechanisms", MECHANISM);
        properties.put("sasl.mechanism.inter.broker.protocol", MECHANISM);
        properties.put(prefix + MECHANISM.toLowerCase(Locale.ROOT) + ".sasl.jaas.config",
                jaas(adminUser, adminPassword));
        properties.put("ssl.keystore.location", tls.keystore().toString());
        properties.put("ssl.keystore.password", tls.password());
        properties.put("ssl.key.password", tls.password());
        properties.put("ssl.keystore.type", TlsFiles.STORE_TYPE);
        properties.put("ssl.truststore.location", tls.truststore().toString());
        properties.put("ssl.truststore.password", tls.password());
        properties.put("ssl.truststore.type", TlsFiles.STORE_TYPE);
        properties.put("ssl.client.auth", "none");
        properties.put("super.users", "User:" + adminUser);
        if (authorizer) {
            properties.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            properties.put("allow.everyone.if.no.acl.found", "false");
            // The broker reaches its own controller over the PLAINTEXT controller listener on
            // 127.0.0.1, as User:ANONYMOUS; no client can be ANONYMOUS on the SASL_SSL listener.
            properties.put("super.users", "User:" + adminUser + ";User:ANONYMOUS");
        }
        return properties;
    }

    /** StorageTool arguments that create every user at format time. */
    List<String> formatArguments() {
        List<String> arguments = new ArrayList<>();
        allUsers().forEach((name, password) -> {
            arguments.add("--add-scram");
            arguments.add(MECHANISM + "=[name=" + name + ",password=" + password + "]");
        });
        return arguments;
    }

    private static void requirePlain(String value, String what) {
        if (value == null || !PLAIN.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " must be letters, digits, '.', '_' or '-'");
        }
    }

    @Override
    public String toString() {
        return "KafkaSecurity[SASL_SSL " + MECHANISM + ", users=" + allUsers().keySet()
                + (authorizer ? ", " + acls.size() + " ACLs" : "") + ", tls=" + tls + "]";
    }
}
