package io.gradwatch.common.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HttpServiceIT {
    private final HttpClient client = HttpClient.newHttpClient();

    @Test
    void routesPathParametersAndQueries() throws Exception {
        try (HttpService service = server(new HttpAuth.None())) {
            var response = get(service, "/runs/run-7/health?limit=5", null);
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).contains("\"limit\":5").contains("\"run\":\"run-7\"");
            assertThat(get(service, "/nope", null).statusCode()).isEqualTo(404);
        }
    }

    @Test
    void badInputIsA400WithAJsonMessage() throws Exception {
        try (HttpService service = server(new HttpAuth.None())) {
            var badId = get(service, "/runs/%3Cscript%3E/health", null);
            assertThat(badId.statusCode()).isEqualTo(400);
            assertThat(badId.body()).contains("\"error\":\"runId must be");
            var badLimit = get(service, "/runs/r/health?limit=abc", null);
            assertThat(badLimit.statusCode()).isEqualTo(400);
            assertThat(badLimit.body()).contains("must be a whole number");
            assertThat(get(service, "/runs/r/health?limit=1&limit=2", null).statusCode()).isEqualTo(400);
            assertThat(get(service, "/boom", null).body()).doesNotContain("Exception").contains("internal error");
        }
    }

    @Test
    void queryValuesAreCheckedStrictly() throws Exception {
        try (HttpService service = server(new HttpAuth.None())) {
            Map<String, String> rejected = new java.util.LinkedHashMap<>();
            rejected.put("limit=abc", "must be a whole number between 1 and 100");
            rejected.put("limit=", "must be a whole number between 1 and 100");
            rejected.put("limit=-5", "must be between 1 and 100");
            rejected.put("limit=0", "must be between 1 and 100");
            rejected.put("limit=101", "must be between 1 and 100");
            rejected.put("limit=99999999999999999999999", "must be between 1 and 100");
            rejected.put("limit=%D9%A3", "must be a whole number"); // ARABIC-INDIC DIGIT THREE, a digit to parseInt
            rejected.put("limit=%2B5", "must be a whole number");
            rejected.put("limit=5%0D%0ASet-Cookie:%20x=1", "must be a whole number");
            rejected.put("limit=1&limit=2", "given 2 times");
            rejected.put("limit=" + "9".repeat(5000), "must be between 1 and 100");
            for (var entry : rejected.entrySet()) {
                var response = get(service, "/runs/r/health?" + entry.getKey(), null);
                assertThat(response.statusCode()).as(entry.getKey()).isEqualTo(400);
                assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(type ->
                        assertThat(type).startsWith("application/json"));
                assertThat(response.body()).as(entry.getKey()).contains(entry.getValue()).doesNotContain("Exception")
                        .doesNotContain("\tat ").hasSizeLessThan(400);
                assertThat(response.headers().firstValue("Set-Cookie")).isEmpty();
            }
            var unknown = get(service, "/runs/r/health?limt=5", null);
            assertThat(unknown.statusCode()).isEqualTo(400);
            assertThat(unknown.body()).contains("unknown query parameter 'limt'").contains("takes [limit, scope]");
            var choice = get(service, "/runs/r/health?limit=3&scope=everything", null);
            assertThat(choice.statusCode()).isEqualTo(400);
            assertThat(choice.body()).contains("'scope' must be one of [all, local]");
        }
    }

    @Test
    void idsAreNeverPathsOrMarkup() throws Exception {
        try (HttpService service = server(new HttpAuth.None())) {
            for (String id : List.of("..", ".", "%2E%2E", "a%2F..%2Fb", "%2Fa", "a%2F", "a%2F%2Fb", "%3Cb%3Ex%3C%2Fb%3E",
                    "a%00b", "a%0D%0Ab", "%C3%A9t%C3%A9", "a%20b", "r" + "x".repeat(200), "a*b", "a%25b")) {
                var response = get(service, "/runs/" + id + "/health", null);
                assertThat(response.statusCode()).as(id).isEqualTo(400);
                assertThat(response.body()).as(id).contains("runId must be 1-200 characters")
                        .doesNotContain("<b>");
            }
            // Slashes within a run id come URL-encoded and stay part of the id.
            var slashed = get(service, "/runs/team-a%2Flm-7b%2F2026-11-23T04:00/health", null);
            assertThat(slashed.statusCode()).isEqualTo(200);
            assertThat(slashed.body()).contains("\"run\":\"team-a/lm-7b/2026-11-23T04:00\"");
            assertThat(get(service, "/runs/r.1_a:b-c/health", null).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void wrongMethodsAndUnknownPathsAreJsonErrors() throws Exception {
        try (HttpService service = server(new HttpAuth.None())) {
            for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
                var response = client.send(HttpRequest.newBuilder(URI.create(service.baseUri() + "/runs/r/health"))
                        .method(method, HttpRequest.BodyPublishers.ofString("{}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).as(method).isEqualTo(405);
                assertThat(response.headers().firstValue("Allow")).hasValue("GET, HEAD");
                assertThat(response.body()).contains("\"error\":\"" + method + " is not allowed on /runs/r/health");
            }
            for (String path : List.of("/nope", "/runs", "/runs/r", "/runs/r/health/x", "/runs/r/health/",
                    "/%2e%2e/etc/passwd", "/" + "p".repeat(5000))) {
                var response = get(service, path, null);
                assertThat(response.statusCode()).as(path).isEqualTo(404);
                assertThat(response.body()).as(path).startsWith("{").contains("no such path").hasSizeLessThan(400);
            }
        }
    }

    @Test
    void rawRequestsWithControlCharactersOrHugeLinesAreRefused() throws Exception {
        try (HttpService service = server(new HttpAuth.None())) {
            // A CR LF inside the request line ends it early; the rest is a bogus header, never a response header.
            String injected = raw(service, "GET /runs/a\r\nSet-Cookie: x=1/health HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(injected).doesNotContain("Set-Cookie");
            assertThat(injected).doesNotStartWith("HTTP/1.1 200");
            String traversal = raw(service, "GET /runs/../health HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(traversal).startsWith("HTTP/1.1 400").contains("runId must be");
            String badEscape = raw(service, "GET /runs/r/health?limit=%zz HTTP/1.1\r\nHost: x\r\n\r\n");
            // A URI the JDK's server cannot parse is refused by the server itself, before any route:
            // a bare 400, still no stack trace.
            assertThat(badEscape).startsWith("HTTP/1.1 400").doesNotContain("\tat ");
            String huge = raw(service, "GET /runs/r/health?limit=" + "1".repeat(200_000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(huge).doesNotStartWith("HTTP/1.1 200").doesNotContain("Exception");
        }
    }

    private static String raw(HttpService service, String request) throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", service.port())) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            socket.shutdownOutput();
            try {
                return new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
            } catch (java.io.IOException closed) {
                return "";
            }
        }
    }

    @Test
    void protectedRoutesNeedCredentialsProbesDoNot() throws Exception {
        try (HttpService service = server(new HttpAuth.Basic("ops", "s3cret"))) {
            assertThat(get(service, "/runs/r/health", null).statusCode()).isEqualTo(401);
            String wrong = "Basic " + Base64.getEncoder().encodeToString("ops:nope".getBytes());
            assertThat(get(service, "/runs/r/health", wrong).statusCode()).isEqualTo(401);
            String right = "Basic " + Base64.getEncoder().encodeToString("ops:s3cret".getBytes());
            assertThat(get(service, "/runs/r/health", right).statusCode()).isEqualTo(200);
            assertThat(get(service, "/healthz", null).statusCode()).isEqualTo(200);
        }
        try (HttpService service = server(new HttpAuth.Bearer("t0ken"))) {
            assertThat(get(service, "/runs/r/health", "Bearer t0ken").statusCode()).isEqualTo(200);
            assertThat(get(service, "/runs/r/health", "Bearer other").statusCode()).isEqualTo(401);
        }
    }

    private HttpService server(HttpAuth auth) {
        return new HttpService(new HttpSettings("127.0.0.1", 0, auth))
                .publicGet("/healthz", request -> Response.text(200, "text/plain", "ok"))
                .get("/runs/{runId}/health", request -> Response.json(Map.of(
                        "run", request.allowQuery("limit", "scope").idParam("runId"),
                        "limit", request.intQueryParam("limit", 10, 1, 100),
                        "scope", request.choiceQueryParam("scope", "all", "all", "local"))))
                .get("/boom", request -> {
                    throw new IllegalStateException("secret internals");
                })
                .start("test-http");
    }

    private HttpResponse<String> get(HttpService service, String path, String authorization) throws Exception {
        var builder = HttpRequest.newBuilder(URI.create(service.baseUri() + path));
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        return client.send(builder.build(), HttpResponse.BodyHandlers.ofString());
    }
}
