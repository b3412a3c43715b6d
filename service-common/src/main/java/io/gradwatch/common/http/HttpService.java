package io.gradwatch.common.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The small HTTP server of every gradwatch service, on the JDK's built-in server. Routes are
 * matched by method and a path pattern such as {@code /runs/{runId}/health}; errors come back as
 * JSON {@code {"error": ...}}, never as a stack trace. Routes added with {@link #publicGet} (health
 * probes) skip authentication; all others require {@link HttpSettings#auth()}.
 *
 * <p>What one client can hold is bounded by {@link HttpSettings#limits()}: a request must arrive,
 * and its response be taken, within the read timeout, or the connection is closed; at most
 * {@code threads} requests are served at once and {@code queue} wait, the rest are answered 503
 * ({@link WorkerPool}).
 */
public final class HttpService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpService.class);
    private static final int MAX_BODY_BYTES = 1 << 20;
    /** Built once: the answer when every worker is busy must cost next to nothing. */
    private static final Response BUSY = Response.error(503, "server busy; retry shortly")
            .withHeader("Retry-After", "1").withHeader("Connection", "close");

    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private final HttpSettings settings;
    private final List<Route> routes = new ArrayList<>();
    private HttpServer server;
    private WorkerPool executor;

    public HttpService(HttpSettings settings) {
        this.settings = settings;
    }

    public HttpService get(String pattern, Handler handler) {
        routes.add(new Route("GET", pattern, handler, false));
        return this;
    }

    public HttpService post(String pattern, Handler handler) {
        routes.add(new Route("POST", pattern, handler, false));
        return this;
    }

    /** A GET route without authentication, for liveness and readiness probes. */
    public HttpService publicGet(String pattern, Handler handler) {
        routes.add(new Route("GET", pattern, handler, true));
        return this;
    }

    /**
     * The routes every gradwatch process serves: {@code /healthz} (200 while the process runs),
     * {@code /readyz} (503 with the reason while {@code notReady} names one) and {@code /metrics}
     * (the Prometheus text format of {@code scrape}).
     */
    public HttpService probes(Supplier<Optional<String>> notReady, Supplier<String> scrape) {
        return publicGet("/healthz", request -> Response.text(200, "text/plain", "ok\n"))
                .publicGet("/readyz", request -> notReady.get()
                        .map(why -> Response.text(503, "text/plain", "not ready: " + why + "\n"))
                        .orElseGet(() -> Response.text(200, "text/plain", "ready\n")))
                .get("/metrics", request -> Response.text(200, PROMETHEUS_TEXT, scrape.get()));
    }

    public HttpService start(String threadName) {
        try {
            server = HttpServer.create(new InetSocketAddress(settings.host(), settings.port()), 64);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + settings.host() + ":" + settings.port()
                    + " (is the port taken? set " + HttpSettings.PORT + ")", e);
        }
        executor = new WorkerPool(threadName, settings.limits());
        server.setExecutor(executor);
        server.createContext("/", this::dispatch);
        server.start();
        LOG.info("HTTP on {} (auth: {}; read timeout {} ms, {} threads, queue {})", baseUri(), settings.auth(),
                settings.limits().readTimeout().toMillis(), settings.limits().threads(), settings.limits().queue());
        return this;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public URI baseUri() {
        return URI.create("http://" + settings.host() + ":" + port());
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop(0);
            executor.close();
        }
    }

    /** Connections cut off because the client was too slow to send a request or take a response. */
    public long timedOutRequests() {
        return executor.timedOut();
    }

    /** Requests answered 503 (or, when even that was busy, closed) because every worker was busy. */
    public long rejectedRequests() {
        return executor.rejected();
    }

    WorkerPool workers() {
        return executor;
    }

    private void dispatch(HttpExchange exchange) {
        WorkerPool.Watch watch = WorkerPool.current();
        if (watch != null && watch.overloaded()) {
            send(exchange, BUSY);
            return;
        }
        Response response;
        try {
            response = route(exchange);
        } catch (HttpError e) {
            response = Response.error(e.status(), e.getMessage());
        } catch (RuntimeException | Error e) {
            LOG.error("{} {} failed", exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(), e);
            response = Response.error(500, "internal error; see the service log");
        }
        send(exchange, response);
    }

    private Response route(HttpExchange exchange) {
        String path = exchange.getRequestURI().getRawPath();
        Set<String> allowed = new TreeSet<>();
        for (Route route : routes) {
            Matcher matcher = route.regex.matcher(path);
            if (!matcher.matches()) {
                continue;
            }
            allowed.add(route.method);
            if (route.method.equals("GET")) {
                allowed.add("HEAD");
            }
            if (!route.method.equals(exchange.getRequestMethod())
                    && !("HEAD".equals(exchange.getRequestMethod()) && route.method.equals("GET"))) {
                continue;
            }
            if (!route.open && !settings.auth().permits(exchange.getRequestHeaders().getFirst("Authorization"))) {
                return Response.error(401, "authentication required")
                        .withHeader("WWW-Authenticate", settings.auth().challenge());
            }
            byte[] body = readBody(exchange);
            WorkerPool.Watch watch = WorkerPool.current();
            if (watch != null) {
                watch.disarm();
            }
            Request request = new Request(exchange.getRequestMethod(), path, pathParams(route, matcher),
                    parseQuery(exchange.getRequestURI().getRawQuery()), exchange.getRequestHeaders(), body);
            try {
                return route.handler.handle(request);
            } catch (HttpError | IllegalArgumentException e) {
                throw e instanceof HttpError error ? error : HttpError.badRequest(e.getMessage());
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return !allowed.isEmpty()
                ? Response.error(405, HttpError.clip(exchange.getRequestMethod()) + " is not allowed on "
                        + HttpError.clip(path) + "; use " + String.join(" or ", allowed))
                        .withHeader("Allow", String.join(", ", allowed))
                : Response.error(404, "no such path: " + HttpError.clip(path));
    }

    private static Map<String, String> pathParams(Route route, Matcher matcher) {
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < route.names.size(); i++) {
            params.put(route.names.get(i), decode(matcher.group(i + 1)));
        }
        return params;
    }

    static Map<String, List<String>> parseQuery(String rawQuery) {
        Map<String, List<String>> query = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return query;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int equals = pair.indexOf('=');
            String name = decode(equals < 0 ? pair : pair.substring(0, equals));
            String value = equals < 0 ? "" : decode(pair.substring(equals + 1));
            query.computeIfAbsent(name, key -> new ArrayList<>()).add(value);
        }
        return query;
    }

    private static String decode(String raw) {
        try {
            return URLDecoder.decode(raw, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest("malformed percent-encoding in '" + HttpError.clip(raw) + "'");
        }
    }

    private static byte[] readBody(HttpExchange exchange) {
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
            if (body.length > MAX_BODY_BYTES) {
                throw new HttpError(413, "request body larger than " + MAX_BODY_BYTES + " bytes");
            }
            return body;
        } catch (IOException e) {
            throw HttpError.badRequest("could not read the request body: " + e.getMessage());
        }
    }

    private static void send(HttpExchange exchange, Response response) {
        WorkerPool.Watch watch = WorkerPool.current();
        if (watch != null) {
            watch.arm();
        }
        try (exchange) {
            var headers = exchange.getResponseHeaders();
            headers.set("Content-Type", response.contentType());
            headers.set("X-Content-Type-Options", "nosniff");
            headers.set("Cache-Control", "no-store");
            response.headers().forEach(headers::set);
            boolean head = "HEAD".equals(exchange.getRequestMethod());
            exchange.sendResponseHeaders(response.status(), head ? -1 : response.body().length == 0 ? -1
                    : response.body().length);
            if (!head && response.body().length > 0) {
                exchange.getResponseBody().write(response.body());
            }
        } catch (IOException e) {
            LOG.debug("client went away before the response was sent: {}", e.toString());
        }
    }

    private static final Pattern PARAM = Pattern.compile("\\{([A-Za-z]+)}");

    private static final class Route {
        final String method;
        final Pattern regex;
        final List<String> names = new ArrayList<>();
        final Handler handler;
        final boolean open;

        Route(String method, String pattern, Handler handler, boolean open) {
            this.method = method;
            this.handler = handler;
            this.open = open;
            Matcher matcher = PARAM.matcher(pattern);
            StringBuilder regex = new StringBuilder();
            int last = 0;
            while (matcher.find()) {
                regex.append(Pattern.quote(pattern.substring(last, matcher.start()))).append("([^/]+)");
                names.add(matcher.group(1));
                last = matcher.end();
            }
            regex.append(Pattern.quote(pattern.substring(last)));
            this.regex = Pattern.compile(regex.toString());
        }
    }
}
