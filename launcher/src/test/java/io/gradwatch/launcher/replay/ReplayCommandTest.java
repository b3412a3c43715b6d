package io.gradwatch.launcher.replay;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** The replay command's bad flags and bad files: told before any Kafka connection, exit code 2. */
class ReplayCommandTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "--no-such-flag x.ndjson                         | Unknown option: '--no-such-flag'",
        "--max-errors-shown abc x.ndjson                 | Invalid value for option '--max-errors-shown'",
        "--max-errors-shown -1 GOOD                      | --max-errors-shown must be >= 0, got -1",
        "NONE                                            | give the NDJSON FILE to publish",
        "a.ndjson b.ndjson                               | Unmatched argument",
        "--from-kafka                                    | --from-kafka needs --run RUN_ID",
        "--from-kafka --run EMPTY                         | --from-kafka needs --run RUN_ID",
        "--from-kafka --run r1 GOOD                      | give --output FILE, not an input FILE",
        "--run r1 GOOD                                   | --run only goes with --from-kafka",
        "--output out.ndjson GOOD                        | --output only goes with --from-kafka",
        "--topic EMPTY GOOD                              | --topic must not be empty",
        "--bootstrap-servers EMPTY GOOD                  | --bootstrap-servers must not be empty",
        "--config missing.properties GOOD                | --config: no such file: missing.properties",
        "missing.ndjson                                  | no such file: missing.ndjson",
        "DIR                                             | not a readable file: ",
    })
    void badFlagsAndFilesAreUsageErrorsSayingWhat(String args, String message) throws IOException {
        Path good = Files.writeString(dir.resolve("good.ndjson"), NdjsonTensorsTest.GOOD + "\n");
        List<String> argv = new ArrayList<>();
        for (String arg : args.trim().split("\\s+")) {
            switch (arg) {
                case "NONE" -> { }
                case "EMPTY" -> argv.add("");
                case "GOOD" -> argv.add(good.toString());
                case "DIR" -> argv.add(dir.toString());
                default -> argv.add(arg);
            }
        }
        StringWriter err = new StringWriter();
        int exit = new CommandLine(new ReplayCommand()).setErr(new PrintWriter(err, true))
                .execute(argv.toArray(String[]::new));
        assertThat(exit).as(err.toString()).isEqualTo(2);
        assertThat(err.toString()).contains(message).doesNotContain("\tat ").doesNotContain("Exception");
    }

    @Test
    void eachLineIsDecodedOnItsOwnAndNumbered() throws IOException {
        ByteArrayOutputStream input = new ByteArrayOutputStream();
        input.write(new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf}); // a byte-order mark, dropped
        input.write("{\"a\":1}\r\n".getBytes(StandardCharsets.UTF_8)); // CR LF, the CR dropped
        input.write(new byte[] {'{', (byte) 0xc3, (byte) 0x28, '}', '\n'}); // not UTF-8
        input.write("\n".getBytes(StandardCharsets.UTF_8)); // blank
        input.write(("{\"long\":\"" + "x".repeat(200) + "\"}\n").getBytes(StandardCharsets.UTF_8));
        input.write("{\"\u00e9t\u00e9\":\"\u65e5\u672c\"}\n".getBytes(StandardCharsets.UTF_8));
        input.write("{\"last\":true}".getBytes(StandardCharsets.UTF_8)); // no final newline
        List<String> seen = new ArrayList<>();
        long lines = NdjsonLines.read(new ByteArrayInputStream(input.toByteArray()), 100,
                (number, text, error) -> seen.add(number + ":" + (error == null ? text : "ERROR " + error)));
        assertThat(lines).isEqualTo(6);
        assertThat(seen).containsExactly("1:{\"a\":1}", "2:ERROR not valid UTF-8", "3:",
                "4:ERROR line longer than 100 bytes, skipped", "5:{\"\u00e9t\u00e9\":\"\u65e5\u672c\"}",
                "6:{\"last\":true}");
    }

    @Test
    void aLongLineIsSkippedWithoutHoldingItAndTheNextLineIsRead() throws IOException {
        byte[] big = ("{\"x\":\"" + "y".repeat(300_000) + "\"}\n{\"ok\":1}\n").getBytes(StandardCharsets.UTF_8);
        List<String> seen = new ArrayList<>();
        NdjsonLines.read(new ByteArrayInputStream(big), 1000,
                (number, text, error) -> seen.add(number + ":" + (error == null ? text : "ERROR")));
        assertThat(seen).containsExactly("1:ERROR", "2:{\"ok\":1}");
    }
}
