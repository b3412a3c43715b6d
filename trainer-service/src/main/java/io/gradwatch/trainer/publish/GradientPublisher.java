package io.gradwatch.trainer.publish;

/**
 * Where a training loop hands each step's tensors. {@link #offer} never blocks: training must go
 * on when Kafka is slow or down, so a step that does not fit is dropped and counted.
 */
public interface GradientPublisher extends AutoCloseable {

    /** Hands a step over; false when it was dropped because the buffer is full. */
    boolean offer(StepSnapshot snapshot);

    PublishStats stats();

    /** Sends what is buffered (bounded wait), then releases the connection. */
    @Override
    void close();

    /** For offline runs ({@code --no-kafka}): accepts and discards. */
    static GradientPublisher offline() {
        return new GradientPublisher() {
            @Override
            public boolean offer(StepSnapshot snapshot) {
                return true;
            }

            @Override
            public PublishStats stats() {
                return new PublishStats(0, 0, 0, 0);
            }

            @Override
            public void close() {
            }
        };
    }
}
