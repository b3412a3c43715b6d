package io.gradwatch.trainer.publish;

import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.GradientSummary;
import io.gradwatch.protocol.v1.TensorRecord;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes steps to {@code gradwatch.gradients} (or, for {@link PublishMode#SUMMARIES}, one
 * reduction per layer to {@code gradwatch.summaries}) and {@code gradwatch.steps} from its own thread.
 * The training thread only puts a snapshot into a bounded queue; encoding and sending happen
 * here, so a slow or absent broker costs training nothing but the dropped steps, which are counted.
 */
public final class KafkaGradientPublisher implements GradientPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaGradientPublisher.class);
    private static final StepSnapshot POISON = new StepSnapshot("", -1, 0, 0, List.of(), null);

    private final Producer<String, byte[]> producer;
    private final TensorRecordFactory factory;
    private final SummaryRecordFactory summaries = new SummaryRecordFactory();
    private final PublishMode mode;
    private final BlockingQueue<StepSnapshot> queue;
    private final Thread sender;
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final Callback onAck = (metadata, exception) -> {
        if (exception == null) {
            sent.incrementAndGet();
        } else {
            failed.incrementAndGet();
        }
    };
    private volatile boolean closed;
    private KafkaClientMetrics clientMetrics;

    /**
     * @param producer a producer of raw bytes (see {@link #producerProperties})
     * @param dtype encoding of tensor data on the wire
     * @param queueCapacity steps that may wait for the broker before new ones are dropped
     */
    public KafkaGradientPublisher(Producer<String, byte[]> producer, DType dtype, int queueCapacity) {
        this(producer, dtype, queueCapacity, PublishMode.TENSORS);
    }

    /** @param mode tensors on gradwatch.gradients, or summaries on gradwatch.summaries */
    public KafkaGradientPublisher(Producer<String, byte[]> producer, DType dtype, int queueCapacity,
                                  PublishMode mode) {
        this.producer = producer;
        this.mode = mode;
        this.factory = new TensorRecordFactory(dtype);
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.sender = new Thread(this::sendLoop, "gradwatch-publisher");
        this.sender.setDaemon(true);
        this.sender.start();
    }

    public static KafkaGradientPublisher create(Properties kafka, DType dtype, int queueCapacity) {
        return create(kafka, dtype, queueCapacity, PublishMode.TENSORS);
    }

    public static KafkaGradientPublisher create(Properties kafka, DType dtype, int queueCapacity, PublishMode mode) {
        return new KafkaGradientPublisher(
                new KafkaProducer<>(producerProperties(kafka), new StringSerializer(), new ByteArraySerializer()),
                dtype, queueCapacity, mode);
    }

    /** Exposes the producer's own metrics (kafka_producer_*) on {@code registry} until the publisher is closed. */
    public synchronized void bindMetrics(MeterRegistry registry) {
        if (clientMetrics == null) {
            clientMetrics = new KafkaClientMetrics(producer);
        }
        clientMetrics.bindTo(registry);
    }

    /** Producer settings for gradient traffic on top of the user's client properties. */
    public static Properties producerProperties(Properties kafka) {
        Properties properties = new Properties();
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        properties.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        properties.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
        properties.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Long.toString(64L * 1024 * 1024));
        // Only the sender thread ever waits on the broker; bound it so shutdown is never stuck.
        properties.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        properties.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
        properties.put(ProducerConfig.CLIENT_ID_CONFIG, "gradwatch-trainer");
        properties.putAll(kafka);
        return properties;
    }

    @Override
    public boolean offer(StepSnapshot snapshot) {
        if (closed || !queue.offer(snapshot)) {
            dropped.addAndGet(snapshot.recordCount());
            return false;
        }
        return true;
    }

    @Override
    public PublishStats stats() {
        return new PublishStats(sent.get(), dropped.get(), failed.get(), queue.size());
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            queue.put(POISON);
            sender.join(Duration.ofSeconds(30).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(Duration.ofSeconds(10));
        synchronized (this) {
            if (clientMetrics != null) {
                clientMetrics.close();
            }
        }
        PublishStats stats = stats();
        LOG.info("publisher closed: {} records sent, {} dropped, {} failed", stats.sentRecords(),
                stats.droppedRecords(), stats.failedRecords());
    }

    private void sendLoop() {
        while (true) {
            StepSnapshot snapshot;
            try {
                snapshot = queue.poll(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (snapshot == POISON) {
                producer.flush();
                return;
            }
            if (snapshot != null) {
                send(snapshot);
            }
        }
    }

    private void send(StepSnapshot snapshot) {
        if (mode == PublishMode.SUMMARIES) {
            for (GradientSummary summary : summaries.summaries(snapshot)) {
                send(Topics.SUMMARIES, snapshot.runId(), summary.toByteArray());
            }
        } else {
            for (TensorRecord record : factory.records(snapshot)) {
                send(Topics.GRADIENTS, snapshot.runId(), record.toByteArray());
            }
        }
        send(Topics.STEPS, snapshot.runId(), snapshot.stepRecord().toByteArray());
    }

    private void send(String topic, String key, byte[] value) {
        try {
            producer.send(new ProducerRecord<>(topic, key, value), onAck);
        } catch (KafkaException e) {
            // Metadata unavailable for max.block.ms or the buffer full: the broker is down or far behind.
            failed.incrementAndGet();
            LOG.debug("record to {} not sent: {}", topic, e.toString());
        }
    }
}
