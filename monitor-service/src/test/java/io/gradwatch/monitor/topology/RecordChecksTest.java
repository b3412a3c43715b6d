package io.gradwatch.monitor.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradwatch.protocol.MalformedRecordException;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

class RecordChecksTest {

    @Test
    void aRecordWithAValueGivesItsValue() {
        assertThat(RecordChecks.requireValue(new Record<>("run", "value", 0L), "record")).isEqualTo("value");
    }

    @Test
    void aTombstoneIsATombstoneNamingWhatHadNoValue() {
        assertThatThrownBy(() -> RecordChecks.requireValue(new Record<String, String>("run", null, 0L), "step record"))
                .isInstanceOfSatisfying(MalformedRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(MalformedRecordException.Reason.TOMBSTONE))
                .hasMessage("TOMBSTONE: the step record has no value (a tombstone)");
    }

    @Test
    void aKeyOtherThanTheRunIsAKeyMismatchShowingAtMost200CharactersOfIt() {
        RecordChecks.requireKeyOfRun("run-1", "run-1");
        assertThatThrownBy(() -> RecordChecks.requireKeyOfRun("run-2", "run-1"))
                .isInstanceOfSatisfying(MalformedRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(MalformedRecordException.Reason.KEY_MISMATCH))
                .hasMessage("KEY_MISMATCH: key 'run-2' differs from run_id 'run-1'");
        assertThatThrownBy(() -> RecordChecks.requireKeyOfRun(null, "run-1")).hasMessage(
                "KEY_MISMATCH: key null differs from run_id 'run-1'");
        assertThatThrownBy(() -> RecordChecks.requireKeyOfRun("k".repeat(500), "run-1"))
                .hasMessage("KEY_MISMATCH: key '" + "k".repeat(200) + "...' differs from run_id 'run-1'");
    }
}
