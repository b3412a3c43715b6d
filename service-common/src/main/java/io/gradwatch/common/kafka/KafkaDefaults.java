package io.gradwatch.common.kafka;

/** Kafka settings every gradwatch process defaults to the same way. */
public final class KafkaDefaults {
    /** The broker of the local stack ({@code ./gradwatch up}, {@code ./gradwatch kafka}). */
    public static final String LOCAL_BOOTSTRAP_SERVERS = "127.0.0.1:9092";

    private KafkaDefaults() {
    }
}
