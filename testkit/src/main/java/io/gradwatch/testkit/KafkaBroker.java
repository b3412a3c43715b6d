package io.gradwatch.testkit;

import io.gradwatch.localkafka.LocalKafka;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * The real Kafka broker an integration test talks to, however it was obtained (see
 * {@link KafkaBrokerExtension}). Tests create their own uniquely named topics so they never see
 * each other's records on the shared broker.
 */
public final class KafkaBroker {

    /** Where the broker came from. */
    public enum Source {
        /** {@code GRADWATCH_TEST_BOOTSTRAP} named an existing broker. */
        EXTERNAL,
        /** Testcontainers started the apache/kafka image on a Docker engine. */
        TESTCONTAINERS,
        /** A KRaft broker from Kafka's own jars, as a child process of the test JVM. */
        LOCAL_PROCESS
    }

    private final String bootstrapServers;
    private final Source source;
    private final LocalKafka localKafka;

    KafkaBroker(String bootstrapServers, Source source, LocalKafka localKafka) {
        this.bootstrapServers = bootstrapServers;
        this.source = source;
        this.localKafka = localKafka;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public Source source() {
        return source;
    }

    /** The child-process broker, for fault-injection tests (kill, restart); empty for other sources. */
    public Optional<LocalKafka> localKafka() {
        return Optional.ofNullable(localKafka);
    }

    /** A topic name no other test uses: {@code prefix.<random>}. */
    public static String uniqueTopic(String prefix) {
        return prefix + "." + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Client properties that reach this broker; add serdes, group ids and the like. */
    public Properties clientProperties() {
        Properties properties = new Properties();
        properties.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return properties;
    }

    public void createTopics(Collection<String> names, int partitions) {
        try (Admin admin = Admin.create(clientProperties())) {
            admin.createTopics(names.stream().map(name -> new NewTopic(name, partitions, (short) 1)).toList())
                    .all().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not create topics " + names + " on " + bootstrapServers, e);
        }
    }

    /**
     * Creates those of {@code names} that are not there yet; ones already there stay as they are. For
     * the shared topics (such as {@code Topics.ALL}) that any test class of the JVM may have created first.
     */
    public void ensureTopics(Collection<String> names, int partitions) {
        try (Admin admin = Admin.create(clientProperties())) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = names.stream().filter(name -> !existing.contains(name))
                    .map(name -> new NewTopic(name, partitions, (short) 1)).toList();
            for (var created : admin.createTopics(missing).values().values()) {
                awaitCreated(created);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not create topics " + names + " on " + bootstrapServers, e);
        }
    }

    /** A topic another test class created meanwhile is there all the same. */
    private static void awaitCreated(KafkaFuture<Void> created)
            throws InterruptedException, ExecutionException, TimeoutException {
        try {
            created.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw e;
            }
        }
    }

    /**
     * Deletes every record now on {@code topics} (which must exist). The broker is shared by the test
     * classes of a JVM, and a new Kafka Streams application reads its input from the earliest offset:
     * a test that counts what its application saw empties the shared topics first.
     */
    public void deleteAllRecords(Collection<String> topics) {
        try (Admin admin = Admin.create(clientProperties())) {
            Map<TopicPartition, RecordsToDelete> everything = new HashMap<>();
            admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS).forEach((topic, description) ->
                    description.partitions().forEach(partition -> everything.put(
                            new TopicPartition(topic, partition.partition()), RecordsToDelete.beforeOffset(-1L))));
            admin.deleteRecords(everything).all().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not delete the records of " + topics + " on " + bootstrapServers, e);
        }
    }

    @Override
    public String toString() {
        return source + " broker at " + bootstrapServers;
    }
}
