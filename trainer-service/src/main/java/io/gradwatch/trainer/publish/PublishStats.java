package io.gradwatch.trainer.publish;

/**
 * What happened to the records handed to a publisher.
 *
 * @param sentRecords acknowledged by the broker
 * @param droppedRecords never sent because the buffer was full (Kafka slow or down)
 * @param failedRecords sent but not acknowledged before the delivery timeout
 * @param queuedSteps steps waiting in the buffer now
 */
public record PublishStats(long sentRecords, long droppedRecords, long failedRecords, int queuedSteps) {
    /** Records that will never reach Kafka. */
    public long lostRecords() {
        return droppedRecords + failedRecords;
    }
}
