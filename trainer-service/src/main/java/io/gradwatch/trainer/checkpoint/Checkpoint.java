package io.gradwatch.trainer.checkpoint;

import io.gradwatch.trainer.nn.Parameter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint in a directory: {@code model.safetensors} holds the parameters under
 * their PyTorch names in F32, loadable into torch.nn.RNN/LSTM/GRU plus a Linear head with
 * {@code load_state_dict}; {@code trainer-state.safetensors} holds the exact F64 parameters, the
 * optimizer's buffers and, as metadata, what a resume needs (step, learning rate, ...).
 */
public final class Checkpoint {
    public static final String MODEL_FILE = "model.safetensors";
    public static final String STATE_FILE = "trainer-state.safetensors";
    private static final String PARAM_PREFIX = "param.";
    private static final String OPTIMIZER_PREFIX = "optimizer.";

    private Checkpoint() {
    }

    /** What {@link #load} restores besides the parameter values. */
    public record Restored(Map<String, double[]> optimizerState, Map<String, String> metadata) {
    }

    public static void save(Path directory, List<Parameter> parameters, Map<String, double[]> optimizerState,
                            Map<String, String> metadata) throws IOException {
        Files.createDirectories(directory);
        Map<String, Safetensors.Tensor> model = new LinkedHashMap<>();
        Map<String, Safetensors.Tensor> state = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (Parameter p : parameters) {
            model.put(p.name(), new Safetensors.Tensor("F32", p.shape(), p.value()));
            state.put(PARAM_PREFIX + p.name(), new Safetensors.Tensor("F64", p.shape(), p.value()));
            shapes.put(p.name(), p.shape());
        }
        for (var entry : optimizerState.entrySet()) {
            String parameterName = entry.getKey().substring(entry.getKey().indexOf('.') + 1);
            int[] shape = shapes.getOrDefault(parameterName, new int[] {entry.getValue().length});
            state.put(OPTIMIZER_PREFIX + entry.getKey(), new Safetensors.Tensor("F64", shape, entry.getValue()));
        }
        Safetensors.write(directory.resolve(MODEL_FILE), model, Map.of("format", "pt"));
        Safetensors.write(directory.resolve(STATE_FILE), state, metadata);
    }

    /** Restores parameter values in place; fails naming any parameter missing or of another shape. */
    public static Restored load(Path directory, List<Parameter> parameters) throws IOException {
        Path file = directory.resolve(STATE_FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no checkpoint in " + directory + " (missing " + STATE_FILE + ")");
        }
        Safetensors.Contents contents = Safetensors.read(file);
        for (Parameter p : parameters) {
            Safetensors.Tensor saved = contents.tensors().get(PARAM_PREFIX + p.name());
            if (saved == null) {
                throw new IllegalArgumentException("checkpoint " + directory + " has no parameter " + p.name()
                        + ": it was written for another model");
            }
            if (!Arrays.equals(saved.shape(), p.shape())) {
                throw new IllegalArgumentException("checkpoint parameter " + p.name() + " has shape "
                        + Arrays.toString(saved.shape()) + ", the model has "
                        + Arrays.toString(p.shape()));
            }
            System.arraycopy(saved.values(), 0, p.value(), 0, p.size());
        }
        Map<String, double[]> optimizer = new LinkedHashMap<>();
        contents.tensors().forEach((name, tensor) -> {
            if (name.startsWith(OPTIMIZER_PREFIX)) {
                optimizer.put(name.substring(OPTIMIZER_PREFIX.length()), tensor.values());
            }
        });
        return new Restored(optimizer, contents.metadata());
    }
}
