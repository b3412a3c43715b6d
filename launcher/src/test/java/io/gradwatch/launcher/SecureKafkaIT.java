package io.gradwatch.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.gradwatch.common.config.Settings;
import io.gradwatch.localkafka.KafkaSecurity;
import io.gradwatch.localkafka.TlsFiles;
import io.gradwatch.protocol.Topics;
import io.gradwatch.testkit.Await;
import io.gradwatch.testkit.TemporaryProperty;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local stack on a secured broker: a SASL_SSL listener with SCRAM-SHA-512 users (one per
 * service: trainer, monitor, alerts) and a CA made here by keytool. Every process is configured
 * only with the standard Kafka client settings, as a user would: the services through
 * {@code GRADWATCH_KAFKA_*} variables, the trainer through a {@code --config} file. The broker
 * authorizes every request with exactly the ACLs docs/security.md lists. Then: the pipeline works
 * end to end; a wrong password or a principal without the ACLs is refused and the program says so
 * in one line and exits; and no password, token or store password appears in any program's output, even with
 * Kafka's client config dumps switched on.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecureKafkaIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final String RUN = "secure-vanishing";
    private static final String STORE_PASSWORD = "store-pw-Kq81zT";
    private static final String ADMIN_PASSWORD = "admin-pw-Vd04nR";
    private static final Map<String, String> USERS = Map.of(
            "trainer", "trainer-pw-Hs93kW",
            "monitor", "monitor-pw-Lp27cX",
            "alerts", "alerts-pw-Qm65fJ");
    private static final String WRONG_PASSWORD = "wrong-pw-Zt48yB";
    private static final String HTTP_BASIC_PASSWORD = "basic-pw-Nw12gE";
    private static final String HTTP_BEARER_TOKEN = "bearer-token-Rc59uD";
    /** Kafka's own client config dumps (INFO) into every program's output, to check they mask secrets. */
    private static final Map<String, String> KAFKA_INFO_LOGGING = Map.of("JAVA_TOOL_OPTIONS",
            "-Dorg.slf4j.simpleLogger.log.org.apache.kafka=info");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Path dir;
    private KafkaSecurity security;
    private StackLayout layout;
    private LocalStack stack;
    private TemporaryProperty home;
    private int configFiles;

    @BeforeAll
    void startSecuredStack(@TempDir Path tempDir) throws Exception {
        dir = tempDir;
        home = TemporaryProperty.set("gradwatch.home", ROOT.toString());
        TlsFiles tls = TlsFiles.generate(dir.resolve("tls"), STORE_PASSWORD, 2);
        security = new KafkaSecurity(tls, "admin", ADMIN_PASSWORD, USERS).withAcls(acls());
        layout = new StackLayout(ROOT, dir.resolve("stack"), TestPorts.freePortBase(34000));

        Map<String, String> monitorEnv = new HashMap<>(kafkaEnv("monitor", USERS.get("monitor")));
        monitorEnv.put("GRADWATCH_HTTP_AUTH_BASIC_USER", "oncall");
        monitorEnv.put("GRADWATCH_HTTP_AUTH_BASIC_PASSWORD", HTTP_BASIC_PASSWORD);
        monitorEnv.putAll(KAFKA_INFO_LOGGING);
        Map<String, String> alertsEnv = new HashMap<>(kafkaEnv("alerts", USERS.get("alerts")));
        alertsEnv.put("GRADWATCH_HTTP_AUTH_BEARER_TOKEN", HTTP_BEARER_TOKEN);
        alertsEnv.putAll(KAFKA_INFO_LOGGING);
        // The trainer gets its Kafka settings from a --config file; only the logging switch comes by environment.
        stack = LocalStack.start(layout, new LocalStack.Security(security, monitorEnv, alertsEnv, KAFKA_INFO_LOGGING),
                message -> System.out.println("SecureKafkaIT: " + message));
    }

    @AfterAll
    void stopStack() throws IOException {
        if (stack != null) {
            stack.close();
        }
        if (home != null) {
            home.close();
        }
        // Kept for reading after the temp folder is gone (they hold no secrets: the last test checks that).
        Path kept = ROOT.resolve("launcher/target/secure-kafka-it-logs");
        Files.createDirectories(kept);
        if (layout != null && Files.isDirectory(layout.logDir())) {
            try (Stream<Path> files = Files.list(layout.logDir())) {
                for (Path file : files.toList()) {
                    Files.copy(file, kept.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    @Test
    @Order(1)
    void gradientsFromATrainerReachTheMetricsThroughTheSecuredBroker() throws Exception {
        Path config = trainerConfig("trainer", USERS.get("trainer"));
        stack.startTrainer(RUN, List.of("--preset", "vanishing-rnn", "--publish-every", "5",
                "--max-steps-per-second", "20", "--steps", "100000", "--config", config.toString(),
                "--bootstrap-servers", layout.bootstrapServers()));

        String bearer = "Bearer " + HTTP_BEARER_TOKEN;
        String metrics = await("alert-service /metrics shows the run's health from monitor-service",
                () -> get(layout.metricsUrl(), bearer),
                body -> body.contains("gradwatch_gradient_decay_ratio{") && body.contains("run=\"" + RUN + "\""));
        assertThat(metrics).contains("gradwatch_training_step{");
        String history = await("monitor-service's VANISHING alert reaches alert-service",
                () -> get("http://127.0.0.1:" + layout.alertsPort() + "/api/alerts/history", bearer),
                body -> body.contains(RUN) && body.contains("VANISHING"));
        assertThat(history).contains(RUN);

        // HTTP auth on top: the same routes refuse a caller without the token or password.
        assertThat(status(layout.metricsUrl(), null)).isEqualTo(401);
        assertThat(status(layout.metricsUrl(), "Bearer not-the-token")).isEqualTo(401);
        assertThat(status(layout.monitorUrl() + "/runs", null)).isEqualTo(401);
        String basic = "Basic " + Base64.getEncoder().encodeToString(("oncall:" + HTTP_BASIC_PASSWORD)
                .getBytes(StandardCharsets.UTF_8));
        assertThat(get(layout.monitorUrl() + "/runs", basic)).contains(RUN);
    }

    @Test
    @Order(2)
    void aWrongPasswordOrAMissingAclIsRefusedAndEachProgramSaysSoInOneLineAndExits() throws Exception {
        String expected = "Kafka authentication failed (Authentication failed during authentication due to invalid "
                + "credentials with SASL mechanism SCRAM-SHA-512)";

        ManagedProcess trainer = stack.startTrainer("secure-intruder", List.of("--preset", "vanishing-rnn",
                "--steps", "100000", "--config", trainerConfig("trainer", WRONG_PASSWORD).toString(),
                "--bootstrap-servers", layout.bootstrapServers()));
        assertExitsWith(trainer, 1, "gradwatch train: " + expected);

        // The right password but the wrong principal: alert-service's user may not read the control topic.
        ManagedProcess misconfigured = stack.startTrainer("secure-wrong-principal", List.of("--preset", "vanishing-rnn",
                "--steps", "100000", "--config", trainerConfig("alerts", USERS.get("alerts")).toString(),
                "--bootstrap-servers", layout.bootstrapServers()));
        assertExitsWith(misconfigured, 1, "gradwatch train: Kafka denied access (");

        Map<String, String> monitorEnv = new HashMap<>(kafkaEnv("monitor", WRONG_PASSWORD));
        monitorEnv.put("GRADWATCH_HTTP_PORT", "0");
        monitorEnv.put("GRADWATCH_MONITOR_APPLICATION_ID", "gradwatch-monitor-intruder");
        monitorEnv.put("GRADWATCH_KAFKA_STATE_DIR", dir.resolve("intruder-state").toString());
        monitorEnv.putAll(KAFKA_INFO_LOGGING);
        ManagedProcess monitor = ManagedProcess.start(layout, "monitor-service-wrong-password", "monitor-service",
                LocalStack.MONITOR_MAIN, List.of(), monitorEnv, "384m");
        assertExitsWith(monitor, 1, "monitor-service: " + expected);

        Map<String, String> alertsEnv = new HashMap<>(kafkaEnv("alerts", WRONG_PASSWORD));
        alertsEnv.put("GRADWATCH_HTTP_PORT", "0");
        alertsEnv.putAll(KAFKA_INFO_LOGGING);
        ManagedProcess alerts = ManagedProcess.start(layout, "alert-service-wrong-password", "alert-service",
                LocalStack.ALERTS_MAIN, List.of(), alertsEnv, "384m");
        assertExitsWith(alerts, 1, "alert-service: " + expected);
    }

    @Test
    @Order(3)
    void servicesRunAsAPrincipalWithoutTheirAclsStopSayingWhichAccessWasDenied() throws Exception {
        // Both log in fine (the start-up probe passes); Kafka then denies their first real request.
        Map<String, String> monitorEnv = new HashMap<>(kafkaEnv("alerts", USERS.get("alerts")));
        monitorEnv.put("GRADWATCH_HTTP_PORT", "0");
        monitorEnv.put("GRADWATCH_KAFKA_STATE_DIR", dir.resolve("denied-state").toString());
        monitorEnv.putAll(KAFKA_INFO_LOGGING);
        ManagedProcess monitor = ManagedProcess.start(layout, "monitor-service-without-acls", "monitor-service",
                LocalStack.MONITOR_MAIN, List.of(), monitorEnv, "384m");
        assertExitsWith(monitor, 1, "monitor-service: Kafka denied access (");

        Map<String, String> alertsEnv = new HashMap<>(kafkaEnv("trainer", USERS.get("trainer")));
        alertsEnv.put("GRADWATCH_HTTP_PORT", "0");
        alertsEnv.putAll(KAFKA_INFO_LOGGING);
        ManagedProcess alerts = ManagedProcess.start(layout, "alert-service-without-acls", "alert-service",
                LocalStack.ALERTS_MAIN, List.of(), alertsEnv, "384m");
        assertExitsWith(alerts, 1, "alert-service: Kafka denied access (");
    }

    @Test
    @Order(4)
    void noSecretAppearsInAnyProgramsOutput() throws Exception {
        stack.stopTrainers();
        List<String> secrets = new ArrayList<>(USERS.values());
        secrets.addAll(List.of(ADMIN_PASSWORD, STORE_PASSWORD, WRONG_PASSWORD, HTTP_BASIC_PASSWORD, HTTP_BEARER_TOKEN));
        List<Path> logs;
        try (Stream<Path> files = Files.list(layout.logDir())) {
            logs = files.filter(file -> file.toString().endsWith(".log")).sorted().toList();
        }
        assertThat(logs.stream().map(file -> file.getFileName().toString())).contains("monitor-service.log",
                "alert-service.log", "trainer-" + RUN + ".log", "trainer-secure-intruder.log", "trainer-secure-wrong-principal.log",
                "monitor-service-wrong-password.log", "alert-service-wrong-password.log",
                "monitor-service-without-acls.log", "alert-service-without-acls.log");
        StringBuilder all = new StringBuilder();
        for (Path log : logs) {
            String text = Files.readString(log, StandardCharsets.UTF_8);
            all.append(text);
            for (String secret : secrets) {
                assertThat(text).as(log.getFileName() + " must not contain a secret").doesNotContain(secret);
            }
        }
        // The output did print what carries the secrets, masked: Settings at start-up and Kafka's config dumps.
        assertThat(all).contains("kafka.sasl.jaas.config = ******", "http.auth.bearer-token = ******",
                "http.auth.basic-password = ******", "kafka.ssl.truststore.password = ******",
                "sasl.jaas.config = [hidden]", "ssl.truststore.password = [hidden]");
    }

    /**
     * The ACLs docs/security.md tells operators to set, per principal: the broker denies everything
     * else, so the pipeline working here shows they are enough.
     */
    private static List<AclBinding> acls() {
        List<AclBinding> acls = new ArrayList<>();
        // trainer: publish gradients and steps, read commands in a consumer group of its own per run.
        for (String topic : List.of(Topics.GRADIENTS, Topics.SUMMARIES, Topics.STEPS)) {
            acls.add(allow("trainer", ResourceType.TOPIC, topic, PatternType.LITERAL, AclOperation.WRITE));
        }
        acls.add(allow("trainer", ResourceType.TOPIC, Topics.CONTROL, PatternType.LITERAL, AclOperation.READ));
        acls.add(allow("trainer", ResourceType.GROUP, "gradwatch-trainer-", PatternType.PREFIXED, AclOperation.READ));
        // monitor (application.id gradwatch-monitor): read the inputs, write the results and commands,
        // own its internal topics, consumer group and transactional ids (exactly-once).
        for (String topic : List.of(Topics.GRADIENTS, Topics.SUMMARIES, Topics.STEPS)) {
            acls.add(allow("monitor", ResourceType.TOPIC, topic, PatternType.LITERAL, AclOperation.READ));
        }
        for (String topic : List.of(Topics.HEALTH, Topics.ALERTS, Topics.DLQ, Topics.CONTROL)) {
            acls.add(allow("monitor", ResourceType.TOPIC, topic, PatternType.LITERAL, AclOperation.WRITE));
        }
        acls.add(allow("monitor", ResourceType.TOPIC, "gradwatch-monitor", PatternType.PREFIXED, AclOperation.ALL));
        acls.add(allow("monitor", ResourceType.GROUP, "gradwatch-monitor", PatternType.PREFIXED, AclOperation.READ));
        acls.add(allow("monitor", ResourceType.TRANSACTIONAL_ID, "gradwatch-monitor", PatternType.PREFIXED,
                AclOperation.WRITE));
        // alert-service: read the results (assigned partitions, no consumer group).
        for (String topic : List.of(Topics.STEPS, Topics.HEALTH, Topics.ALERTS)) {
            acls.add(allow("alerts", ResourceType.TOPIC, topic, PatternType.LITERAL, AclOperation.READ));
        }
        return acls;
    }

    private static AclBinding allow(String user, ResourceType type, String name, PatternType pattern,
                                    AclOperation operation) {
        return new AclBinding(new ResourcePattern(type, name, pattern),
                new AccessControlEntry("User:" + user, "*", operation, AclPermissionType.ALLOW));
    }

    /** The standard Kafka client settings for {@code user}, as the GRADWATCH_KAFKA_* variables a user sets. */
    private Map<String, String> kafkaEnv(String user, String password) {
        Map<String, String> env = new HashMap<>();
        env.put("GRADWATCH_KAFKA_BOOTSTRAP_SERVERS", layout.bootstrapServers());
        security.clientProperties(user, password)
                .forEach((key, value) -> env.put(Settings.environmentVariableFor("kafka." + key), value));
        assertThat(env).containsKeys("GRADWATCH_KAFKA_SECURITY_PROTOCOL", "GRADWATCH_KAFKA_SASL_MECHANISM",
                "GRADWATCH_KAFKA_SASL_JAAS_CONFIG", "GRADWATCH_KAFKA_SSL_TRUSTSTORE_LOCATION");
        return env;
    }

    /** A trainer's {@code --config} file with the same settings as {@code kafka.*} properties. */
    private Path trainerConfig(String user, String password) throws IOException {
        StringBuilder text = new StringBuilder("# Kafka client settings of the trainer\n");
        security.clientProperties(user, password).forEach((key, value) ->
                text.append("kafka.").append(key).append('=').append(value.replace("\\", "\\\\")).append('\n'));
        Path file = dir.resolve("trainer-" + user + "-" + (++configFiles) + ".properties");
        Files.writeString(file, text, StandardCharsets.UTF_8);
        return file;
    }

    private static void assertExitsWith(ManagedProcess process, int code, String line) throws Exception {
        try {
            Await.until(process.name() + " to exit after Kafka refused it", Duration.ofSeconds(90),
                    () -> !process.isAlive());
        } catch (AssertionError stillRunning) {
            process.stop();
            throw new AssertionError(stillRunning.getMessage() + "; last lines:\n" + LocalStack.tail(process.log()),
                    stillRunning);
        }
        String output = Files.readString(process.log(), StandardCharsets.UTF_8);
        assertThat(output).as(process.name()).contains(line);
        assertThat(process.waitFor()).as(process.name() + " exit status; output:\n" + LocalStack.tail(process.log()))
                .isEqualTo(code);
    }

    private String get(String url, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(url).isEqualTo(200);
        return response.body();
    }

    private int status(String url, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private String await(String what, Fetch fetch, Predicate<String> done) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            last = fetch.get();
            if (done.test(last)) {
                return last;
            }
            TimeUnit.SECONDS.sleep(1);
        }
        fail(what + ": not within 180 s; last response:\n" + last + "\nmonitor log:\n"
                + LocalStack.tail(layout.logDir().resolve("monitor-service.log")));
        return last;
    }

    private interface Fetch {
        String get() throws Exception;
    }
}
