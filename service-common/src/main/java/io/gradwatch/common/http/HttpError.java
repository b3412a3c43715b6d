package io.gradwatch.common.http;

/** A request the service refuses; the status and message go back to the client as JSON. */
public final class HttpError extends RuntimeException {
    private final int status;

    public HttpError(int status, String message) {
        super(message);
        this.status = status;
    }

    public static HttpError badRequest(String message) {
        return new HttpError(400, message);
    }

    public static HttpError notFound(String message) {
        return new HttpError(404, message);
    }

    /** Client input quoted in a message, cut to 100 characters so a huge value is not echoed whole. */
    public static String clip(String input) {
        return input.length() <= 100 ? input : input.substring(0, 100) + "... (" + input.length() + " characters)";
    }

    public int status() {
        return status;
    }
}
