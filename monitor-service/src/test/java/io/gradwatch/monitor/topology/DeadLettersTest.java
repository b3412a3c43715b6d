package io.gradwatch.monitor.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.Topics;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

class DeadLettersTest {
    private static final int MAX = DeadLetters.DEFAULT_MAX_REQUEST_SIZE;

    @Test
    void aValueThatFitsBesideItsHeadersIsKeptWhole() {
        byte[] value = new byte[10_000];
        ProducerRecord<byte[], byte[]> letter = letter(bytes("run"), value, malformed("short"));
        assertThat(letter.value()).isSameAs(value);
        assertThat(letter.headers().lastHeader(DeadLetters.HEADER_REFERENCE)).isNull();
        assertThat(size(letter)).isLessThanOrEqualTo(MAX);
    }

    @Test
    void aValueTooLargeToFitBecomesAReferenceWithPrefixSizeAndDigest() throws Exception {
        byte[] value = new byte[MAX - 1];
        Arrays.fill(value, (byte) 7);
        ProducerRecord<byte[], byte[]> letter = letter(bytes("run"), value, malformed("bad"));
        assertThat(letter.value()).hasSize(DeadLetters.PREFIX_LIMIT);
        assertThat(header(letter, DeadLetters.HEADER_REFERENCE)).isEqualTo("true");
        assertThat(header(letter, DeadLetters.HEADER_VALUE_SIZE)).isEqualTo(Integer.toString(MAX - 1));
        assertThat(header(letter, DeadLetters.HEADER_VALUE_SHA256))
                .isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value)));
        assertThat(header(letter, DeadLetters.HEADER_OFFSET)).isEqualTo("42");
        assertThat(header(letter, DeadLetters.HEADER_REASON)).isEqualTo("SHAPE_DATA_MISMATCH");
        assertThat(size(letter)).isLessThanOrEqualTo(MAX);
    }

    @Test
    void theLargestValueKeptWholeAndTheSmallestReferencedMeetAtTheBudget() {
        MalformedRecordException error = malformed("x");
        int whole = 0;
        for (int length = MAX - 4_000; length < MAX; length++) {
            if (letter(bytes("run"), new byte[length], error).headers().lastHeader(DeadLetters.HEADER_REFERENCE) != null) {
                whole = length - 1;
                break;
            }
        }
        assertThat(whole).isPositive();
        ProducerRecord<byte[], byte[]> largest = letter(bytes("run"), new byte[whole], error);
        assertThat(largest.value()).hasSize(whole);
        assertThat(size(largest)).isLessThanOrEqualTo(MAX);
        assertThat(letter(bytes("run"), new byte[whole + 1], error).value()).hasSize(DeadLetters.PREFIX_LIMIT);
    }

    @Test
    void aHugeErrorTextIsCutOnACharacterBoundary() {
        String text = "\u00e9".repeat(2_000_000);
        ProducerRecord<byte[], byte[]> letter = letter(bytes("run"), new byte[100], new IllegalStateException(text));
        byte[] error = letter.headers().lastHeader(DeadLetters.HEADER_ERROR).value();
        assertThat(error.length).isLessThanOrEqualTo(DeadLetters.ERROR_LIMIT).isGreaterThan(DeadLetters.ERROR_LIMIT - 2);
        assertThat(new String(error, StandardCharsets.UTF_8)).matches("\u00e9+");
        assertThat(header(letter, DeadLetters.HEADER_REASON)).isEqualTo("IllegalStateException");
    }

    @Test
    void aHugeKeyIsCutAndDigestedAndANullValueStaysNull() {
        byte[] key = new byte[600_000];
        ProducerRecord<byte[], byte[]> letter = letter(key, null, malformed("k"));
        assertThat(letter.key()).hasSize(DeadLetters.PREFIX_LIMIT);
        assertThat(letter.value()).isNull();
        assertThat(header(letter, DeadLetters.HEADER_KEY_SIZE)).isEqualTo("600000");
        assertThat(size(letter)).isLessThanOrEqualTo(MAX);
    }

    @Test
    void theBudgetFollowsTheProducersMaxRequestSize() {
        assertThat(DeadLetters.maxRequestSize(Map.of())).isEqualTo(MAX);
        assertThat(DeadLetters.maxRequestSize(Map.of("max.request.size", "2000000"))).isEqualTo(2_000_000);
        assertThat(DeadLetters.maxRequestSize(Map.of("producer.max.request.size", "300000",
                "max.request.size", "2000000"))).isEqualTo(300_000);
        assertThat(letter(bytes("run"), new byte[299_000], malformed("x"), 300_000).value()).hasSize(
                DeadLetters.PREFIX_LIMIT);
    }

    @Test
    void aSendThatCannotSucceedIsSkippedAndCountedAndATransientOneRetried() {
        List<String> skipped = new ArrayList<>();
        DeadLetters.OnProduction handler = new DeadLetters.OnProduction();
        handler.configure(Map.of(DeadLetters.EVENTS_CONFIG, new MonitorEvents() {
            @Override
            public void skipped(String topic, String reason) {
                skipped.add(topic + ":" + reason);
            }
        }));
        ProducerRecord<byte[], byte[]> letter = new ProducerRecord<>(Topics.DLQ, new byte[1]);
        assertThat(handler.handleError(context(), letter, new RecordTooLargeException("too large")).result())
                .isEqualTo(ProductionExceptionHandler.Result.RESUME);
        assertThat(handler.handleError(context(), letter, new TimeoutException("slow broker")).result())
                .isEqualTo(ProductionExceptionHandler.Result.RETRY);
        assertThat(skipped).containsExactly(Topics.DLQ + ":RecordTooLargeException");
    }

    private static ErrorHandlerContext context() {
        return new ErrorHandlerContext() {
            @Override
            public String topic() {
                return Topics.GRADIENTS;
            }

            @Override
            public int partition() {
                return 1;
            }

            @Override
            public long offset() {
                return 99;
            }

            @Override
            public Headers headers() {
                return new RecordHeaders();
            }

            @Override
            public String processorNodeId() {
                return "analyse-layers";
            }

            @Override
            public TaskId taskId() {
                return new TaskId(0, 1);
            }

            @Override
            public long timestamp() {
                return 0;
            }

            @Override
            public byte[] sourceRawKey() {
                return null;
            }

            @Override
            public byte[] sourceRawValue() {
                return null;
            }
        };
    }

    private static ProducerRecord<byte[], byte[]> letter(byte[] key, byte[] value, Exception error) {
        return letter(key, value, error, MAX);
    }

    private static ProducerRecord<byte[], byte[]> letter(byte[] key, byte[] value, Exception error, int max) {
        return DeadLetters.deadLetter(Topics.GRADIENTS, 3, 42, key, value, error, max);
    }

    private static MalformedRecordException malformed(String detail) {
        return new MalformedRecordException(MalformedRecordException.Reason.SHAPE_DATA_MISMATCH, detail);
    }

    /** An upper bound of what the producer counts against max.request.size (batch and record overhead). */
    private static int size(ProducerRecord<byte[], byte[]> letter) {
        int total = 61 + 21 + (letter.key() == null ? 0 : letter.key().length)
                + (letter.value() == null ? 0 : letter.value().length);
        for (Header header : letter.headers()) {
            total += 10 + header.key().length() + header.value().length;
        }
        return total;
    }

    private static String header(ProducerRecord<byte[], byte[]> letter, String name) {
        return new String(letter.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
