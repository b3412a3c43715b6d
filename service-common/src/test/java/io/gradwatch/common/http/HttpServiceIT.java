package io.gradwatch.common.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Base64;
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
                        "run", request.idParam("runId"), "limit", request.intQueryParam("limit", 10, 1, 100))))
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
