package io.gradwatch.monitor.http;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradwatch.common.http.HttpError;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store that goes away while it is read (a rebalance migrates it, its thread dies) throws
 * InvalidStateStoreException from its iterator, after {@code streams.store(...)} succeeded: that is
 * a 503 and a retry, not a 500. The KafkaStreams here is never started; only its store lookups are
 * replaced.
 */
class HealthQueriesTest {
    private static final HostInfo SELF = new HostInfo("127.0.0.1", 8080);

    @Test
    void aStoreThatMigratesDuringTheScanIsA503ForRunsAndRunHealth(@TempDir Path state) {
        try (KafkaStreams streams = new MigratingStreams(state)) {
            HealthQueries queries = new HealthQueries(streams, SELF, null);
            assertThatThrownBy(queries::localRuns).isInstanceOfSatisfying(HttpError.class,
                    e -> org.assertj.core.api.Assertions.assertThat(e.status()).isEqualTo(503));
            assertThatThrownBy(() -> queries.runHealth("run-a")).isInstanceOfSatisfying(HttpError.class,
                    e -> org.assertj.core.api.Assertions.assertThat(e.status()).isEqualTo(503))
                    .hasMessageContaining("retry");
        }
    }

    /** A KafkaStreams whose stores are found, then throw as soon as they are read. */
    private static final class MigratingStreams extends KafkaStreams {
        MigratingStreams(Path state) {
            super(topology(), properties(state));
        }

        private static org.apache.kafka.streams.Topology topology() {
            StreamsBuilder builder = new StreamsBuilder();
            builder.stream("in");
            return builder.build();
        }

        private static Properties properties(Path state) {
            Properties properties = new Properties();
            properties.put(StreamsConfig.APPLICATION_ID_CONFIG, "health-queries-test");
            properties.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1");
            properties.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
            return properties;
        }

        @Override
        public <K> KeyQueryMetadata queryMetadataForKey(String storeName, K key, Serializer<K> keySerializer) {
            return new KeyQueryMetadata(SELF, Set.of(), 0);
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T store(StoreQueryParameters<T> parameters) {
            return (T) new ReadOnlyKeyValueStore<String, byte[]>() {
                @Override
                public byte[] get(String key) {
                    throw migrated();
                }

                @Override
                public KeyValueIterator<String, byte[]> range(String from, String to) {
                    return failing();
                }

                @Override
                public KeyValueIterator<String, byte[]> all() {
                    return failing();
                }

                @Override
                public <PS extends Serializer<P>, P> KeyValueIterator<String, byte[]> prefixScan(P prefix, PS serializer) {
                    return failing();
                }

                @Override
                public long approximateNumEntries() {
                    return 0;
                }
            };
        }

        private static KeyValueIterator<String, byte[]> failing() {
            return new KeyValueIterator<>() {
                @Override
                public void close() {
                }

                @Override
                public String peekNextKey() {
                    throw migrated();
                }

                @Override
                public boolean hasNext() {
                    throw migrated();
                }

                @Override
                public KeyValue<String, byte[]> next() {
                    throw migrated();
                }
            };
        }

        private static InvalidStateStoreException migrated() {
            return new InvalidStateStoreException("the state store, latest-health, may have migrated to another instance");
        }
    }
}
