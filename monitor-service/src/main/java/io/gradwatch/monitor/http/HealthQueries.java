package io.gradwatch.monitor.http;

import com.fasterxml.jackson.core.type.TypeReference;
import io.gradwatch.common.http.HttpError;
import io.gradwatch.common.http.Json;
import io.gradwatch.monitor.analysis.AlertMachine;
import io.gradwatch.monitor.topology.MonitorTopology;
import io.gradwatch.monitor.topology.RunInfo;
import io.gradwatch.monitor.topology.StoreKeys;
import io.gradwatch.protocol.RecordViews;
import io.gradwatch.protocol.v1.LayerHealth;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsMetadata;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * Interactive queries over the monitor's state stores. A run's state lives on the instance that
 * owns its partition: a query for it is answered locally or forwarded to that instance's HTTP
 * server ({@code application.server}); the run list is gathered from every instance.
 */
public final class HealthQueries {
    private static final StringSerializer KEYS = new StringSerializer();
    private final KafkaStreams streams;
    private final HostInfo self;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final String authorization;

    /**
     * @param authorization the header value this instance sends to its peers (null without auth)
     */
    public HealthQueries(KafkaStreams streams, HostInfo self, String authorization) {
        this.streams = streams;
        this.self = self;
        this.authorization = authorization;
    }

    /** Runs known to this instance only. */
    public List<Map<String, Object>> localRuns() {
        List<Map<String, Object>> runs = new ArrayList<>();
        scan(MonitorTopology.RUNS_STORE, ReadOnlyKeyValueStore::all, entry -> {
            RunInfo info = (RunInfo) entry.value;
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("run", entry.key);
            run.put("lastStep", info.lastStep());
            run.put("lastSeenMs", info.lastSeenMs());
            run.put("closedLoop", info.closedLoop());
            runs.add(run);
        });
        return runs;
    }

    /** Runs known to any instance. */
    public List<Map<String, Object>> allRuns() {
        List<Map<String, Object>> runs = new ArrayList<>(localRuns());
        for (StreamsMetadata instance : streams.streamsMetadataForStore(MonitorTopology.RUNS_STORE)) {
            if (!instance.hostInfo().equals(self)) {
                runs.addAll(fetch(instance.hostInfo(), "/runs?scope=local", new TypeReference<>() { }));
            }
        }
        return runs;
    }

    /** The current health of a run: every layer's latest step and the alerts firing now. */
    public Map<String, Object> runHealth(String runId) {
        KeyQueryMetadata owner = streams.queryMetadataForKey(MonitorTopology.LATEST_STORE, runId, KEYS);
        if (owner == null || owner.equals(KeyQueryMetadata.NOT_AVAILABLE)) {
            throw new HttpError(503, "state is not available yet (rebalancing); retry shortly");
        }
        if (!owner.activeHost().equals(self)) {
            return fetch(owner.activeHost(), "/runs/" + URLEncoder.encode(runId, StandardCharsets.UTF_8) + "/health",
                    new TypeReference<>() { });
        }
        List<Map<String, Object>> layers = new ArrayList<>();
        scan(MonitorTopology.LATEST_STORE, store -> store.prefixScan(StoreKeys.runPrefix(runId), KEYS),
                entry -> layers.add(RecordViews.layerHealth((LayerHealth) entry.value)));
        if (layers.isEmpty()) {
            throw HttpError.notFound("no health recorded for run '" + runId + "'");
        }
        List<Map<String, Object>> firing = new ArrayList<>();
        scan(MonitorTopology.ALERT_STORE, store -> store.prefixScan(StoreKeys.runPrefix(runId), KEYS), entry -> {
            if (((AlertMachine.State) entry.value).firing()) {
                String[] parts = StoreKeys.alertParts(entry.key);
                firing.add(Map.of("layer", Integer.parseInt(parts[0]), "type", parts[1]));
            }
        });
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("run", runId);
        result.put("lastStep", layers.stream().mapToLong(l -> (Long) l.get("step")).max().orElse(-1));
        result.put("layers", layers);
        result.put("activeAlerts", firing);
        return result;
    }

    /**
     * Reads entries of a store. The store can migrate or close while it is read (a rebalance, a
     * thread that died): its iterator then throws InvalidStateStoreException, which is a 503 and a
     * retry, not a server error.
     */
    private void scan(String name, Function<ReadOnlyKeyValueStore<String, Object>, KeyValueIterator<String, Object>> open,
                      Consumer<KeyValue<String, Object>> each) {
        // Values are the stores' typed values (StateSerdes): RunInfo, LayerHealth, AlertMachine.State.
        try (KeyValueIterator<String, Object> iterator = open.apply(store(name))) {
            iterator.forEachRemaining(each);
        } catch (InvalidStateStoreException e) {
            throw new HttpError(503, "state store " + name + " is not queryable now (" + streams.state()
                    + ", rebalancing?); retry shortly");
        }
    }

    private ReadOnlyKeyValueStore<String, Object> store(String name) {
        try {
            return streams.store(StoreQueryParameters.fromNameAndType(name, QueryableStoreTypes.keyValueStore()));
        } catch (RuntimeException e) {
            throw new HttpError(503, "state store " + name + " is not queryable yet (" + streams.state() + ")");
        }
    }

    private <T> T fetch(HostInfo host, String path, TypeReference<T> type) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://" + host.host() + ":" + host.port()
                + path)).timeout(Duration.ofSeconds(5));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        try {
            HttpResponse<byte[]> response = client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() != 200) {
                throw new HttpError(response.statusCode(), "instance " + host + " answered " + response.statusCode());
            }
            return Json.MAPPER.readValue(response.body(), type);
        } catch (IOException e) {
            throw new HttpError(502, "instance " + host + " that owns this run did not answer: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpError(503, "interrupted");
        }
    }
}
