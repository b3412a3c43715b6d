package io.gradwatch.launcher.replay;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/**
 * The NDJSON form of gradient records, one JSON object per line (see docs/replay.md):
 * <pre>{"run":"r1","step":3,"layer":0,"timestep":4,"seq_len":10,"kind":"HIDDEN_GRAD","shape":[2,3],
 *  "data":[0.1,-0.2,0.3,"NaN",1e-5,"Infinity"],"dtype":"F32","cell":"RNN","activation":"TANH"}</pre>
 * {@code dtype} (default F32), {@code cell}, {@code activation}, {@code event_time_ms} and
 * {@code num_layers} are optional. NaN and infinities may be written as strings or bare tokens.
 */
public final class NdjsonTensors {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            // Two records on one line are an error, not the first one sent and the second dropped.
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final Set<String> FIELDS = Set.of("run", "step", "layer", "timestep", "seq_len", "kind", "shape",
            "data", "dtype", "cell", "activation", "event_time_ms", "num_layers");

    private NdjsonTensors() {
    }

    /** Parses and validates one line; the exception message says what is wrong. */
    public static TensorRecord parse(String line) {
        JsonNode node;
        try {
            node = MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw new IllegalArgumentException("unknown field '" + name + "'");
            }
        }
        DType dtype = enumField(node, "dtype", DType.class, DType.F32);
        float[] data = floats(required(node, "data"));
        TensorRecord.Builder builder = TensorRecord.newBuilder()
                .setRunId(text(node, "run"))
                .setStep(whole(node, "step"))
                .setLayer(Math.toIntExact(whole(node, "layer")))
                .setTimestep(Math.toIntExact(whole(node, "timestep")))
                .setSeqLen(Math.toIntExact(whole(node, "seq_len")))
                .setKind(enumField(node, "kind", TensorKind.class, null))
                .setDtype(dtype)
                .setCell(enumField(node, "cell", CellType.class, CellType.CELL_UNSPECIFIED))
                .setActivation(enumField(node, "activation", ActivationFunction.class,
                        ActivationFunction.ACTIVATION_UNSPECIFIED))
                .setEventTimeMs(node.has("event_time_ms") ? whole(node, "event_time_ms") : System.currentTimeMillis())
                .setNumLayers(node.has("num_layers") ? Math.toIntExact(whole(node, "num_layers")) : 0);
        JsonNode shape = required(node, "shape");
        if (!shape.isArray()) {
            throw new IllegalArgumentException("'shape' must be an array of whole numbers");
        }
        for (JsonNode dimension : shape) {
            if (!dimension.canConvertToLong() || !dimension.isIntegralNumber()) {
                throw new IllegalArgumentException("'shape' must be an array of whole numbers");
            }
            builder.addShape(dimension.asLong());
        }
        builder.setData(TensorRecords.encode(data, 0, data.length, dtype));
        TensorRecord record = builder.build();
        try {
            TensorRecords.validate(record, TensorRecords.DEFAULT_LIMITS);
        } catch (MalformedRecordException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        return record;
    }

    /** One NDJSON line for a record (non-finite values as strings, so the line is strict JSON). */
    public static String format(TensorRecord record) {
        ObjectNode node = MAPPER.createObjectNode();
        node.put("run", record.getRunId());
        node.put("step", record.getStep());
        node.put("layer", record.getLayer());
        node.put("timestep", record.getTimestep());
        node.put("seq_len", record.getSeqLen());
        node.put("kind", record.getKind().name());
        ArrayNode shape = node.putArray("shape");
        record.getShapeList().forEach(shape::add);
        node.put("dtype", record.getDtype().name());
        if (record.getCell() != CellType.CELL_UNSPECIFIED) {
            node.put("cell", record.getCell().name());
        }
        if (record.getActivation() != ActivationFunction.ACTIVATION_UNSPECIFIED) {
            node.put("activation", record.getActivation().name());
        }
        node.put("event_time_ms", record.getEventTimeMs());
        if (record.getNumLayers() > 0) {
            node.put("num_layers", record.getNumLayers());
        }
        ArrayNode data = node.putArray("data");
        TensorView view = TensorView.of(record);
        for (int i = 0; i < view.size(); i++) {
            float value = view.get(i);
            if (Float.isFinite(value)) {
                data.add(value);
            } else {
                data.add(Float.toString(value));
            }
        }
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode required(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            throw new IllegalArgumentException("missing field '" + field + "'");
        }
        return value;
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = required(node, field);
        if (!value.isTextual() || value.asText().isEmpty()) {
            throw new IllegalArgumentException("'" + field + "' must be a non-empty string");
        }
        return value.asText();
    }

    private static long whole(JsonNode node, String field) {
        JsonNode value = required(node, field);
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw new IllegalArgumentException("'" + field + "' must be a whole number, got " + value);
        }
        long result = value.asLong();
        if (result < 0) {
            throw new IllegalArgumentException("'" + field + "' must be >= 0, got " + result);
        }
        if (!field.equals("step") && !field.equals("event_time_ms") && result > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("'" + field + "' is too large: " + result);
        }
        return result;
    }

    private static <E extends Enum<E>> E enumField(JsonNode node, String field, Class<E> type, E fallback) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            if (fallback == null) {
                throw new IllegalArgumentException("missing field '" + field + "'");
            }
            return fallback;
        }
        try {
            E parsed = Enum.valueOf(type, value.asText().toUpperCase(Locale.ROOT));
            if (parsed.name().equals("UNRECOGNIZED") || parsed.name().endsWith("UNSPECIFIED")) {
                throw new IllegalArgumentException();
            }
            return parsed;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + field + "' = " + value + " is not one of " + names(type));
        }
    }

    private static <E extends Enum<E>> String names(Class<E> type) {
        StringBuilder names = new StringBuilder();
        for (E constant : type.getEnumConstants()) {
            if (!constant.name().equals("UNRECOGNIZED") && !constant.name().endsWith("UNSPECIFIED")) {
                names.append(names.length() == 0 ? "" : ", ").append(constant.name());
            }
        }
        return names.toString();
    }

    private static float[] floats(JsonNode data) {
        if (!data.isArray()) {
            throw new IllegalArgumentException("'data' must be an array of numbers");
        }
        float[] values = new float[data.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode value = data.get(i);
            if (value.isNumber()) {
                values[i] = value.floatValue();
            } else if (value.isTextual() && Set.of("NaN", "Infinity", "-Infinity").contains(value.asText())) {
                values[i] = Float.parseFloat(value.asText());
            } else {
                throw new IllegalArgumentException("'data'[" + i + "] = " + value
                        + " is not a number (NaN and infinities as \"NaN\", \"Infinity\", \"-Infinity\")");
            }
        }
        return values;
    }
}
