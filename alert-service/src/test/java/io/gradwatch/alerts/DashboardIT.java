package io.gradwatch.alerts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.gradwatch.common.config.Settings;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.AlertEvent;
import io.gradwatch.protocol.v1.AlertState;
import io.gradwatch.protocol.v1.AlertType;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.protocol.v1.LayerHealth;
import io.gradwatch.protocol.v1.RunMetadata;
import io.gradwatch.protocol.v1.Severity;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.testkit.Await;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built-in dashboard rendered by headless Chromium (Debian's 'chromium') from an alert-service
 * that reads records produced here to a real broker: the gradient-flow heatmap, the step charts,
 * the per-parameter norms, the timeline, the fleet table's filters and a run id made of markup.
 * Screenshots go to target/screenshots; with {@code -Dgradwatch.update-docs=true} also to docs/.
 */
@ExtendWith(KafkaBrokerExtension.class)
class DashboardIT {
    private static final String SUFFIX = Long.toString(System.nanoTime() % 100_000);
    private static final String VANISHING = "lm-vanishing-rnn-" + SUFFIX;
    private static final String EXPLODING = "lm-exploding-rnn-" + SUFFIX;
    private static final String LSTM = "lm-lstm-" + SUFFIX;
    private static final String HOSTILE = "<b id=pwned>bold</b>" + SUFFIX;
    private static final int T = 50;
    private static final int STEPS = 80;
    private static final HttpClient CLIENT = HttpClient.newHttpClient();
    private static AlertServiceMain.Running service;
    private static String base;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start(KafkaBroker broker) throws Exception {
        requireChromium();
        broker.ensureTopics(Topics.ALL, 2);
        try (var producer = new KafkaProducer<>(broker.clientProperties(), new StringSerializer(),
                new ByteArraySerializer())) {
            produceRun(producer, VANISHING, 0.6, false, "team", "lm", "model", "rnn");
            produceRun(producer, EXPLODING, 1.3, true, "team", "lm", "model", "rnn-big-init");
            produceRun(producer, LSTM, 0.98, false, "team", "speech", "model", "lstm");
            produceRun(producer, HOSTILE, 0.9, false, "team", "red");
            long now = System.currentTimeMillis();
            send(producer, Topics.ALERTS, VANISHING, alert(VANISHING, 12, AlertType.VANISHING, AlertState.FIRING,
                    Severity.WARNING, now - 60_000).setRemedy("use an LSTM or GRU").build().toByteArray());
            send(producer, Topics.ALERTS, EXPLODING, alert(EXPLODING, 20, AlertType.EXPLODING, AlertState.FIRING,
                    Severity.CRITICAL, now - 50_000).setRemedy("clip the gradient norm").build().toByteArray());
            send(producer, Topics.ALERTS, EXPLODING, alert(EXPLODING, 21, AlertType.EXPLODING,
                    AlertState.ACTION_TAKEN, Severity.CRITICAL, now - 49_000).setAction(ControlCommand.newBuilder()
                    .setRunId(EXPLODING).setCommandId("clip-" + SUFFIX).setReason("exploding gradient")
                    .setSetClipNorm(ControlCommand.SetClipNorm.newBuilder().setMaxNorm(1.0))).build().toByteArray());
            send(producer, Topics.STEPS, EXPLODING, step(EXPLODING, 22, 1.3).addAppliedCommands("clip-" + SUFFIX)
                    .build().toByteArray());
            send(producer, Topics.ALERTS, LSTM, alert(LSTM, 30, AlertType.SATURATED, AlertState.FIRING, Severity.INFO,
                    now - 40_000).build().toByteArray());
            send(producer, Topics.ALERTS, LSTM, alert(LSTM, 36, AlertType.SATURATED, AlertState.RESOLVED,
                    Severity.INFO, now - 30_000).build().toByteArray());
        }
        service = AlertServiceMain.start(AlertServiceConfig.from(Settings.load(AlertServiceConfig.defaults(), null,
                Map.of(), Map.of("kafka.bootstrap.servers", broker.bootstrapServers(), "http.port", "0"))));
        base = service.http().baseUri().toString().replaceFirst("/$", "") + "/";
        Await.until("alert-service caught up with the topics", Duration.ofSeconds(60), () -> get("/readyz").statusCode() == 200
                && service.state().snapshot(LSTM).map(r -> r.timeline().size() == 2).orElse(false)
                && service.state().snapshot(EXPLODING).map(r -> r.timeline().size() == 3).orElse(false));
    }

    @AfterAll
    static void stop() {
        if (service != null) {
            service.close();
        }
    }

    @Test
    void theRunViewShowsTheGradientFlowStepChartsParameterNormsAndTimeline() throws Exception {
        String dom = chromium("--dump-dom", base + "?run=" + EXPLODING);
        assertThat(dom).as("heatmap of layer 0, every step kept, every timestep")
                .contains("id=\"flow-layer-0\"").contains("data-steps=\"" + (STEPS + 1) + "\"")
                .contains("data-timesteps=\"" + T + "\"")
                .contains("gradient flow, layer 0: log10 ‖dL/dh_t‖, training step × timestep (T = 50)");
        assertThat(dom).as("a second layer has its own heatmap").contains("id=\"flow-layer-1\"");
        assertThat(between(dom, "id=\"loss-chart\"", "id=\"norm-chart\"")).as("loss chart").contains("uplot")
                .contains(">loss<");
        assertThat(between(dom, "id=\"norm-chart\"", "id=\"lr-chart\"")).as("norm chart, before and after clipping")
                .contains("uplot").contains("before clipping").contains("after clipping");
        assertThat(between(dom, "id=\"lr-chart\"", "param-norms-title")).as("learning-rate chart").contains("uplot")
                .contains("learning rate");
        assertThat(between(dom, "id=\"param-norms\"", "</tbody>")).as("per-parameter norms of the latest step")
                .contains("data-param=\"weight_hh_l0\"").contains("data-param=\"head.weight\"");
        String timeline = between(dom, "id=\"timeline\"", "</tbody>");
        assertThat(timeline).as("timeline: fired, action sent, applied by the trainer")
                .contains("data-kind=\"FIRING\"").contains("data-kind=\"ACTION_TAKEN\"").contains("data-kind=\"APPLIED\"")
                .contains("monitor sent set clip norm 1.0: exploding gradient")
                .contains("trainer applied set clip norm 1.0 [clip-" + SUFFIX + "]");
        assertThat(between(dom, "id=\"history-chart\"", "id=\"loss-chart\"")).as("integer ticks on the horizon axis")
                .doesNotContainPattern(">\\d+\\.\\d+<");
        screenshot("dashboard-run.png", base + "?run=" + EXPLODING);
        screenshot("dashboard-vanishing.png", base + "?run=" + VANISHING);
    }

    @Test
    void theFleetTableFiltersByStateAlertTypeAndLabelAndSorts() throws Exception {
        String all = chromium("--dump-dom", base);
        assertThat(all).contains("data-run=\"" + VANISHING + "\"").contains("data-run=\"" + LSTM + "\"");
        String critical = fleet(chromium("--dump-dom", base + "?state=critical"));
        assertThat(critical).contains("data-run=\"" + EXPLODING + "\"").doesNotContain("data-run=\"" + VANISHING + "\"")
                .doesNotContain("data-run=\"" + LSTM + "\"");
        String vanishing = fleet(chromium("--dump-dom", base + "?type=VANISHING"));
        assertThat(vanishing).contains("data-run=\"" + VANISHING + "\"").doesNotContain("data-run=\"" + EXPLODING + "\"");
        String speech = fleet(chromium("--dump-dom", base + "?label=team%3Dspeech"));
        assertThat(speech).contains("data-run=\"" + LSTM + "\"").doesNotContain("data-run=\"" + VANISHING + "\"");
        String byState = chromium("--dump-dom", base + "?label=team%3Dlm&sort=state");
        String rows = fleet(byState);
        assertThat(rows.indexOf(EXPLODING)).as("critical before warning").isLessThan(rows.indexOf(VANISHING));
        assertThat(byState).contains("class=\"sortable sorted-asc\" data-sort=\"state\"");
        String byStepDesc = fleet(chromium("--dump-dom", base + "?sort=loss&order=desc&label=team%3Dlm"));
        assertThat(byStepDesc.indexOf(EXPLODING)).as("higher loss first").isLessThan(byStepDesc.indexOf(VANISHING));
        screenshot("dashboard-fleet.png", base + "?state=&sort=state");
    }

    @Test
    void aRunIdMadeOfMarkupIsShownAsText() throws Exception {
        String dom = chromium("--dump-dom", base + "?label=team%3Dred");
        assertThat(dom).contains("&lt;b id=pwned&gt;bold&lt;/b&gt;" + SUFFIX).doesNotContain("<b id=\"pwned\">");
    }

    private static void produceRun(KafkaProducer<String, byte[]> producer, String run, double perStep, boolean clip,
                                   String... labels) {
        RunMetadata.Builder metadata = RunMetadata.newBuilder().setNumLayers(2).setClipNorm(clip ? 1.0 : 0);
        for (int i = 0; i < labels.length; i += 2) {
            metadata.putLabels(labels[i], labels[i + 1]);
        }
        for (int step = 0; step <= STEPS; step++) {
            StepRecord.Builder record = step(run, step, perStep);
            if (step == 0) {
                record.setMetadata(metadata);
            }
            send(producer, Topics.STEPS, run, record.build().toByteArray());
            for (int layer = 0; layer < 2; layer++) {
                // The profile sinks (or grows) by perStep per timestep, and drifts a little over training.
                double drift = Math.pow(perStep, step / 40.0);
                LayerHealth.Builder health = LayerHealth.newBuilder().setRunId(run).setStep(step).setLayer(layer)
                        .setSeqLen(T).setComplete(true).setTimestepsReceived(T)
                        .setEventTimeMs(System.currentTimeMillis());
                for (int t = 0; t < T; t++) {
                    health.addTimestepNorms(0.1 * Math.pow(perStep, T - 1 - t) * drift / (layer + 1));
                }
                double decay = Math.pow(perStep, T - 1);
                int horizon = perStep >= 1 ? T - 1 : Math.min(T - 1, (int) Math.floor(Math.log(0.01) / Math.log(perStep)));
                send(producer, Topics.HEALTH, run, health.setDecayRatio(decay).setHorizon(horizon).build().toByteArray());
            }
        }
    }

    private static StepRecord.Builder step(String run, long step, double perStep) {
        double norm = perStep > 1 ? 2.0 * Math.pow(1.05, step) : 0.5 / (1 + step / 20.0);
        double clipped = perStep > 1 && step >= 22 ? Math.min(norm, 1.0) : norm;
        return StepRecord.newBuilder().setRunId(run).setStep(step).setLoss(0.69 * Math.exp(-step / (perStep * 60)))
                .setAccuracy(0.5 + step / 400.0).setGradNorm(norm).setGradNormClipped(clipped)
                .setLearningRate(step < 40 ? 1e-3 : 5e-4).setSeqLen(T).setEventTimeMs(System.currentTimeMillis())
                .putParamGradNorms("weight_ih_l0", norm * 0.2).putParamGradNorms("weight_hh_l0", norm * 0.7)
                .putParamGradNorms("bias_hh_l0", norm * 0.05).putParamGradNorms("head.weight", norm * 0.3);
    }

    private static AlertEvent.Builder alert(String run, long step, AlertType type, AlertState state, Severity severity,
                                            long timeMs) {
        return AlertEvent.newBuilder().setRunId(run).setLayer(0).setStep(step).setType(type).setState(state)
                .setSeverity(severity).setValue(1e-9).setThreshold(1e-8).setEventTimeMs(timeMs)
                .setMessage(type.name().toLowerCase() + " " + state.name().toLowerCase());
    }

    private static void send(KafkaProducer<String, byte[]> producer, String topic, String run, byte[] value) {
        producer.send(new ProducerRecord<>(topic, run, value));
    }

    private static String fleet(String dom) {
        return between(dom, "id=\"runs\"", "</tbody>");
    }

    private static String between(String text, String from, String to) {
        int start = text.indexOf(from);
        assertThat(start).as("page has " + from).isNotNegative();
        int end = text.indexOf(to, start + from.length());
        return text.substring(start, end < 0 ? text.length() : end);
    }

    private static void screenshot(String name, String url) throws Exception {
        Path shots = Path.of("target", "screenshots");
        Files.createDirectories(shots);
        Path file = shots.resolve(name).toAbsolutePath();
        chromium("--screenshot=" + file, "--window-size=1400,2300", "--hide-scrollbars", url);
        assertThat(file).exists().isNotEmptyFile();
        if (Boolean.getBoolean("gradwatch.update-docs")) {
            Files.copy(file, Path.of("..", "docs", name), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static String chromium(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("/usr/bin/chromium", "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir="
                        + Files.createTempDirectory(dir, "chromium"), "--virtual-time-budget=6000"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectError(dir.resolve("chromium.log").toFile()).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(90, TimeUnit.SECONDS)).isTrue();
        return output;
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create(base + path.replaceFirst("^/", ""))).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static void requireChromium() {
        if (!Files.isExecutable(Path.of("/usr/bin/chromium"))) {
            fail("/usr/bin/chromium is not installed: install the Debian package 'chromium' (./gradwatch test does)");
        }
    }
}
