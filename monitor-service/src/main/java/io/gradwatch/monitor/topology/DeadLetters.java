package io.gradwatch.monitor.topology;

import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.Topics;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka Streams' own exception handlers, set to route what cannot be processed to gradwatch.dlq
 * (the original bytes, with headers naming source topic, partition, offset and reason) and go
 * on. Bad input never stops the monitor.
 */
public final class DeadLetters {
    public static final String EVENTS_CONFIG = "gradwatch.monitor.events";
    public static final String HEADER_TOPIC = "gradwatch.source.topic";
    public static final String HEADER_PARTITION = "gradwatch.source.partition";
    public static final String HEADER_OFFSET = "gradwatch.source.offset";
    public static final String HEADER_REASON = "gradwatch.reason";
    public static final String HEADER_ERROR = "gradwatch.error";
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetters.class);

    private DeadLetters() {
    }

    static ProducerRecord<byte[], byte[]> deadLetter(ErrorHandlerContext context, byte[] key, byte[] value,
                                                     Exception exception) {
        String reason = exception instanceof MalformedRecordException malformed ? malformed.reason().name()
                : exception.getClass().getSimpleName();
        RecordHeaders headers = new RecordHeaders();
        headers.add(HEADER_TOPIC, bytes(context.topic()));
        headers.add(HEADER_PARTITION, bytes(Integer.toString(context.partition())));
        headers.add(HEADER_OFFSET, bytes(Long.toString(context.offset())));
        headers.add(HEADER_REASON, bytes(reason));
        headers.add(HEADER_ERROR, bytes(String.valueOf(exception.getMessage())));
        LOG.warn("{}-{}@{} to {}: {}", context.topic(), context.partition(), context.offset(), Topics.DLQ,
                exception.getMessage());
        return new ProducerRecord<>(Topics.DLQ, null, key, value, headers);
    }

    private static byte[] bytes(String text) {
        return text == null ? new byte[0] : text.getBytes(StandardCharsets.UTF_8);
    }

    private static MonitorEvents events(Map<String, ?> configs) {
        Object events = configs.get(EVENTS_CONFIG);
        return events instanceof MonitorEvents monitorEvents ? monitorEvents : MonitorEvents.NONE;
    }

    /** Undecodable records: bad protobuf, bad shape, bad dtype, timesteps out of range, absurd sizes. */
    public static final class OnDeserialization implements DeserializationExceptionHandler {
        private MonitorEvents events = MonitorEvents.NONE;

        @Override
        public void configure(Map<String, ?> configs) {
            events = events(configs);
        }

        @Override
        public Response handleError(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record,
                                    Exception exception) {
            ProducerRecord<byte[], byte[]> letter = deadLetter(context, record.key(), record.value(), exception);
            events.deadLetter(new String(letter.headers().lastHeader(HEADER_REASON).value(), StandardCharsets.UTF_8));
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

        @Override
        public void configure(Map<String, ?> configs) {
            events = events(configs);
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
            ProducerRecord<byte[], byte[]> letter = deadLetter(context, context.sourceRawKey(),
                    context.sourceRawValue(), exception);
            events.deadLetter(new String(letter.headers().lastHeader(HEADER_REASON).value(), StandardCharsets.UTF_8));
            return Response.resume(List.of(letter));
        }
    }
}
