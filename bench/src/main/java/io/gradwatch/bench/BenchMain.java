package io.gradwatch.bench;

import io.gradwatch.bench.jmh.LstmStepBenchmark;
import io.gradwatch.launcher.FailoverDrill;
import io.gradwatch.launcher.StackLayout;
import io.gradwatch.launcher.SyntheticGradients;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./gradwatch bench}: every scenario on a real broker, one after the other, on this machine. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = {
    "Measure the pipeline on a real broker started here: monitor throughput against a plain consumer,",
    "detection latency under load, trainer publish overhead, the LSTM step against the machine's FMA",
    "peak (JMH), 1,000 runs through monitor and alert-service, and the Python client's cost to a PyTorch",
    "LSTM (Debian's /usr/bin/python3), GradientSummary records (bytes per step, monitor rate), and the",
    "failover time of three monitor instances when one is killed.",
    "Prints a table and writes the same figures as JSON",
    "(docs/performance.md)."})
public final class BenchMain implements Callable<Integer> {
    enum Scenario { THROUGHPUT, SEQLEN, LATENCY, PUBLISH, LSTM, SCALE, PYTORCH, SUMMARIES, FAILOVER }

    @Option(names = "--quick", description = "small sizes: checks the harness works, figures are not meaningful")
    boolean quick;

    @Option(names = "--only", split = ",", paramLabel = "SCENARIO",
            description = "run only these: ${COMPLETION-CANDIDATES} (default: all)")
    Set<Scenario> only = EnumSet.allOf(Scenario.class);

    @Option(names = "--out", paramLabel = "FILE", description = "JSON results (default: .gradwatch/bench/results.json)")
    Path out;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "broker and service data (default: .gradwatch/bench)")
    Path dataDir;

    @Option(names = "--port-base", defaultValue = "29092", paramLabel = "N",
            description = "each scenario's stack uses N+10*i .. N+10*i+3 (default: ${DEFAULT-VALUE})")
    int portBase;

    @Override
    public Integer call() throws Exception {
        Path home = Path.of(System.getProperty("gradwatch.home", ".")).toAbsolutePath().normalize();
        Path data = dataDir != null ? dataDir.toAbsolutePath() : home.resolve(".gradwatch").resolve("bench");
        Path results = out != null ? out : data.resolve("results.json");
        Consumer<String> progress = message -> System.out.println("bench: " + message);
        Report report = new Report();
        report.context("date", LocalDate.now().toString());
        report.context("machine", Runtime.getRuntime().availableProcessors() + " cores, "
                + System.getProperty("os.arch") + ", " + System.getProperty("java.vm.name") + " "
                + System.getProperty("java.version"));
        report.context("mode", quick ? "quick (harness check only)" : "full");
        SyntheticGradients large = new SyntheticGradients(32, 128);
        int index = 0;
        MonitorThroughput.Result throughput = null;
        for (Scenario scenario : Scenario.values()) {
            if (!only.contains(scenario)) {
                continue;
            }
            if (scenario == Scenario.LSTM) {
                report(report, lstmStep(progress));
                continue;
            }
            StackLayout layout = new StackLayout(home, data.resolve(scenario.name().toLowerCase(Locale.ROOT)),
                    portBase + 10 * index++);
            deleteRecursively(layout.dataDir());
            if (scenario == Scenario.FAILOVER) {
                report(report, failover(layout, progress));
                continue;
            }
            try (BenchStack stack = BenchStack.start(layout)) {
                switch (scenario) {
                    case THROUGHPUT -> {
                        throughput = quick ? MonitorThroughput.run(stack, 8, 5, 50, large, progress)
                                : MonitorThroughput.run(stack, 24, 150, 50, large, progress);
                        report(report, throughput);
                    }
                    case SEQLEN -> report(report, SeqLenThroughput.run(stack, 8, quick ? 4_000 : 160_000,
                            new int[] {10, 100, 1_000, 10_000}, new SyntheticGradients(4, 32), progress));
                    case LATENCY -> {
                        if (throughput == null) {
                            throughput = MonitorThroughput.run(stack, 8, quick ? 5 : 20, 50, large, progress);
                        } else {
                            stack.startMonitor("1g");
                        }
                        // Half of what producer, broker and monitor sustain together here: on two shared
                        // cores that, not the monitor alone, is the ceiling a live load meets.
                        double load = 0.5 * throughput.liveRecordsPerSecond();
                        report(report, DetectionLatency.run(stack, load, quick ? 10 : 100, large, progress));
                    }
                    case PUBLISH -> report(report, quick ? PublishOverhead.run(stack, "lstm", 30, 1, progress)
                            : PublishOverhead.run(stack, "lstm", 200, 3, progress));
                    case SCALE -> report(report, FleetScale.run(stack, quick ? 100 : 1000, quick ? 1 : 3,
                            new SyntheticGradients(4, 64), progress));
                    case PYTORCH -> report(report, PyTorchOverhead.run(home, layout.dataDir(), stack.bootstrap(),
                            quick ? 1 : 20, quick ? 1 : 3, quick ? 10 : 100, progress));
                    case SUMMARIES -> report(report, quick ? SummaryThroughput.run(stack, 8, 20, progress)
                            : SummaryThroughput.run(stack, 24, 1000, progress));
                    default -> throw new IllegalStateException(scenario.name());
                }
            }
        }
        report.print(System.out);
        report.write(results);
        System.out.println();
        System.out.println("bench: figures written to " + results);
        return 0;
    }

    private static void report(Report report, MonitorThroughput.Result r) {
        String section = "1 monitor throughput";
        report.add(section, "records (" + r.tensorBytes() / 1024 + " KB F32 HIDDEN_GRAD)", r.records(), "records");
        report.add(section, "plain KafkaConsumer (ceiling)", r.consumerRecordsPerSecond(), "rec/s");
        report.add(section, "plain KafkaConsumer (ceiling)", r.consumerMegabytesPerSecond(), "MB/s");
        report.add(section, "Kafka Streams doing nothing, exactly-once", r.emptyStreamsRecordsPerSecond(), "rec/s");
        report.add(section, "monitor-service, exactly-once", r.monitorRecordsPerSecond(), "rec/s");
        report.add(section, "monitor-service, exactly-once", r.monitorMegabytesPerSecond(), "MB/s");
        report.add(section, "monitor / consumer", r.ratio(), "ratio", ">= 0.9", r.ratio() >= 0.9);
        report.add(section, "monitor / Kafka Streams doing nothing",
                r.monitorRecordsPerSecond() / r.emptyStreamsRecordsPerSecond(), "ratio");
        report.add(section, "CPU of monitor-service while timed", r.monitorCores(), "cores");
        report.add(section, "CPU of the broker while timed", r.brokerCores(), "cores");
        report.add(section, "monitor-service, records produced live", r.liveRecordsPerSecond(), "rec/s");
    }

    private static void report(Report report, SeqLenThroughput.Result r) {
        String section = "1b seq_len";
        for (SeqLenThroughput.Point p : r.points()) {
            report.add(section, String.format(Locale.ROOT, "monitor-service at T %d (%d B F32)", p.seqLen(),
                    r.tensorBytes()), p.recordsPerSecond(), "rec/s");
            report.add(section, String.format(Locale.ROOT, "cost per record at T %d", p.seqLen()),
                    p.microsPerRecord(), "us");
        }
        double ratio = r.costRatio(10_000, 100);
        report.add(section, "cost per record, T 10000 / T 100", ratio, "ratio", "<= 1.5", ratio <= 1.5);
    }

    private static void report(Report report, DetectionLatency.Result r) {
        String section = "2 detection latency";
        report.add(section, "background load (target)", r.loadRecordsPerSecond(), "rec/s");
        report.add(section, "background load (achieved)", r.achievedLoadRecordsPerSecond(), "rec/s");
        report.add(section, "probes measured", r.latencyMillis().count(), "probes");
        report.add(section, "probes without an alert in 10 s", r.missed(), "probes", "0", r.missed() == 0);
        report.add(section, "send -> AlertEvent p50", r.latencyMillis().p50(), "ms");
        report.add(section, "send -> AlertEvent p99", r.latencyMillis().p99(), "ms", "<= 200",
                r.latencyMillis().p99() <= 200);
        report.add(section, "send -> AlertEvent max", r.latencyMillis().max(), "ms");
    }

    private static void report(Report report, PublishOverhead.Result r) {
        String section = "3 publish overhead";
        report.add(section, "step, --no-kafka (" + r.preset() + ")", r.offlineStepMillis(), "ms");
        report.add(section, "step, publishing every step", r.kafkaStepMillis(), "ms");
        report.add(section, "overhead (wall clock)", 100 * r.overhead(), "%", "<= 3", r.overhead() <= 0.03);
        report.add(section, "training thread CPU, --no-kafka", r.offlineTrainingCpuMillis(), "ms/step");
        report.add(section, "training thread CPU, publishing", r.kafkaTrainingCpuMillis(), "ms/step");
        report.add(section, "training thread's own overhead (CPU)", 100 * r.trainingThreadOverhead(), "%", "<= 3",
                r.trainingThreadOverhead() <= 0.03);
        report.add(section, "publisher + producer threads CPU", r.publisherCpuMillis(), "ms/step");
        report.add(section, "broker CPU (same 2 cores)", r.brokerCpuMillis(), "ms/step");
    }

    /** Scenario 4: JMH in forks of its own, the LSTM step and the peak-FMA kernel one after the other. */
    private LstmStepBenchmark.Figures lstmStep(Consumer<String> progress) throws org.openjdk.jmh.runner.RunnerException {
        progress.accept("LSTM step: JMH, LSTM B 32 H 128 T 100 forward + BPTT, and the peak-FMA kernel"
                + (quick ? " (1 short iteration each)" : ""));
        OptionsBuilder options = new OptionsBuilder();
        options.verbosity(org.openjdk.jmh.runner.options.VerboseMode.SILENT);
        if (quick) {
            options.warmupIterations(1).measurementIterations(1).warmupTime(TimeValue.milliseconds(300))
                    .measurementTime(TimeValue.milliseconds(300));
        }
        return LstmStepBenchmark.run(options, true);
    }

    private static void report(Report report, LstmStepBenchmark.Figures r) {
        String section = "4 LSTM step (JMH)";
        report.add(section, "step, B 32 H 128 IN 128 T 100, fwd+bwd", r.stepMillis(), "ms");
        report.add(section, "step", r.stepGflops(), "GFLOP/s");
        report.add(section, "measured FMA peak, one core", r.peakGflops(), "GFLOP/s");
        report.add(section, "step / peak", 100 * r.ratio(), "%", ">= 30", r.ratio() >= 0.30);
    }

    private static void report(Report report, FleetScale.Result r) {
        String section = "5 scale";
        report.add(section, "runs x 2 layers x T 50 (" + r.tensorBytes() + " B records)", r.runs(), "runs");
        report.add(section, "records", r.records(), "records");
        report.add(section, "monitor sustained throughput", r.monitorRecordsPerSecond(), "rec/s");
        double heapMb = r.monitorPeakHeapBytes() / (1 << 20);
        report.add(section, "monitor peak heap used", heapMb, "MiB", "< 1024", heapMb < 1024);
        report.add(section, "monitor state stores on disk", r.stateStoreBytes() / (double) (1 << 20), "MiB");
        report.add(section, "alert-service peak heap used", r.alertsPeakHeapBytes() / (1 << 20), "MiB");
        report.add(section, "alert-service runs tracked", r.trackedRuns(), "runs");
        report.add(section, "alert-service /metrics series", r.seriesCount(), "series");
        report.add(section, "/metrics scrape p50", r.scrapeMillis().p50(), "ms");
        report.add(section, "/metrics scrape max", r.scrapeMillis().max(), "ms", "< 250", r.scrapeMillis().max() < 250);
    }

    private static void report(Report report, PyTorchOverhead.Result r) {
        String section = "6 PyTorch client";
        report.add(section, "step, no gradwatch (" + r.model() + ")", r.unprobedStepMillis(), "ms");
        report.add(section, "step, watched, probe every " + r.probeEvery(), r.watchedStepMillis(), "ms");
        report.add(section, "overhead (wall clock)", 100 * r.overhead(), "%", "<= 5", r.overhead() <= 0.05);
        report.add(section, "process CPU per step, no gradwatch", r.unprobedCpuMillis(), "ms");
        report.add(section, "process CPU per step, watched (probe every " + r.probeEvery() + ")", r.watchedCpuMillis(),
                "ms");
        report.add(section, "overhead (process CPU)", 100 * r.overheadCpu(), "%", "<= 5", r.overheadCpu() <= 0.05);
        report.add(section, "probed step (unrolled twin)", r.probedStepMillis(), "ms");
        report.add(section, "training thread publishing a probed step", r.publishMillisPerProbedStep(), "ms");
        report.add(section, "  as a share of an unprobed step", 100 * r.publishShareOfStep(), "%", "<= 3",
                r.publishShareOfStep() <= 0.03);
        report.add(section, "records per step (mean)", r.recordsPerStep(), "records");
        report.add(section, "bytes per step (mean)", r.bytesPerStep(), "B");
        report.add(section, "records per probed step", r.recordsPerProbedStep(), "records");
        report.add(section, "bytes per probed step", r.bytesPerProbedStep(), "B");
        report.add(section, "records dropped", r.droppedRecords(), "records");
    }

    private static void report(Report report, SummaryThroughput.Result r) {
        String section = "7 summaries";
        report.add(section, "lstm preset step as tensors (B 32, H 64, T 50, dL/dh_t + h_t)", r.tensorBytesPerStep(),
                "B");
        report.add(section, "lstm preset step as a GradientSummary", r.summaryBytesPerStep(), "B");
        report.add(section, "tensors / summary", r.ratio(), "ratio", ">= 100", r.ratio() >= 100);
        report.add(section, "summaries analysed (T 50, activations)", r.records(), "records");
        report.add(section, "monitor-service, exactly-once", r.monitorRecordsPerSecond(), "rec/s");
        report.add(section, "timesteps analysed", r.timestepsPerSecond(), "timesteps/s");
        report.add(section, "CPU of monitor-service while timed", r.monitorCores(), "cores");
    }

    /** Scenario 8: FailoverIT's drill on a broker of its own; the three instances' HTTP on the layout's ports. */
    private FailoverDrill.Result failover(StackLayout layout, Consumer<String> progress) throws Exception {
        FailoverDrill.Plan plan = quick ? new FailoverDrill.Plan(3, 6, 1, 30, 300, 8, 1)
                : FailoverDrill.Plan.standard();
        progress.accept("failover: " + plan.instances() + " monitor instances on " + plan.partitions()
                + " partitions, standby replicas, one killed mid-stream");
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < plan.instances(); i++) {
            ports.add(layout.monitorPort() + i); // the next scenario's ports start 10 above this one's
        }
        return FailoverDrill.run(layout, ports, plan, progress);
    }

    private static void report(Report report, FailoverDrill.Result r) {
        String section = "8 failover";
        double seconds = r.failover().toMillis() / 1000.0;
        report.add(section, "failover_seconds", seconds, "s", "< 10", seconds < 10);
        long missing = Math.max(0, r.expectedHealth() - r.health().size());
        report.add(section, "LayerHealth read (distinct run, step, layer)", r.health().size(), "records");
        report.add(section, "LayerHealth missing", missing, "records", "0", missing == 0);
        report.add(section, "LayerHealth read more than once", r.duplicatedHealth(), "records", "0",
                r.duplicatedHealth() == 0);
        int wrong = r.runsWithWrongTransitions().size();
        report.add(section, "runs whose alert transitions differ", wrong, "runs", "0", wrong == 0);
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    public static void main(String[] args) {
        CommandLine command = new CommandLine(new BenchMain()).setCaseInsensitiveEnumValuesAllowed(true);
        command.setExecutionExceptionHandler((exception, line, parsed) -> {
            System.err.println("bench: " + exception.getMessage());
            return 2;
        });
        System.exit(command.execute(args));
    }
}
