package io.gradwatch.launcher;

import io.gradwatch.launcher.topics.TopicProvisioner;
import io.gradwatch.localkafka.KafkaSecurity;
import io.gradwatch.localkafka.LocalKafka;
import io.gradwatch.localkafka.LocalKafkaConfig;
import io.gradwatch.protocol.TopicPlan;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.admin.Admin;

/**
 * The local stack: a KRaft broker, monitor-service and alert-service, each its own process, all
 * on 127.0.0.1. {@link #close()} stops them in reverse order; a shutdown hook makes Ctrl-C do the same.
 */
public final class LocalStack implements AutoCloseable {
    public static final String MONITOR_MAIN = "io.gradwatch.monitor.MonitorMain";
    public static final String ALERTS_MAIN = "io.gradwatch.alerts.AlertServiceMain";
    static final String TRAINER_MAIN = "io.gradwatch.trainer.TrainerMain";
    private static final String SERVICE_HEAP = "512m";

    private final StackLayout layout;
    private final Security security;
    private final List<ManagedProcess> services = new ArrayList<>();
    private final List<ManagedProcess> trainers = new ArrayList<>();
    private LocalKafka kafka;

    private LocalStack(StackLayout layout, Security security) {
        this.layout = layout;
        this.security = security;
    }

    /**
     * A secured stack: the broker's SASL_SSL listener and users, and the settings each process
     * gets on top of the bootstrap servers (as {@code GRADWATCH_*} variables, e.g.
     * {@code GRADWATCH_KAFKA_SASL_JAAS_CONFIG}), so each can run as its own Kafka principal.
     *
     * @param broker the secured broker's TLS files and SCRAM users
     * @param monitorEnv monitor-service's environment additions
     * @param alertsEnv alert-service's environment additions
     * @param trainerEnv every trainer's environment additions
     */
    public record Security(KafkaSecurity broker, Map<String, String> monitorEnv, Map<String, String> alertsEnv,
                           Map<String, String> trainerEnv) {
        public Security {
            Objects.requireNonNull(broker, "broker");
            monitorEnv = Map.copyOf(monitorEnv);
            alertsEnv = Map.copyOf(alertsEnv);
            trainerEnv = Map.copyOf(trainerEnv);
        }
    }

    /** Starts everything and waits until each part answers; fails naming the part that did not. */
    public static LocalStack start(StackLayout layout, Progress progress) throws InterruptedException {
        return start(layout, null, progress);
    }

    /** {@link #start(StackLayout, Progress)} with a secured broker and per-process settings (null: plain). */
    public static LocalStack start(StackLayout layout, Security security, Progress progress)
            throws InterruptedException {
        PortCheck.requireFree(layout);
        LocalStack stack = new LocalStack(layout, security);
        try {
            stack.writePidFile();
            LocalKafkaConfig kafkaConfig = LocalKafkaConfig.defaults(layout.dataDir().resolve("kafka"))
                    .withPorts(layout.kafkaPort(), layout.controllerPort());
            if (security != null) {
                kafkaConfig = kafkaConfig.secured(security.broker());
            }
            progress.say("starting Kafka (KRaft, single node" + (security == null ? "" : ", SASL_SSL") + ") on "
                    + layout.bootstrapServers());
            long started = System.nanoTime();
            stack.kafka = LocalKafka.start(kafkaConfig);
            progress.say(String.format(Locale.ROOT, "Kafka ready on %s after %.1f s",
                    layout.bootstrapServers(), (System.nanoTime() - started) / 1e9));
            stack.provisionTopics();
            Map<String, String> monitorEnv = new HashMap<>(Map.of("GRADWATCH_KAFKA_STATE_DIR",
                    layout.dataDir().resolve("monitor-state").toString()));
            progress.say("starting monitor-service on " + layout.monitorUrl());
            if (security != null) {
                monitorEnv.putAll(security.monitorEnv());
            }
            stack.services.add(startService(layout, "monitor-service", "monitor-service", MONITOR_MAIN,
                    layout.monitorPort(), monitorEnv, SERVICE_HEAP));
            progress.say("starting alert-service on " + layout.dashboardUrl());
            stack.services.add(startService(layout, "alert-service", "alert-service", ALERTS_MAIN,
                    layout.alertsPort(), security == null ? Map.of() : security.alertsEnv(), SERVICE_HEAP));
            awaitReady(stack.services.get(0), layout.monitorPort());
            awaitReady(stack.services.get(1), layout.alertsPort());
            return stack;
        } catch (RuntimeException | InterruptedException e) {
            stack.close();
            throw e;
        }
    }

    public StackLayout layout() {
        return layout;
    }

    /** The running broker (for its admin client properties, or for fault-injection tests that stop it). */
    public LocalKafka kafka() {
        return kafka;
    }

    /** The topics with the settings of {@link TopicPlan}, as {@code ./gradwatch topics} applies them. */
    private void provisionTopics() throws InterruptedException {
        try (Admin admin = Admin.create(kafka.adminProperties())) {
            TopicProvisioner.Report report = new TopicProvisioner(admin, Duration.ofSeconds(30))
                    .provision(TopicPlan.defaults(), TopicProvisioner.Mode.APPLY);
            if (!report.inSync()) {
                throw new IllegalStateException("the local broker's topics differ from the plan: " + report);
            }
        }
    }

    /** Starts one training job against this stack. */
    public synchronized ManagedProcess startTrainer(String runId, List<String> trainArgs) {
        List<String> args = new ArrayList<>(List.of("train", "--run-id", runId));
        args.addAll(trainArgs);
        Map<String, String> env = new HashMap<>(kafkaEnv(layout));
        if (security != null) {
            env.putAll(security.trainerEnv());
        }
        ManagedProcess trainer = ManagedProcess.start(layout, "trainer-" + runId, "trainer-service", TRAINER_MAIN,
                ManagedProcess.vectorApiOptions(), args, env, "384m");
        trainers.add(trainer);
        return trainer;
    }

    public synchronized void stopTrainers() {
        trainers.forEach(ManagedProcess::stop);
        trainers.clear();
    }

    /** Synchronized: Ctrl-C's shutdown hook and the command's own close may run at once. */
    @Override
    public synchronized void close() {
        stopTrainers();
        for (int i = services.size() - 1; i >= 0; i--) {
            services.get(i).stop();
        }
        services.clear();
        if (kafka != null) {
            kafka.stop();
            kafka = null;
        }
        try {
            Files.deleteIfExists(layout.pidFile());
        } catch (IOException ignored) {
            // a stale pid file is detected and replaced by the next start
        }
    }

    /**
     * One service JVM ({@code name}, logging to {@code logs/<name>.log}) against the layout's broker,
     * its HTTP on {@code httpPort}, with {@code extraEnv} on top; the stack, the bench and the
     * fault-injection tests all start services this way.
     */
    public static ManagedProcess startService(StackLayout layout, String name, String module, String mainClass,
                                              int httpPort, Map<String, String> extraEnv, String heap) {
        Map<String, String> env = new HashMap<>(kafkaEnv(layout));
        env.put("GRADWATCH_HTTP_PORT", Integer.toString(httpPort));
        env.putAll(extraEnv);
        return ManagedProcess.start(layout, name, module, mainClass, List.of(), env, heap);
    }

    private static Map<String, String> kafkaEnv(StackLayout layout) {
        return Map.of("GRADWATCH_KAFKA_BOOTSTRAP_SERVERS", layout.bootstrapServers());
    }

    /** Waits until {@code service} answers 200 on /readyz; fails with the tail of its log if it exits or 120 s pass. */
    public static void awaitReady(ManagedProcess service, int port) throws InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        URI readyz = URI.create("http://127.0.0.1:" + port + "/readyz");
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (!service.isAlive()) {
                throw new IllegalStateException(service.name() + " exited during start-up; last lines of "
                        + service.log() + ":\n" + tail(service.log()));
            }
            try {
                var response = client.send(HttpRequest.newBuilder(readyz).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (response.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(300);
        }
        throw new IllegalStateException(service.name() + " not ready within 120 s; see " + service.log());
    }

    private void writePidFile() {
        try {
            Files.createDirectories(layout.dataDir());
            Files.writeString(layout.pidFile(), Long.toString(ProcessHandle.current().pid()), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + layout.pidFile() + ": " + e.getMessage(), e);
        }
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /** Where start-up progress goes. */
    public interface Progress {
        void say(String message);
    }
}
