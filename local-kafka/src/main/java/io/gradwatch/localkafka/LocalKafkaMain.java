package io.gradwatch.localkafka;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Runs a {@link LocalKafka} in the foreground until Ctrl-C: {@code ./gradwatch kafka}.
 *
 * <p>Usage: {@code LocalKafkaMain DATA_DIR BROKER_PORT CONTROLLER_PORT PARTITIONS TOPIC...}
 */
public final class LocalKafkaMain {
    private LocalKafkaMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length < 4) {
            System.err.println("usage: LocalKafkaMain DATA_DIR BROKER_PORT CONTROLLER_PORT PARTITIONS [TOPIC...]");
            System.exit(2);
        }
        LocalKafkaConfig config;
        int partitions;
        try {
            config = LocalKafkaConfig.defaults(Path.of(args[0]))
                    .withPorts(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
            partitions = Integer.parseInt(args[3]);
        } catch (IllegalArgumentException e) {
            System.err.println("gradwatch kafka: " + e.getMessage());
            System.exit(2);
            return;
        }
        List<String> topics = List.of(args).subList(4, args.length);
        LocalKafka kafka;
        try {
            kafka = LocalKafka.start(config);
            kafka.createTopics(topics, partitions);
        } catch (IllegalStateException e) {
            System.err.println("gradwatch kafka: " + e.getMessage());
            System.exit(1);
            return;
        }
        System.out.println("Kafka (KRaft, single node) ready at " + kafka.bootstrapServers()
                + "; topics: " + String.join(", ", kafka.listTopics()));
        System.out.println("Broker log: " + kafka.logFile() + ". Ctrl-C stops it.");
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            kafka.stop();
            stopped.countDown();
        }, "local-kafka-stop"));
        stopped.await();
    }
}
