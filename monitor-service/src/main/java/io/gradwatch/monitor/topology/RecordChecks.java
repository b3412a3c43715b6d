package io.gradwatch.monitor.topology;

import io.gradwatch.protocol.MalformedRecordException;
import org.apache.kafka.streams.processor.api.Record;

/**
 * The checks every input record passes before a processor reads it, the same on every input topic:
 * it has a value, and its key is the run it reports on. A record failing one becomes a dead letter
 * with the reason, not an exception of the processor's own.
 */
final class RecordChecks {
    private static final int KEY_SHOWN = 200;

    private RecordChecks() {
    }

    /** The record's value; a tombstone (no value) is nothing a publisher should send on an input topic. */
    static <V> V requireValue(Record<String, V> record, String what) {
        if (record.value() == null) {
            throw new MalformedRecordException(MalformedRecordException.Reason.TOMBSTONE,
                    "the " + what + " has no value (a tombstone)");
        }
        return record.value();
    }

    /**
     * Keys decide partitions, and so which instance holds a run's state: a record keyed with another
     * run would be analysed, and its state updated, on the wrong instance.
     */
    static void requireKeyOfRun(String key, String runId) {
        if (!runId.equals(key)) {
            throw new MalformedRecordException(MalformedRecordException.Reason.KEY_MISMATCH,
                    "key " + describe(key) + " differs from run_id '" + runId + "'");
        }
    }

    private static String describe(String key) {
        if (key == null) {
            return "null";
        }
        return "'" + (key.length() > KEY_SHOWN ? key.substring(0, KEY_SHOWN) + "..." : key) + "'";
    }
}
