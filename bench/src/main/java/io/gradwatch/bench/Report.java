package io.gradwatch.bench;

import com.fasterxml.jackson.databind.SerializationFeature;
import io.gradwatch.common.http.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The figures of one bench run: a table for people, the same as JSON for tools and history. */
final class Report {
    /** One measured figure, with the target it is judged against when there is one. */
    record Figure(String section, String name, double value, String unit, String target, Boolean met) {
    }

    private final Map<String, Object> context = new LinkedHashMap<>();
    private final List<Figure> figures = new ArrayList<>();

    void context(String key, Object value) {
        context.put(key, value);
    }

    void add(String section, String name, double value, String unit) {
        figures.add(new Figure(section, name, value, unit, null, null));
    }

    /** A figure with a target: {@code met} says whether it holds. */
    void add(String section, String name, double value, String unit, String target, boolean met) {
        figures.add(new Figure(section, name, value, unit, target, met));
    }

    void print(PrintStream out) {
        out.println();
        context.forEach((key, value) -> out.printf(Locale.ROOT, "%-14s %s%n", key, value));
        out.println();
        String format = "%-22s %-44s %14s %-8s %s%n";
        out.printf(Locale.ROOT, format, "section", "figure", "value", "unit", "target");
        for (Figure figure : figures) {
            out.printf(Locale.ROOT, format, figure.section(), figure.name(), number(figure.value()), figure.unit(),
                    figure.target() == null ? "" : figure.target() + (figure.met() ? "  met" : "  MISSED"));
        }
    }

    void write(Path file) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("context", context);
        json.put("figures", figures);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, Json.MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(json));
    }

    static String number(double value) {
        if (Double.isNaN(value)) {
            return "-";
        }
        double magnitude = Math.abs(value);
        if (magnitude != 0 && (magnitude >= 1e7 || magnitude < 1e-2)) {
            return String.format(Locale.ROOT, "%.3e", value);
        }
        return String.format(Locale.ROOT, magnitude >= 100 ? "%.0f" : "%.3f", value);
    }
}
