package io.gradwatch.launcher;

import io.gradwatch.localkafka.LocalKafka;
import io.gradwatch.localkafka.LocalKafkaConfig;
import io.gradwatch.protocol.Topics;
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
import java.util.List;
import java.util.Map;

/**
 * The local stack: a KRaft broker, monitor-service and alert-service, each its own process, all
 * on 127.0.0.1. {@link #close()} stops them in reverse order; a shutdown hook makes Ctrl-C do the same.
 */
public final class LocalStack implements AutoCloseable {
    static final String MONITOR_MAIN = "io.gradwatch.monitor.MonitorMain";
    static final String ALERTS_MAIN = "io.gradwatch.alerts.AlertServiceMain";
    static final String TRAINER_MAIN = "io.gradwatch.trainer.TrainerMain";
    private static final int PARTITIONS = 3;

    private final StackLayout layout;
    private final List<ManagedProcess> services = new ArrayList<>();
    private final List<ManagedProcess> trainers = new ArrayList<>();
    private LocalKafka kafka;

    private LocalStack(StackLayout layout) {
        this.layout = layout;
    }

    /** Starts everything and waits until each part answers; fails naming the part that did not. */
    public static LocalStack start(StackLayout layout, Progress progress) throws InterruptedException {
        PortCheck.requireFree(layout);
        LocalStack stack = new LocalStack(layout);
        try {
            stack.writePidFile();
            progress.say("starting Kafka (KRaft, single node) on " + layout.bootstrapServers());
            stack.kafka = LocalKafka.start(LocalKafkaConfig.defaults(layout.dataDir().resolve("kafka"))
                    .withPorts(layout.kafkaPort(), layout.controllerPort()));
            stack.kafka.createTopics(Topics.ALL, PARTITIONS);
            progress.say("starting monitor-service on " + layout.monitorUrl());
            stack.services.add(stack.startService("monitor-service", "monitor-service", MONITOR_MAIN,
                    layout.monitorPort(), Map.of("GRADWATCH_KAFKA_STATE_DIR",
                            layout.dataDir().resolve("monitor-state").toString())));
            progress.say("starting alert-service on " + layout.dashboardUrl());
            stack.services.add(stack.startService("alert-service", "alert-service", ALERTS_MAIN,
                    layout.alertsPort(), Map.of()));
            stack.awaitReady(stack.services.get(0), layout.monitorPort());
            stack.awaitReady(stack.services.get(1), layout.alertsPort());
            return stack;
        } catch (RuntimeException | InterruptedException e) {
            stack.close();
            throw e;
        }
    }

    public StackLayout layout() {
        return layout;
    }

    /** Starts one training job against this stack. */
    public ManagedProcess startTrainer(String runId, List<String> trainArgs) {
        List<String> args = new ArrayList<>(List.of("train", "--run-id", runId));
        args.addAll(trainArgs);
        ManagedProcess trainer = ManagedProcess.start(layout, "trainer-" + runId, "trainer-service", TRAINER_MAIN,
                ManagedProcess.vectorApiOptions(), args, kafkaEnv(), "384m");
        trainers.add(trainer);
        return trainer;
    }

    public void stopTrainers() {
        trainers.forEach(ManagedProcess::stop);
        trainers.clear();
    }

    @Override
    public void close() {
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

    private ManagedProcess startService(String name, String module, String mainClass, int httpPort,
                                        Map<String, String> extraEnv) {
        Map<String, String> env = new java.util.HashMap<>(kafkaEnv());
        env.put("GRADWATCH_HTTP_PORT", Integer.toString(httpPort));
        env.putAll(extraEnv);
        return ManagedProcess.start(layout, name, module, mainClass, List.of(), env, "512m");
    }

    private Map<String, String> kafkaEnv() {
        return Map.of("GRADWATCH_KAFKA_BOOTSTRAP_SERVERS", layout.bootstrapServers());
    }

    private void awaitReady(ManagedProcess service, int port) throws InterruptedException {
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
