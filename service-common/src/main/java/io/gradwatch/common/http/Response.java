package io.gradwatch.common.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** What a handler answers. */
public record Response(int status, String contentType, byte[] body, Map<String, String> headers) {

    public static Response json(Object value) {
        return json(200, value);
    }

    public static Response json(int status, Object value) {
        try {
            return new Response(status, "application/json; charset=utf-8", Json.MAPPER.writeValueAsBytes(value),
                    Map.of());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON for " + value.getClass().getName(), e);
        }
    }

    public static Response text(int status, String contentType, String body) {
        return new Response(status, contentType, body.getBytes(StandardCharsets.UTF_8), Map.of());
    }

    public static Response bytes(String contentType, byte[] body) {
        return new Response(200, contentType, body, Map.of());
    }

    public static Response error(int status, String message) {
        return json(status, Map.of("error", message, "status", status));
    }

    public Response withHeader(String name, String value) {
        var all = new LinkedHashMap<>(headers);
        all.put(name, value);
        return new Response(status, contentType, body, Map.copyOf(all));
    }
}
