package io.gradwatch.monitor.topology;

import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.v1.StepRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/** Keeps {@link RunInfo} per run from gradwatch.steps. */
final class RunTracker implements Processor<String, StepRecord, Void, Void> {
    private final MonitorEvents events;
    private KeyValueStore<String, RunInfo> runs;
    private ProcessorContext<Void, Void> context;

    RunTracker(MonitorEvents events) {
        this.events = events;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        this.context = context;
        this.runs = context.getStateStore(MonitorTopology.RUNS_STORE);
    }

    @Override
    public void process(Record<String, StepRecord> record) {
        StepRecord step = record.value();
        if (step == null) {
            throw new MalformedRecordException(MalformedRecordException.Reason.TOMBSTONE,
                    "the step record has no value (a tombstone)");
        }
        if (!step.getRunId().equals(record.key())) {
            // Keys decide partitions: a step keyed with another run would update the wrong instance's state.
            throw new MalformedRecordException(MalformedRecordException.Reason.KEY_MISMATCH,
                    "key differs from run_id '" + step.getRunId() + "'");
        }
        String runId = step.getRunId();
        RunInfo previous = runs.get(runId);
        boolean closedLoop = step.hasMetadata()
                ? "true".equals(step.getMetadata().getLabelsOrDefault(RunInfo.CLOSED_LOOP_LABEL, "false"))
                : previous != null && previous.closedLoop();
        long lastStep = Math.max(step.getStep(), previous == null ? -1 : previous.lastStep());
        runs.put(runId, new RunInfo(context.currentSystemTimeMs(), lastStep, closedLoop));
        events.stepTracked();
    }
}
