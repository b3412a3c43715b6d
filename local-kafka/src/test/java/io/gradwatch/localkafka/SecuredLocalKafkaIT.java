package io.gradwatch.localkafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The secured broker: SASL_SSL with SCRAM-SHA-512 users from format time, a keytool-made CA, and ACLs. */
class SecuredLocalKafkaIT {

    @Test
    void aUserWithTheRightPasswordAndAclsProducesAndConsumesAndAWrongPasswordPlaintextOrNoAclIsRefused(
            @TempDir Path dir) throws Exception {
        TlsFiles tls = TlsFiles.generate(dir.resolve("tls"), "store-pass-1", 2);
        KafkaSecurity security = new KafkaSecurity(tls, "admin", "admin-pass-1",
                Map.of("alice", "alice-pass-1", "bob", "bob-pass-1")).withAcls(List.of(
                        allow("alice", ResourceType.TOPIC, "secured.topic", AclOperation.WRITE),
                        allow("alice", ResourceType.TOPIC, "secured.topic", AclOperation.READ),
                        allow("alice", ResourceType.GROUP, "secured-it", AclOperation.READ)));
        try (LocalKafka kafka = LocalKafka.start(LocalKafkaConfig.defaults(dir.resolve("kafka")).secured(security))) {
            assertThat(kafka.security()).contains(security);
            kafka.createTopics(List.of("secured.topic"), 1);
            assertThat(kafka.listTopics()).contains("secured.topic");

            Properties alice = client(kafka, security.clientProperties("alice", "alice-pass-1"));
            try (var producer = new KafkaProducer<>(alice, new StringSerializer(), new StringSerializer())) {
                producer.send(new ProducerRecord<>("secured.topic", "k", "over TLS")).get(30, TimeUnit.SECONDS);
            }
            Properties consumerProperties = client(kafka, security.clientProperties("alice", "alice-pass-1"));
            consumerProperties.put(ConsumerConfig.GROUP_ID_CONFIG, "secured-it");
            consumerProperties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            try (var consumer = new KafkaConsumer<>(consumerProperties, new StringDeserializer(),
                    new StringDeserializer())) {
                consumer.subscribe(List.of("secured.topic"));
                String value = null;
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (value == null && System.nanoTime() < deadline) {
                    for (var record : consumer.poll(Duration.ofMillis(500))) {
                        value = record.value();
                    }
                }
                assertThat(value).isEqualTo("over TLS");
            }

            Properties bob = client(kafka, security.clientProperties("bob", "bob-pass-1"));
            bob.put("max.block.ms", "10000");
            try (var producer = new KafkaProducer<>(bob, new StringSerializer(), new StringSerializer())) {
                assertThatThrownBy(() -> producer.send(new ProducerRecord<>("secured.topic", "k", "no ACL"))
                        .get(30, TimeUnit.SECONDS))
                        .as("bob has no ACL").hasCauseInstanceOf(TopicAuthorizationException.class);
            }

            Properties wrong = client(kafka, security.clientProperties("alice", "not-her-password"));
            try (Admin admin = Admin.create(wrong)) {
                assertThatThrownBy(() -> admin.listTopics().names().get(20, TimeUnit.SECONDS))
                        .hasCauseInstanceOf(SaslAuthenticationException.class)
                        .hasMessageContaining("invalid credentials");
            }
            Properties plaintext = client(kafka, Map.of());
            try (Admin admin = Admin.create(plaintext)) {
                assertThatThrownBy(() -> admin.listTopics().names().get(5, TimeUnit.SECONDS))
                        .as("a PLAINTEXT client gets no answer from the SASL_SSL listener")
                        .isInstanceOfAny(java.util.concurrent.TimeoutException.class,
                                java.util.concurrent.ExecutionException.class);
            }
        }
    }

    @Test
    void namesAndPasswordsThatStorageToolCannotParseAreRejectedUpFront(@TempDir Path dir) {
        TlsFiles tls = new TlsFiles(dir.resolve("k"), dir.resolve("t"), dir.resolve("c"), "secret");
        assertThatThrownBy(() -> new KafkaSecurity(tls, "admin", "pa,ss]", Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("admin password");
        assertThat(new KafkaSecurity(tls, "admin", "pw-1", Map.of()).toString()).doesNotContain("pw-1");
        assertThat(tls.toString()).doesNotContain("secret");
    }

    private static AclBinding allow(String user, ResourceType type, String name, AclOperation operation) {
        return new AclBinding(new ResourcePattern(type, name, PatternType.LITERAL),
                new AccessControlEntry("User:" + user, "*", operation, AclPermissionType.ALLOW));
    }

    private static Properties client(LocalKafka kafka, Map<String, String> security) {
        Properties properties = new Properties();
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        properties.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        properties.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        properties.putAll(security);
        return properties;
    }
}
