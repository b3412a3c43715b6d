package io.gradwatch.localkafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker in KRaft mode (broker and controller in one process), started
 * as a child JVM from Kafka's own jars. It listens on 127.0.0.1 only, keeps its data under one
 * folder, and is stopped cleanly by {@link #close()}. Tests and the local stack both use it.
 */
public final class LocalKafka implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalKafka.class);
    private static final String HOST = "127.0.0.1";

    private final LocalKafkaConfig config;
    private final int brokerPort;
    private final int controllerPort;
    private final Path logFile;
    private Process process;

    private LocalKafka(LocalKafkaConfig config, int brokerPort, int controllerPort) {
        this.config = config;
        this.brokerPort = brokerPort;
        this.controllerPort = controllerPort;
        this.logFile = config.dataDir().resolve("broker.log");
    }

    /** Formats the data folder if new, starts the broker and waits until it answers. */
    public static LocalKafka start(LocalKafkaConfig config) {
        int brokerPort = config.brokerPort() == 0 ? freePort() : config.brokerPort();
        int controllerPort = config.controllerPort() == 0 ? freePort() : config.controllerPort();
        requireFree(brokerPort, "broker");
        requireFree(controllerPort, "controller");
        LocalKafka kafka = new LocalKafka(config, brokerPort, controllerPort);
        // A broker must never outlive the JVM that started it, whatever way that JVM ends.
        Runtime.getRuntime().addShutdownHook(new Thread(kafka::kill, "local-kafka-reaper"));
        kafka.launch();
        return kafka;
    }

    public String bootstrapServers() {
        return HOST + ":" + brokerPort;
    }

    public int brokerPort() {
        return brokerPort;
    }

    public Path logFile() {
        return logFile;
    }

    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Creates the topics that do not exist yet; existing ones are left as they are. */
    public void createTopics(Collection<String> names, int partitions) {
        List<NewTopic> topics = names.stream().map(name -> new NewTopic(name, partitions, (short) 1)).toList();
        try (Admin admin = Admin.create(adminProperties())) {
            for (var entry : admin.createTopics(topics).values().entrySet()) {
                try {
                    entry.getValue().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("could not create topic " + entry.getKey() + ": "
                                + e.getCause().getMessage(), e.getCause());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("broker did not create topics " + names + " within 30 s", e);
        }
    }

    /** Stops the broker gracefully (SIGTERM), forcibly after the shutdown timeout. Idempotent. */
    public void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(config.shutdownTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("Kafka broker did not stop within {}; killing it", config.shutdownTimeout());
                kill();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
        }
        process = null;
    }

    /** Kills the broker at once (SIGKILL), as a crash would. */
    public void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** Starts the broker again on the same ports and data after {@link #stop()} or {@link #kill()}. */
    public void restart() {
        if (isRunning()) {
            throw new IllegalStateException("broker is still running");
        }
        launch();
    }

    @Override
    public void close() {
        stop();
    }

    private void launch() {
        try {
            Files.createDirectories(config.dataDir());
            Path properties = writeServerProperties();
            if (!Files.exists(config.dataDir().resolve("logs").resolve("meta.properties"))) {
                format(properties);
            }
            List<String> command = javaCommand();
            command.add("kafka.Kafka");
            command.add(properties.toString());
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .start();
            awaitReady();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start Kafka under " + config.dataDir(), e);
        }
    }

    private Path writeServerProperties() throws IOException {
        Properties server = new Properties();
        server.setProperty("process.roles", "broker,controller");
        server.setProperty("node.id", "1");
        server.setProperty("controller.quorum.voters", "1@" + HOST + ":" + controllerPort);
        // Secured: clients and the broker itself on SASL_SSL; the controller stays PLAINTEXT on 127.0.0.1.
        String listener = config.security() == null ? "PLAINTEXT" : "SASL_SSL";
        server.setProperty("listeners", listener + "://" + HOST + ":" + brokerPort + ",CONTROLLER://" + HOST + ":"
                + controllerPort);
        server.setProperty("advertised.listeners", listener + "://" + HOST + ":" + brokerPort);
        server.setProperty("controller.listener.names", "CONTROLLER");
        server.setProperty("inter.broker.listener.name", listener);
        server.setProperty("listener.security.protocol.map", "CONTROLLER:PLAINTEXT," + listener + ":" + listener);
        if (config.security() != null) {
            config.security().brokerProperties(listener).forEach(server::setProperty);
        }
        server.setProperty("log.dirs", config.dataDir().resolve("logs").toString());
        server.setProperty("num.partitions", "1");
        // One node: every internal topic has exactly one replica.
        server.setProperty("offsets.topic.replication.factor", "1");
        server.setProperty("transaction.state.log.replication.factor", "1");
        server.setProperty("transaction.state.log.min.isr", "1");
        server.setProperty("share.coordinator.state.topic.replication.factor", "1");
        server.setProperty("share.coordinator.state.topic.min.isr", "1");
        server.setProperty("group.initial.rebalance.delay.ms", "0");
        server.setProperty("auto.create.topics.enable", "false");
        config.overrides().forEach(server::setProperty);
        Path file = config.dataDir().resolve("server.properties");
        try (var out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            server.store(out, "written by gradwatch LocalKafka");
        }
        return file;
    }

    private void format(Path properties) throws IOException {
        List<String> command = javaCommand();
        command.addAll(List.of("kafka.tools.StorageTool", "format", "--config", properties.toString(),
                "--cluster-id", Uuid.randomUuid().toString(), "--ignore-formatted"));
        if (config.security() != null) {
            command.addAll(config.security().formatArguments());
        }
        Process formatter = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .start();
        try {
            if (!formatter.waitFor(120, TimeUnit.SECONDS)) {
                formatter.destroyForcibly();
                throw new IllegalStateException("formatting Kafka storage timed out; see " + logFile);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            formatter.destroyForcibly();
            throw new IllegalStateException("interrupted while formatting Kafka storage", e);
        }
        if (formatter.exitValue() != 0) {
            throw new IllegalStateException("formatting Kafka storage failed (exit " + formatter.exitValue()
                    + "):\n" + tail(logFile));
        }
    }

    private List<String> javaCommand() {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xms128m");
        command.add("-Xmx" + config.heap());
        command.add("-XX:+UseG1GC");
        command.add("-Djava.awt.headless=true");
        command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        command.add("-cp");
        command.add(KafkaClasspath.resolve());
        return command;
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + config.startupTimeout().toNanos();
        Properties admin = adminProperties();
        admin.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        admin.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        try {
            // The admin client only once the port accepts: created earlier, its metadata fetches to the
            // bootstrap node log "Connection to node -1 ... could not be established" until the broker listens.
            while (!portOpen(brokerPort)) {
                requireAlive();
                if (System.nanoTime() > deadline) {
                    break;
                }
                sleep(Duration.ofMillis(100));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for Kafka", e);
        }
        try (Admin client = Admin.create(admin)) {
            while (System.nanoTime() < deadline) {
                requireAlive();
                try {
                    client.describeCluster().nodes().get(3, TimeUnit.SECONDS);
                    createAcls(client);
                    LOG.info("Kafka broker ready at {} (data in {})", bootstrapServers(), config.dataDir());
                    return;
                } catch (ExecutionException | TimeoutException notYet) {
                    sleep(Duration.ofMillis(200));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for Kafka", e);
        }
        kill();
        throw new IllegalStateException("Kafka broker not ready within " + config.startupTimeout() + ":\n"
                + tail(logFile));
    }

    private void requireAlive() {
        if (!process.isAlive()) {
            throw new IllegalStateException("Kafka broker exited with code " + process.exitValue()
                    + " during start-up:\n" + tail(logFile));
        }
    }

    private void createAcls(Admin client) throws InterruptedException {
        KafkaSecurity security = config.security();
        if (security == null || security.acls().isEmpty()) {
            return;
        }
        try {
            client.createAcls(security.acls()).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not create the ACLs on " + bootstrapServers() + ": " + e, e);
        }
    }

    private static boolean portOpen(int port) {
        try (var socket = new Socket()) {
            socket.connect(new InetSocketAddress(HOST, port), 200);
            return true;
        } catch (IOException closed) {
            return false;
        }
    }

    /**
     * Client properties that reach this broker: the bootstrap servers and, for a secured broker,
     * SASL_SSL as its admin user (a super user).
     */
    public Properties adminProperties() {
        Properties properties = new Properties();
        properties.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        if (config.security() != null) {
            properties.putAll(config.security().adminClientProperties());
        }
        return properties;
    }

    /** The users and TLS files of a secured broker; empty for a plain one. */
    public Optional<KafkaSecurity> security() {
        return Optional.ofNullable(config.security());
    }

    private static void sleep(Duration duration) throws InterruptedException {
        Thread.sleep(duration.toMillis());
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port on " + HOST, e);
        }
    }

    private static void requireFree(int port, String role) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName(HOST))) {
            socket.setReuseAddress(true);
        } catch (IOException e) {
            throw new IllegalStateException("port " + port + " for the Kafka " + role + " on " + HOST
                    + " is taken; choose another port (e.g. --port-base)", e);
        }
    }

    private static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return lines.subList(Math.max(0, lines.size() - 30), lines.size()).stream()
                    .collect(Collectors.joining("\n"));
        } catch (IOException e) {
            return "(no log at " + file + ")";
        }
    }

    /** Convenience for callers that only need the names of the topics that exist. */
    public Set<String> listTopics() {
        try (Admin admin = Admin.create(adminProperties())) {
            return admin.listTopics().names().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while listing topics", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not list topics at " + bootstrapServers(), e);
        }
    }
}
