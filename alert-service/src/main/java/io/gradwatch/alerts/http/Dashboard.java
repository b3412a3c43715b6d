package io.gradwatch.alerts.http;

import io.gradwatch.common.http.HttpService;
import io.gradwatch.common.http.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The live dashboard page: HTML and script from this module, uPlot from its WebJar. */
public final class Dashboard {
    private static final String UPLOT = "/META-INF/resources/webjars/uplot/1.6.30/dist/";

    private Dashboard() {
    }

    public static HttpService routes(HttpService http) {
        Response page = resource("/dashboard/index.html", "text/html; charset=utf-8");
        Response script = resource("/dashboard/dashboard.js", "text/javascript; charset=utf-8");
        Response chart = resource(UPLOT + "uPlot.iife.min.js", "text/javascript; charset=utf-8");
        Response chartStyle = resource(UPLOT + "uPlot.min.css", "text/css; charset=utf-8");
        return http.get("/", request -> page)
                .get("/assets/dashboard.js", request -> script)
                .get("/assets/uplot.js", request -> chart)
                .get("/assets/uplot.css", request -> chartStyle);
    }

    private static Response resource(String path, String contentType) {
        try (InputStream in = Dashboard.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + path + " on the class path");
            }
            return Response.bytes(contentType, in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
