package io.gradwatch.trainer.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N
 * bytes of JSON mapping each tensor name to {dtype, shape, data_offsets} (plus an optional
 * "__metadata__" of strings), padded with spaces to 8 bytes, then the little-endian tensor bytes.
 * PyTorch users load it with {@code safetensors.torch.load_file}.
 */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private Safetensors() {
    }

    /** A tensor in a file: F32 or F64, row-major. */
    public record Tensor(String dtype, int[] shape, double[] values) {
        public Tensor {
            if (!dtype.equals("F32") && !dtype.equals("F64")) {
                throw new IllegalArgumentException("dtype " + dtype + " is not supported (F32, F64)");
            }
            long size = 1;
            for (int dimension : shape) {
                size *= dimension;
            }
            if (size != values.length) {
                throw new IllegalArgumentException("shape needs " + size + " values, got " + values.length);
            }
        }

        int elementBytes() {
            return dtype.equals("F32") ? 4 : 8;
        }
    }

    /** What a file holds. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
    }

    /** Writes atomically: to a temporary file beside {@code file}, then renamed over it. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (var entry : tensors.entrySet()) {
            Tensor tensor = entry.getValue();
            long end = offset + (long) tensor.values().length * tensor.elementBytes();
            ObjectNode node = header.putObject(entry.getKey());
            node.put("dtype", tensor.dtype());
            var shape = node.putArray("shape");
            for (int dimension : tensor.shape()) {
                shape.add(dimension);
            }
            var offsets = node.putArray("data_offsets");
            offsets.add(offset);
            offsets.add(end);
            offset = end;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(temporary)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(length.array());
            out.write(json);
            for (int i = json.length; i < padded; i++) {
                out.write(' ');
            }
            for (Tensor tensor : tensors.values()) {
                ByteBuffer data = ByteBuffer.allocate(tensor.values().length * tensor.elementBytes())
                        .order(ByteOrder.LITTLE_ENDIAN);
                for (double value : tensor.values()) {
                    if (tensor.elementBytes() == 4) {
                        data.putFloat((float) value);
                    } else {
                        data.putDouble(value);
                    }
                }
                out.write(data.array());
            }
        }
        try {
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    public static Contents read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < 8) {
            throw malformed(file, "shorter than the 8-byte header length");
        }
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength <= 0 || headerLength > MAX_HEADER || 8 + headerLength > bytes.length) {
            throw malformed(file, "header length " + headerLength + " does not fit a file of " + bytes.length + " bytes");
        }
        JsonNode header;
        try {
            header = JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw malformed(file, "header is not JSON");
        }
        if (header == null || !header.isObject()) {
            throw malformed(file, "header is not a JSON object");
        }
        int dataStart = 8 + (int) headerLength;
        int dataLength = bytes.length - dataStart;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> fields = header.fields(); fields.hasNext(); ) {
            var field = fields.next();
            if (field.getKey().equals("__metadata__")) {
                field.getValue().fields().forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().asText()));
                continue;
            }
            tensors.put(field.getKey(), tensor(file, field.getKey(), field.getValue(), bytes, dataStart, dataLength));
        }
        return new Contents(tensors, metadata);
    }

    private static Tensor tensor(Path file, String name, JsonNode node, byte[] bytes, int dataStart, int dataLength) {
        String dtype = node.path("dtype").asText();
        int elementBytes = switch (dtype) {
            case "F32" -> 4;
            case "F64" -> 8;
            default -> throw malformed(file, name + ": dtype '" + dtype + "' is not supported (F32, F64)");
        };
        JsonNode shapeNode = node.path("shape");
        JsonNode offsets = node.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw malformed(file, name + ": needs 'shape' and two 'data_offsets'");
        }
        int[] shape = new int[shapeNode.size()];
        long size = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asInt(-1);
            if (shape[i] < 0) {
                throw malformed(file, name + ": shape " + shapeNode + " has a negative dimension");
            }
            size *= shape[i];
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataLength) {
            throw malformed(file, name + ": data_offsets " + offsets + " outside the " + dataLength + " data bytes");
        }
        if (end - begin != size * elementBytes) {
            throw malformed(file, name + ": shape " + shapeNode + " of " + dtype + " needs " + size * elementBytes
                    + " bytes, data_offsets span " + (end - begin));
        }
        ByteBuffer data = ByteBuffer.wrap(bytes, dataStart + (int) begin, (int) (end - begin))
                .order(ByteOrder.LITTLE_ENDIAN);
        double[] values = new double[(int) size];
        for (int i = 0; i < values.length; i++) {
            values[i] = elementBytes == 4 ? data.getFloat() : data.getDouble();
        }
        return new Tensor(dtype, shape, values);
    }

    private static IllegalArgumentException malformed(Path file, String what) {
        return new IllegalArgumentException("not a valid safetensors file " + file + ": " + what);
    }
}
