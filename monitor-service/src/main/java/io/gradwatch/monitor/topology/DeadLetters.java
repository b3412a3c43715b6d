package io.gradwatch.monitor.topology;

import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.Topics;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka Streams' own exception handlers, set to route what cannot be processed to gradwatch.dlq
 * (the original bytes, with headers naming source topic, partition, offset and reason) and go
 * on. Bad input never stops the monitor.
 *
 * <p>A dead letter always fits in what the producer may send ({@code max.request.size}): the
 * error text is cut to {@link #ERROR_LIMIT} bytes, and when the original key and value do not fit
 * beside the headers, the letter is a reference instead (a prefix of the value, its size and
 * SHA-256, with {@link #HEADER_REFERENCE} set): the source topic, partition and offset still find
 * the original. A send that fails anyway is skipped by {@link OnProduction}, counted and logged,
 * so no record can stall its partition.
 */
public final class DeadLetters {
    public static final String EVENTS_CONFIG = "gradwatch.monitor.events";
    public static final String HEADER_TOPIC = "gradwatch.source.topic";
    public static final String HEADER_PARTITION = "gradwatch.source.partition";
    public static final String HEADER_OFFSET = "gradwatch.source.offset";
    public static final String HEADER_REASON = "gradwatch.reason";
    public static final String HEADER_ERROR = "gradwatch.error";
    /** "true" on a letter that holds a reference to the original, not the original itself. */
    public static final String HEADER_REFERENCE = "gradwatch.reference";
    public static final String HEADER_VALUE_SIZE = "gradwatch.value.size";
    public static final String HEADER_VALUE_SHA256 = "gradwatch.value.sha256";
    public static final String HEADER_KEY_SIZE = "gradwatch.key.size";
    public static final String HEADER_KEY_SHA256 = "gradwatch.key.sha256";
    /** Longest error text kept, in UTF-8 bytes. */
    public static final int ERROR_LIMIT = 1_024;
    /** Longest reason kept (an enum name or an exception's simple class name), in UTF-8 bytes. */
    static final int REASON_LIMIT = 128;
    /** Bytes of the original value (and of a key too long to keep) a reference keeps. */
    public static final int PREFIX_LIMIT = 4_096;
    /** Longest key kept whole; a longer one makes the letter a reference. */
    static final int KEY_LIMIT = 4_096;
    /**
     * Room left under max.request.size for what the producer adds: the batch header (61 bytes),
     * the record's own varints and attributes, and the header count and lengths. Generous on purpose.
     */
    static final int OVERHEAD = 1_024;
    static final int DEFAULT_MAX_REQUEST_SIZE = 1_048_576;
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetters.class);

    private DeadLetters() {
    }

    /** The reason a header and a counter give for an exception: typed when the protocol names it. */
    static String reason(Exception exception) {
        return exception instanceof MalformedRecordException malformed ? malformed.reason().name()
                : exception.getClass().getSimpleName();
    }

    /** A dead letter for {@code key}/{@code value} read at topic-partition@offset, at most {@code maxBytes}. */
    static ProducerRecord<byte[], byte[]> deadLetter(String topic, int partition, long offset, byte[] key,
                                                     byte[] value, Exception exception, int maxBytes) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(HEADER_TOPIC, bytes(topic));
        headers.add(HEADER_PARTITION, bytes(Integer.toString(partition)));
        headers.add(HEADER_OFFSET, bytes(Long.toString(offset)));
        headers.add(HEADER_REASON, cut(bytes(reason(exception)), REASON_LIMIT));
        headers.add(HEADER_ERROR, cut(bytes(String.valueOf(exception.getMessage())), ERROR_LIMIT));
        int budget = maxBytes - OVERHEAD;
        boolean fits = length(key) <= KEY_LIMIT && headerBytes(headers) + length(key) + length(value) <= budget;
        LOG.warn("{}-{}@{} to {}{}: {}", topic, partition, offset, Topics.DLQ, fits ? "" : " (as a reference)",
                new String(headers.lastHeader(HEADER_ERROR).value(), StandardCharsets.UTF_8));
        if (fits) {
            return new ProducerRecord<>(Topics.DLQ, null, key, value, headers);
        }
        headers.add(HEADER_REFERENCE, bytes("true"));
        if (value != null) {
            headers.add(HEADER_VALUE_SIZE, bytes(Integer.toString(value.length)));
            headers.add(HEADER_VALUE_SHA256, bytes(sha256(value)));
        }
        if (length(key) > KEY_LIMIT) {
            headers.add(HEADER_KEY_SIZE, bytes(Integer.toString(key.length)));
            headers.add(HEADER_KEY_SHA256, bytes(sha256(key)));
        }
        return new ProducerRecord<>(Topics.DLQ, null, prefix(key), prefix(value), headers);
    }

    /** The bytes a letter takes besides its key and value (names, values and their varints). */
    static int headerBytes(Iterable<Header> headers) {
        int total = 0;
        for (Header header : headers) {
            total += header.key().getBytes(StandardCharsets.UTF_8).length + length(header.value()) + 10;
        }
        return total;
    }

    private static int length(byte[] bytes) {
        return bytes == null ? 0 : bytes.length;
    }

    private static byte[] prefix(byte[] bytes) {
        return bytes == null || bytes.length <= PREFIX_LIMIT ? bytes : Arrays.copyOf(bytes, PREFIX_LIMIT);
    }

    /** The first {@code limit} bytes of UTF-8 text, not splitting a character. */
    static byte[] cut(byte[] utf8, int limit) {
        if (utf8.length <= limit) {
            return utf8;
        }
        int end = limit;
        while (end > 0 && (utf8[end] & 0xC0) == 0x80) {
            end--;
        }
        return Arrays.copyOf(utf8, end);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private static byte[] bytes(String text) {
        return text == null ? new byte[0] : text.getBytes(StandardCharsets.UTF_8);
    }

    private static MonitorEvents events(Map<String, ?> configs) {
        Object events = configs.get(EVENTS_CONFIG);
        return events instanceof MonitorEvents monitorEvents ? monitorEvents : MonitorEvents.NONE;
    }

    /** The producer's max.request.size as the streams config sets it (producer. prefix first). */
    static int maxRequestSize(Map<String, ?> configs) {
        for (String name : new String[] {StreamsConfig.PRODUCER_PREFIX + ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
            ProducerConfig.MAX_REQUEST_SIZE_CONFIG}) {
            Object value = configs.get(name);
            if (value != null) {
                return Integer.parseInt(value.toString().trim());
            }
        }
        return DEFAULT_MAX_REQUEST_SIZE;
    }

    /** Undecodable records: bad protobuf, bad shape, bad dtype, timesteps out of range, absurd sizes. */
    public static final class OnDeserialization implements DeserializationExceptionHandler {
        private MonitorEvents events = MonitorEvents.NONE;
        private int maxBytes = DEFAULT_MAX_REQUEST_SIZE;

        @Override
        public void configure(Map<String, ?> configs) {
            events = events(configs);
            maxBytes = maxRequestSize(configs);
        }

        @Override
        public Response handleError(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record,
                                    Exception exception) {
            ProducerRecord<byte[], byte[]> letter = deadLetter(context.topic(), context.partition(), context.offset(),
                    record.key(), record.value(), exception, maxBytes);
            events.deadLetter(reason(exception));
            return Response.resume(List.of(letter));
        }
    }

    /**
     * Records that decode but cannot be processed (keyed with another run than their own, a seq_len
     * that contradicts their step's, a tombstone). A failed punctuation has no record: it is logged
     * and counted, not dead-lettered.
     */
    public static final class OnProcessing implements ProcessingExceptionHandler {
        private MonitorEvents events = MonitorEvents.NONE;
        private int maxBytes = DEFAULT_MAX_REQUEST_SIZE;

        @Override
        public void configure(Map<String, ?> configs) {
            events = events(configs);
            maxBytes = maxRequestSize(configs);
        }

        @Override
        public Response handleError(ErrorHandlerContext context, Record<?, ?> record, Exception exception) {
            if (context.topic() == null) {
                // A punctuation failed: there is no input record to dead-letter, so log it and go on.
                LOG.error("punctuation of {} failed; it runs again at the next interval", context.processorNodeId(),
                        exception);
                events.punctuationFailed();
                return Response.resume();
            }
            ProducerRecord<byte[], byte[]> letter = deadLetter(context.topic(), context.partition(), context.offset(),
                    context.sourceRawKey(), context.sourceRawValue(), exception, maxBytes);
            events.deadLetter(reason(exception));
            return Response.resume(List.of(letter));
        }
    }

    /**
     * A record the producer could not send (a dead letter the broker refused, a result record too
     * large): retried when the error is transient, else skipped with a counter and a log line naming
     * the input record, so the stream thread lives and its partition moves on. Kafka Streams' default
     * fails instead, and the replaced thread then fails on the same record forever.
     */
    public static final class OnProduction implements ProductionExceptionHandler {
        private MonitorEvents events = MonitorEvents.NONE;

        @Override
        public void configure(Map<String, ?> configs) {
            events = events(configs);
        }

        @Override
        public Response handleError(ErrorHandlerContext context, ProducerRecord<byte[], byte[]> record,
                                    Exception exception) {
            if (exception instanceof RetriableException) {
                return Response.retry();
            }
            skipped(context, record, exception);
            return Response.resume();
        }

        @Override
        public Response handleSerializationError(ErrorHandlerContext context, ProducerRecord record,
                                                 Exception exception, SerializationExceptionOrigin origin) {
            skipped(context, record, exception);
            return Response.resume();
        }

        private void skipped(ErrorHandlerContext context, ProducerRecord<?, ?> record, Exception exception) {
            String reason = exception.getClass().getSimpleName();
            LOG.error("skipped {}-{}@{}: its output to {} could not be sent ({})", context.topic(),
                    context.partition(), context.offset(), record.topic(), exception.toString());
            events.skipped(record.topic(), reason);
        }
    }
}
