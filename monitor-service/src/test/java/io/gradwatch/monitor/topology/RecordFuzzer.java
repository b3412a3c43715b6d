package io.gradwatch.monitor.topology;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.RunMetadata;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Seeded mutations of valid TensorRecord and StepRecord bytes, at the wire level: bit flips,
 * truncation, inflated length fields, duplicated fields, unknown fields and enum numbers outside
 * their enums. The same seed gives the same records, so a failure names the seed that reproduces it.
 */
public final class RecordFuzzer {
    public static final int SEQ_LEN = 4;
    private final Random random;
    private final String runPrefix;

    public RecordFuzzer(long seed, String runPrefix) {
        this.random = new Random(seed);
        this.runPrefix = runPrefix;
    }

    /** A valid tensor of one of a few runs, steps and timesteps, so mutants meet real state. */
    public TensorRecord validTensor() {
        float[] values = new float[8];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat() - 0.5f;
        }
        TensorKind kind = random.nextInt(4) == 0 ? TensorKind.ACTIVATION : TensorKind.HIDDEN_GRAD;
        return TensorRecord.newBuilder().setRunId(runPrefix + random.nextInt(4)).setStep(random.nextInt(20))
                .setLayer(random.nextInt(2)).setTimestep(random.nextInt(SEQ_LEN)).setSeqLen(SEQ_LEN).setKind(kind)
                .addShape(2).addShape(4).setDtype(DType.F32).setCell(CellType.LSTM)
                .setActivation(ActivationFunction.TANH)
                .setData(TensorRecords.encode(values, 0, values.length, DType.F32)).setEventTimeMs(1_700_000_000_000L)
                .setNumLayers(2).build();
    }

    public StepRecord validStep() {
        StepRecord.Builder step = StepRecord.newBuilder().setRunId(runPrefix + random.nextInt(4))
                .setStep(random.nextInt(20)).setLoss(random.nextDouble()).setLearningRate(1e-3).setGradNorm(1)
                .setGradNormClipped(1).putParamGradNorms("rnn.weight_hh_l0", 0.5).putParamNorms("rnn.weight_hh_l0", 3)
                .setSeqLen(SEQ_LEN).setEventTimeMs(1_700_000_000_000L);
        if (random.nextBoolean()) {
            step.setMetadata(RunMetadata.newBuilder().setCell(CellType.GRU).setActivation(ActivationFunction.TANH)
                    .setNumLayers(2).setHiddenSize(4).putLabels("gradwatch.closed-loop", "false"));
        }
        return step.build();
    }

    /** A mutant of a valid tensor: the first mutation is chosen at random, sometimes a second on top. */
    public byte[] mutantTensor() {
        TensorRecord valid = validTensor();
        byte[] bytes = random.nextInt(5) == 0 ? unknownTensorEnum(valid) : valid.toByteArray();
        return mutate(bytes);
    }

    public byte[] mutantStep() {
        StepRecord valid = validStep();
        byte[] bytes = random.nextInt(6) == 0 && valid.hasMetadata()
                ? valid.toBuilder().setMetadata(valid.getMetadata().toBuilder().setCellValue(enumNumber())).build()
                        .toByteArray()
                : valid.toByteArray();
        return mutate(bytes);
    }

    private byte[] mutate(byte[] bytes) {
        byte[] mutant = mutateOnce(bytes);
        return random.nextInt(4) == 0 ? mutateOnce(mutant) : mutant;
    }

    private byte[] mutateOnce(byte[] bytes) {
        return switch (random.nextInt(6)) {
            case 0 -> flipBits(bytes);
            case 1 -> Arrays.copyOf(bytes, bytes.length == 0 ? 0 : random.nextInt(bytes.length));
            case 2 -> inflateLength(bytes);
            case 3 -> duplicateField(bytes);
            case 4 -> unknownField(bytes);
            default -> bytes;
        };
    }

    private byte[] unknownTensorEnum(TensorRecord valid) {
        TensorRecord.Builder builder = valid.toBuilder();
        switch (random.nextInt(4)) {
            case 0 -> builder.setKindValue(enumNumber());
            case 1 -> builder.setDtypeValue(enumNumber());
            case 2 -> builder.setCellValue(enumNumber());
            default -> builder.setActivationValue(enumNumber());
        }
        return builder.build().toByteArray();
    }

    private int enumNumber() {
        return random.nextBoolean() ? 6 + random.nextInt(200) : -1 - random.nextInt(1_000);
    }

    private byte[] flipBits(byte[] bytes) {
        if (bytes.length == 0) {
            return bytes;
        }
        byte[] copy = bytes.clone();
        int flips = 1 + random.nextInt(8);
        for (int i = 0; i < flips; i++) {
            int at = random.nextInt(copy.length);
            copy[at] ^= (byte) (1 << random.nextInt(8));
        }
        return copy;
    }

    /** One field's span in the message: where its tag starts, where its length (if any) starts and ends. */
    private record Field(int start, int lengthStart, int lengthEnd, int end) {
    }

    private static List<Field> fields(byte[] bytes) {
        List<Field> fields = new ArrayList<>();
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        try {
            while (!in.isAtEnd()) {
                int start = in.getTotalBytesRead();
                int tag = in.readTag();
                int lengthStart = in.getTotalBytesRead();
                if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    int length = in.readRawVarint32();
                    int lengthEnd = in.getTotalBytesRead();
                    in.skipRawBytes(length);
                    fields.add(new Field(start, lengthStart, lengthEnd, in.getTotalBytesRead()));
                } else {
                    in.skipField(tag);
                    fields.add(new Field(start, -1, -1, in.getTotalBytesRead()));
                }
            }
        } catch (IOException e) {
            // A mutant of a mutant: its valid prefix is enough.
        }
        return fields;
    }

    private byte[] inflateLength(byte[] bytes) {
        List<Field> delimited = fields(bytes).stream().filter(f -> f.lengthStart() >= 0).toList();
        if (delimited.isEmpty()) {
            return flipBits(bytes);
        }
        Field field = delimited.get(random.nextInt(delimited.size()));
        long claimed = switch (random.nextInt(3)) {
            case 0 -> field.end() - field.lengthEnd() + 1 + random.nextInt(16);
            case 1 -> Integer.MAX_VALUE;
            default -> 1L + random.nextInt(1 << 30);
        };
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(bytes, 0, field.lengthStart());
        writeVarint(out, claimed);
        out.write(bytes, field.lengthEnd(), bytes.length - field.lengthEnd());
        return out.toByteArray();
    }

    private byte[] duplicateField(byte[] bytes) {
        List<Field> all = fields(bytes);
        if (all.isEmpty()) {
            return flipBits(bytes);
        }
        Field field = all.get(random.nextInt(all.size()));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(bytes, 0, bytes.length);
        int copies = 1 + random.nextInt(3);
        for (int i = 0; i < copies; i++) {
            out.write(bytes, field.start(), field.end() - field.start());
        }
        return out.toByteArray();
    }

    private byte[] unknownField(byte[] bytes) {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(buffer);
        int number = 100 + random.nextInt(10_000);
        try {
            switch (random.nextInt(4)) {
                case 0 -> out.writeInt64(number, random.nextLong());
                case 1 -> out.writeFixed32(number, random.nextInt());
                case 2 -> out.writeFixed64(number, random.nextLong());
                default -> {
                    byte[] payload = new byte[random.nextInt(64)];
                    random.nextBytes(payload);
                    out.writeByteArray(number, payload);
                }
            }
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] extra = buffer.toByteArray();
        // Before or after the known fields: both are legal protobuf.
        byte[] result = new byte[bytes.length + extra.length];
        if (random.nextBoolean()) {
            System.arraycopy(bytes, 0, result, 0, bytes.length);
            System.arraycopy(extra, 0, result, bytes.length, extra.length);
        } else {
            System.arraycopy(extra, 0, result, 0, extra.length);
            System.arraycopy(bytes, 0, result, extra.length, bytes.length);
        }
        return result;
    }

    private static void writeVarint(ByteArrayOutputStream out, long value) {
        while ((value & ~0x7FL) != 0) {
            out.write((int) ((value & 0x7F) | 0x80));
            value >>>= 7;
        }
        out.write((int) value);
    }

    /** The key a mutant is sent with: mostly its own run's, sometimes another's, null or not UTF-8. */
    public byte[] key(byte[] value) {
        int pick = random.nextInt(20);
        if (pick == 0) {
            return null;
        }
        if (pick == 1) {
            return new byte[] {(byte) 0xff};
        }
        String runId = runIdOf(value);
        return (runId == null || pick == 2 ? runPrefix + random.nextInt(4) : runId)
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The run id field (1) as the bytes hold it, if they get that far. */
    private static String runIdOf(byte[] value) {
        for (Field field : fields(value)) {
            if (field.lengthStart() >= 0 && WireFormat.getTagFieldNumber(tagAt(value, field.start())) == 1) {
                return new String(value, field.lengthEnd(), field.end() - field.lengthEnd(),
                        java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static int tagAt(byte[] value, int start) {
        try {
            return CodedInputStream.newInstance(value, start, value.length - start).readTag();
        } catch (IOException e) {
            return 0;
        }
    }
}
