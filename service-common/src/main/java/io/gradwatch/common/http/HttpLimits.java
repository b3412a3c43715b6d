package io.gradwatch.common.http;

import java.time.Duration;

/**
 * How much a client may take from a service's HTTP server: the whole request (request line,
 * headers and body) must arrive within {@code readTimeout} once a worker starts reading it, the
 * response must be taken within the same time, and at most {@code threads} requests are read and answered at once
 * with {@code queue} more waiting; beyond that a request is answered 503 at once.
 *
 * @param readTimeout how long a request may take to arrive, and its response to be taken
 * @param threads     worker threads (each in-flight request holds one from its first byte)
 * @param queue       requests waiting for a worker before the server answers 503
 */
public record HttpLimits(Duration readTimeout, int threads, int queue) {
    public static final HttpLimits DEFAULT = new HttpLimits(Duration.ofSeconds(5), 32, 64);

    public HttpLimits {
        if (readTimeout.isNegative() || readTimeout.isZero()) {
            throw new IllegalArgumentException("readTimeout must be positive: " + readTimeout);
        }
        if (threads < 1 || queue < 0) {
            throw new IllegalArgumentException("threads must be at least 1 and queue at least 0");
        }
    }
}
