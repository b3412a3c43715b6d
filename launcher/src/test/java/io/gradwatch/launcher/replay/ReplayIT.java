package io.gradwatch.launcher.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.v1.TensorRecord;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@ExtendWith(KafkaBrokerExtension.class)
class ReplayIT {

    @Test
    void sendsGoodLinesReportsBadOnesAndExportsTheRunBack(KafkaBroker broker, @TempDir Path dir) throws Exception {
        String topic = KafkaBroker.uniqueTopic("replay");
        broker.createTopics(List.of(topic), 2);
        String good = NdjsonTensorsTest.GOOD;
        Path input = dir.resolve("grads.ndjson");
        Files.writeString(input, String.join("\n", good, "{oops", good.replace("\"timestep\":4", "\"timestep\":5"),
                "", good.replace("\"seq_len\":10", "\"seq_len\":0")) + "\n");

        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        PrintStream originalErr = System.err;
        int exit;
        try {
            System.setErr(new PrintStream(errors, true, StandardCharsets.UTF_8));
            exit = new CommandLine(new ReplayCommand()).execute(input.toString(), "--topic", topic,
                    "--bootstrap-servers", broker.bootstrapServers());
        } finally {
            System.setErr(originalErr);
        }
        String report = errors.toString(StandardCharsets.UTF_8);
        assertThat(exit).isEqualTo(1);
        assertThat(report).contains("grads.ndjson:2: not valid JSON")
                .contains("grads.ndjson:5: TIMESTEP_OUT_OF_RANGE")
                .contains("2 records sent to " + topic + ", 2 bad lines skipped");

        Path exported = dir.resolve("export.ndjson");
        assertThat(new CommandLine(new ReplayCommand()).execute("--from-kafka", "--run", "r1", "--topic", topic,
                "--bootstrap-servers", broker.bootstrapServers(), "--output", exported.toString())).isZero();
        List<TensorRecord> back = Files.readAllLines(exported).stream().map(NdjsonTensors::parse).toList();
        assertThat(back).extracting(TensorRecord::getTimestep).containsExactly(4, 5);
        assertThat(back.get(0).getData()).isEqualTo(NdjsonTensors.parse(good).getData());
    }

    @Test
    void badBytesAndGluedRecordsAreBadLinesWithTheirNumbersAndTheRestIsSent(KafkaBroker broker, @TempDir Path dir)
            throws Exception {
        String topic = KafkaBroker.uniqueTopic("replay-bad");
        broker.createTopics(List.of(topic), 1);
        String good = NdjsonTensorsTest.GOOD;
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        bytes.write(new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf});
        bytes.write((good + "\r\n").getBytes(StandardCharsets.UTF_8));                          // 1: BOM, CRLF: fine
        bytes.write((good + " " + good + "\n").getBytes(StandardCharsets.UTF_8));                 // 2: two records
        bytes.write(new byte[] {'{', '"', 'r', (byte) 0xff, '"', '}', '\n'});                      // 3: not UTF-8
        bytes.write((good.replace("\"r1\"", "\"r1\\u0000x\"") + "\n").getBytes(StandardCharsets.UTF_8)); // 4: NUL in run
        bytes.write(good.replace("\"timestep\":4", "\"timestep\":5").getBytes(StandardCharsets.UTF_8)); // 5: no final LF
        Path input = Files.write(dir.resolve("mixed.ndjson"), bytes.toByteArray());

        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        PrintStream originalErr = System.err;
        int exit;
        try {
            System.setErr(new PrintStream(errors, true, StandardCharsets.UTF_8));
            exit = new CommandLine(new ReplayCommand()).execute(input.toString(), "--topic", topic,
                    "--bootstrap-servers", broker.bootstrapServers());
        } finally {
            System.setErr(originalErr);
        }
        String report = errors.toString(StandardCharsets.UTF_8);
        assertThat(exit).isEqualTo(1);
        assertThat(report).contains("mixed.ndjson:2: not valid JSON")
                .contains("mixed.ndjson:3: not valid UTF-8")
                .contains("mixed.ndjson:4: INVALID_RUN_ID")
                .contains("2 records sent to " + topic + ", 3 bad lines skipped (5 lines read)")
                .doesNotContain("mixed.ndjson:1:").doesNotContain("mixed.ndjson:5:").doesNotContain("\tat ");
    }
}
