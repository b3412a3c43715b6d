package io.gradwatch.trainer.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradwatch.trainer.nn.Parameter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {

    @Test
    void headerLayoutIsSafetensors(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("t.safetensors");
        Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
        tensors.put("w", new Safetensors.Tensor("F32", new int[] {2}, new double[] {1.0, -2.0}));
        Safetensors.write(file, tensors, Map.of());
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertThat(headerLength % 8).isZero();
        assertThat(header.trim()).isEqualTo("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}");
        // 1.0f little-endian is 00 00 80 3f.
        assertThat(Arrays.copyOfRange(bytes, 8 + (int) headerLength, 12 + (int) headerLength))
                .containsExactly(0, 0, 0x80, 0x3f);
        assertThat(bytes).hasSize(8 + (int) headerLength + 8);
    }

    @Test
    void saveThenLoadRestoresParametersOptimizerStateAndMetadata(@TempDir Path dir) throws Exception {
        Parameter w = Parameter.zeros("weight_hh_l0", 2, 2);
        w.value()[0] = Math.PI;
        w.value()[3] = -1e-9;
        Parameter b = Parameter.zeros("bias_hh_l0", 2);
        b.value()[1] = 0.1;
        Checkpoint.save(dir, List.of(w, b), Map.of("exp_avg.weight_hh_l0", new double[] {1, 2, 3, 4}),
                Map.of("step", "42", "optimizer", "adam"));

        Parameter w2 = Parameter.zeros("weight_hh_l0", 2, 2);
        Parameter b2 = Parameter.zeros("bias_hh_l0", 2);
        Checkpoint.Restored restored = Checkpoint.load(dir, List.of(w2, b2));
        assertThat(w2.value()).containsExactly(w.value());
        assertThat(b2.value()).containsExactly(b.value());
        assertThat(restored.optimizerState().get("exp_avg.weight_hh_l0")).containsExactly(1, 2, 3, 4);
        assertThat(restored.metadata()).containsEntry("step", "42").containsEntry("optimizer", "adam");

        Safetensors.Contents model = Safetensors.read(dir.resolve(Checkpoint.MODEL_FILE));
        assertThat(model.tensors().get("weight_hh_l0").dtype()).isEqualTo("F32");
        assertThat(model.tensors().get("weight_hh_l0").values()[0]).isEqualTo((float) Math.PI);
        assertThat(model.metadata()).containsEntry("format", "pt");
    }

    @Test
    void mismatchedModelsAreClearErrors(@TempDir Path dir) throws Exception {
        Checkpoint.save(dir, List.of(Parameter.zeros("weight_hh_l0", 2, 2)), Map.of(), Map.of());
        assertThatThrownBy(() -> Checkpoint.load(dir, List.of(Parameter.zeros("weight_hh_l0", 3, 3))))
                .hasMessageContaining("has shape [2, 2], the model has [3, 3]");
        assertThatThrownBy(() -> Checkpoint.load(dir, List.of(Parameter.zeros("head.weight", 2))))
                .hasMessageContaining("has no parameter head.weight");
        assertThatThrownBy(() -> Checkpoint.load(dir.resolve("none"), List.of()))
                .hasMessageContaining("no checkpoint in");
    }

    @Test
    void malformedFilesSayWhatIsWrong(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> Safetensors.read(file)).hasMessageContaining("shorter than the 8-byte header");
        Files.write(file, header("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,8]}}", 8));
        assertThatThrownBy(() -> Safetensors.read(file)).hasMessageContaining("needs 16 bytes");
        Files.write(file, header("{\"w\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1));
        assertThatThrownBy(() -> Safetensors.read(file)).hasMessageContaining("dtype 'I8' is not supported");
        Files.write(file, header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 4));
        assertThatThrownBy(() -> Safetensors.read(file)).hasMessageContaining("outside the 4 data bytes");
        byte[] huge = new byte[16];
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        Files.write(file, huge);
        assertThatThrownBy(() -> Safetensors.read(file)).hasMessageContaining("does not fit");
    }

    private static byte[] header(String json, int dataBytes) {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buffer = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(header.length).put(header);
        return buffer.array();
    }
}
