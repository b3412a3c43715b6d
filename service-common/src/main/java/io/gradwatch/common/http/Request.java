package io.gradwatch.common.http;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** An HTTP request as a handler sees it: decoded path parameters and query. */
public record Request(String method, String path, Map<String, String> pathParams,
                      Map<String, List<String>> query, Map<String, List<String>> headers, byte[] body) {

    /** Run ids, layer names and the like: letters, digits and {@code . _ - :}, at most 200 characters. */
    public static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9._:\\-]{1,200}");

    public String pathParam(String name) {
        return pathParams.get(name);
    }

    /** A path parameter that must be a safe identifier, else 400. */
    public String idParam(String name) {
        String value = pathParams.get(name);
        if (value == null || !SAFE_ID.matcher(value).matches()) {
            throw HttpError.badRequest(name + " must be 1-200 characters of letters, digits, '.', '_', ':' or '-'");
        }
        return value;
    }

    /** The single value of a query parameter, or {@code fallback} when absent. */
    public String queryParam(String name, String fallback) {
        List<String> values = query.get(name);
        if (values == null || values.isEmpty()) {
            return fallback;
        }
        if (values.size() > 1) {
            throw HttpError.badRequest("query parameter '" + name + "' given " + values.size() + " times");
        }
        return values.get(0);
    }

    /** An integer query parameter within [min, max], else 400. */
    public int intQueryParam(String name, int fallback, int min, int max) {
        String value = queryParam(name, null);
        if (value == null) {
            return fallback;
        }
        try {
            int parsed = Integer.parseInt(value);
            if (parsed < min || parsed > max) {
                throw HttpError.badRequest("query parameter '" + name + "' must be between " + min + " and " + max);
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw HttpError.badRequest("query parameter '" + name + "' must be a whole number");
        }
    }

    public String header(String name) {
        List<String> values = headers.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }
}
