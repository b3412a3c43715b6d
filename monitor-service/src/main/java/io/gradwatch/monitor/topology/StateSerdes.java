package io.gradwatch.monitor.topology;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.gradwatch.monitor.analysis.AlertMachine;
import io.gradwatch.monitor.analysis.Baseline;
import io.gradwatch.monitor.analysis.RunSteps;
import io.gradwatch.protocol.StateSerde;
import io.gradwatch.protocol.state.v1.AlertMachineState;
import io.gradwatch.protocol.state.v1.BaselineState;
import io.gradwatch.protocol.state.v1.RunState;
import io.gradwatch.protocol.state.v1.RunStepsState;
import io.gradwatch.protocol.state.v1.StepHeader;
import io.gradwatch.protocol.state.v1.TimestepEntry;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.RunMetadata;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.function.Function;

/**
 * The serde of each state store: protobuf messages of {@code gradwatch.state.v1} in a version
 * envelope ({@link StateSerde}), and the decoders of version 0, the unversioned ByteBuffer
 * formats gradwatch wrote before it (so a changelog written by 0.x is read after an upgrade).
 */
public final class StateSerdes {
    public static final StateSerde<StepHeader, StepHeader> STEP_HEADER = new StateSerde<>("step header",
            StepHeader.parser(), Function.identity(), Function.identity(), StateSerdes::stepHeaderV0);
    public static final StateSerde<TimestepEntry, TimestepEntry> TIMESTEP = new StateSerde<>("timestep",
            TimestepEntry.parser(), Function.identity(), Function.identity(), null);
    public static final StateSerde<Baseline, BaselineState> BASELINE = new StateSerde<>("baseline",
            BaselineState.parser(), Baseline::toState, Baseline::fromState, StateSerdes::baselineV0);
    public static final StateSerde<AlertMachine.State, AlertMachineState> ALERT = new StateSerde<>("alert",
            AlertMachineState.parser(), StateSerdes::toState, StateSerdes::fromState, StateSerdes::alertV0);
    public static final StateSerde<RunInfo, RunState> RUN = new StateSerde<>("run", RunState.parser(),
            info -> RunState.newBuilder().setLastSeenMs(info.lastSeenMs()).setLastStep(info.lastStep())
                    .setClosedLoop(info.closedLoop()).setMetadata(info.metadata()).build(),
            state -> new RunInfo(state.getLastSeenMs(), state.getLastStep(), state.getClosedLoop(),
                    state.getMetadata()),
            StateSerdes::runV0);
    public static final StateSerde<RunSteps, RunStepsState> RUN_STEPS = new StateSerde<>("run steps",
            RunStepsState.parser(), RunSteps::toState, RunSteps::fromState, StateSerdes::runStepsV0);
    public static final StateSerde<LayerHealth, LayerHealth> HEALTH = new StateSerde<>("latest health",
            LayerHealth.parser(), Function.identity(), Function.identity(), StateSerdes::healthV0);

    private StateSerdes() {
    }

    private static AlertMachineState toState(AlertMachine.State state) {
        return AlertMachineState.newBuilder().setFiring(state.firing()).setFlaggedStreak(state.flaggedStreak())
                .setClearStreak(state.clearStreak()).setLastSeenMs(state.lastSeenMs()).build();
    }

    private static AlertMachine.State fromState(AlertMachineState state) {
        return new AlertMachine.State(state.getFiring(), state.getFlaggedStreak(), state.getClearStreak(),
                state.getLastSeenMs());
    }

    // Version 0: gradwatch 0.x's formats, read only.

    /** 0.x RunInfo: lastSeenMs, lastStep (longs), closedLoop (byte): 17 bytes, then the RunMetadata if any. */
    static RunInfo runV0(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        long lastSeen = buffer.getLong();
        long lastStep = buffer.getLong();
        boolean closedLoop = buffer.get() == 1;
        try {
            return new RunInfo(lastSeen, lastStep, closedLoop,
                    RunMetadata.parseFrom(ByteBuffer.wrap(bytes, 17, bytes.length - 17)));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("unreadable run metadata in a version 0 run (" + bytes.length + " bytes)", e);
        }
    }

    /**
     * Pre-protobuf RunSteps (its own version byte 1, then): losses length (int), lossCount (long),
     * the losses (doubles), records (long), a length-prefixed 0.x Baseline, the loop's level,
     * sinceAction, healthyStreak, layer (ints), lossCeiling (double), resolved (byte).
     */
    static RunSteps runStepsV0(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        byte version = buffer.get();
        if (version != 1) {
            throw new IllegalStateException("run-steps state of unversioned format " + version + "; this monitor reads 1");
        }
        double[] losses = new double[buffer.getInt()];
        long lossCount = buffer.getLong();
        for (int i = 0; i < losses.length; i++) {
            losses[i] = buffer.getDouble();
        }
        long records = buffer.getLong();
        Baseline gradNorms = baselineV0(slice(buffer));
        int level = buffer.getInt();
        int since = buffer.getInt();
        int healthy = buffer.getInt();
        int layer = buffer.getInt();
        RunSteps.Loop loop = new RunSteps.Loop(level, since, healthy, buffer.getDouble(), layer, buffer.get() == 1);
        return RunSteps.restore(gradNorms, losses, lossCount, records, loop);
    }

    /** 0.x AlertMachine.State: firing (byte), flaggedStreak, clearStreak (ints), lastSeenMs (long): 17 bytes. */
    static AlertMachine.State alertV0(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        return new AlertMachine.State(buffer.get() == 1, buffer.getInt(), buffer.getInt(), buffer.getLong());
    }

    /** 0.x Baseline: window, count (ints), lastStep, lastSeenMs (longs), activations (byte), window doubles. */
    static Baseline baselineV0(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        BaselineState.Builder state = BaselineState.newBuilder().setWindow(buffer.getInt()).setCount(buffer.getInt())
                .setLastStep(buffer.getLong()).setLastSeenMs(buffer.getLong())
                .setPublishesActivations(buffer.get() == 1);
        for (int i = 0; i < state.getWindow(); i++) {
            state.addRecent(buffer.getDouble());
        }
        return Baseline.fromState(state.build());
    }

    /** 0.x latest-health values were the bare LayerHealth message. */
    static LayerHealth healthV0(byte[] bytes) {
        try {
            return LayerHealth.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("corrupt version 0 latest health (" + bytes.length + " bytes)", e);
        }
    }

    /**
     * 0.x StepState, the whole open step in one value: seqLen, cell, activation, hidden (ints);
     * firstSeenMs, saturated, activationValues, nonFinite, eventTimeMs (longs); seqLen x (norm,
     * maxAbs, meanAbs) doubles; then gradient, activation and alive-unit BitSets, each length-prefixed.
     * The timesteps are carried inline until the step's next record moves them to step-timesteps.
     */
    static StepHeader stepHeaderV0(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        int seqLen = buffer.getInt();
        CellType cell = CellType.forNumber(buffer.getInt());
        ActivationFunction activation = ActivationFunction.forNumber(buffer.getInt());
        StepHeader.Builder header = StepHeader.newBuilder().setSeqLen(seqLen)
                .setCell(cell == null ? CellType.CELL_UNSPECIFIED : cell)
                .setActivation(activation == null ? ActivationFunction.ACTIVATION_UNSPECIFIED : activation)
                .setHidden(buffer.getInt()).setFirstSeenMs(buffer.getLong()).setSaturated(buffer.getLong())
                .setActivationValues(buffer.getLong()).setNonFinite(buffer.getLong()).setEventTimeMs(buffer.getLong());
        for (int t = 0; t < seqLen; t++) {
            header.addInlineGradients(TimestepEntry.newBuilder().setNorm(buffer.getDouble())
                    .setMaxAbs(buffer.getDouble()).setMeanAbs(buffer.getDouble()));
        }
        byte[] gradients = slice(buffer);
        byte[] activations = slice(buffer);
        byte[] alive = slice(buffer);
        return header.setGradientTimesteps(BitSet.valueOf(gradients).cardinality())
                .setActivationTimesteps(BitSet.valueOf(activations).cardinality())
                .setInlineGradientSet(ByteString.copyFrom(gradients))
                .setInlineActivationSet(ByteString.copyFrom(activations))
                .setAliveUnits(ByteString.copyFrom(alive)).build();
    }

    private static byte[] slice(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.getInt()];
        buffer.get(bytes);
        return bytes;
    }
}
