package io.gradwatch.common.http;

/** Answers one route. Throw {@link HttpError} to refuse a request with a status and message. */
@FunctionalInterface
public interface Handler {
    Response handle(Request request) throws Exception;
}
