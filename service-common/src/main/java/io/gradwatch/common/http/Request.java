package io.gradwatch.common.http;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** An HTTP request as a handler sees it: decoded path parameters and query. */
public record Request(String method, String path, Map<String, String> pathParams,
                      Map<String, List<String>> query, Map<String, List<String>> headers, byte[] body) {

    /**
     * Run ids, layer names and the like: letters, digits and {@code . _ - : /}, at most 200
     * characters (a run id such as {@code team-a/lm-7b/2026-11-23T04:00} comes URL-encoded, with
     * {@code %2F} for its slashes). No part between slashes may be empty, {@code .} or {@code ..}.
     */
    public static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9._:\\-/]{1,200}");
    private static final Pattern DOT_SEGMENT = Pattern.compile("(^|/)(\\.{1,2})?(/|$)");
    private static final Pattern ASCII_WHOLE_NUMBER = Pattern.compile("-?[0-9]+");

    public String pathParam(String name) {
        return pathParams.get(name);
    }

    /** A path parameter that must be a safe identifier, else 400. */
    public String idParam(String name) {
        String value = pathParams.get(name);
        if (value == null || !SAFE_ID.matcher(value).matches() || DOT_SEGMENT.matcher(value).find()) {
            throw HttpError.badRequest(name + " must be 1-200 characters of letters, digits, '.', '_', ':', '-' or '/'"
                    + " (no empty, '.' or '..' part between slashes)");
        }
        return value;
    }

    /** Rejects query parameters the endpoint does not take, so a misspelt one is not silently ignored. */
    public Request allowQuery(String... names) {
        List<String> allowed = List.of(names);
        for (String given : query.keySet()) {
            if (!allowed.contains(given)) {
                throw HttpError.badRequest("unknown query parameter '" + HttpError.clip(given) + "'; "
                        + (allowed.isEmpty() ? "this endpoint takes none" : "this endpoint takes " + allowed));
            }
        }
        return this;
    }

    /** The single value of a query parameter that must be one of {@code choices}; {@code fallback} when absent. */
    public String choiceQueryParam(String name, String fallback, String... choices) {
        String value = queryParam(name, fallback);
        if (!List.of(choices).contains(value)) {
            throw HttpError.badRequest("query parameter '" + name + "' must be one of " + List.of(choices));
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
        // ASCII digits only: Integer.parseInt would also take other scripts' digits and a '+'.
        if (!ASCII_WHOLE_NUMBER.matcher(value).matches()) {
            throw HttpError.badRequest("query parameter '" + name + "' must be a whole number between " + min
                    + " and " + max);
        }
        long parsed;
        try {
            parsed = value.length() > 12 ? (value.startsWith("-") ? Long.MIN_VALUE : Long.MAX_VALUE)
                    : Long.parseLong(value);
        } catch (NumberFormatException e) {
            parsed = Long.MAX_VALUE;
        }
        if (parsed < min || parsed > max) {
            throw HttpError.badRequest("query parameter '" + name + "' must be between " + min + " and " + max);
        }
        return (int) parsed;
    }

    public String header(String name) {
        List<String> values = headers.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }
}
