package io.gradwatch.trainer.cli;

import io.gradwatch.common.cli.UsageException;
import io.gradwatch.common.config.Settings;
import io.gradwatch.common.http.HttpAuth;
import io.gradwatch.common.http.HttpService;
import io.gradwatch.common.http.HttpSettings;
import io.gradwatch.common.kafka.KafkaAccessFailure;
import io.gradwatch.common.kafka.KafkaDefaults;
import io.gradwatch.common.metrics.ServiceMetrics;
import io.gradwatch.protocol.v1.ControlCommand;
import io.gradwatch.trainer.metrics.TrainerMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.gradwatch.protocol.MalformedRecordException;
import io.gradwatch.protocol.TensorRecords;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.trainer.Preset;
import io.gradwatch.trainer.TrainingRun;
import io.gradwatch.trainer.TrainingSetup;
import io.gradwatch.trainer.TrainingSpec;
import io.gradwatch.trainer.nn.Activation;
import io.gradwatch.trainer.nn.CellKind;
import io.gradwatch.trainer.nn.Init;
import io.gradwatch.trainer.nn.Network;
import io.gradwatch.trainer.publish.ConsolePublisher;
import io.gradwatch.trainer.publish.ControlListener;
import io.gradwatch.trainer.publish.GradientPublisher;
import io.gradwatch.trainer.publish.KafkaGradientPublisher;
import io.gradwatch.trainer.publish.PublishMode;
import io.gradwatch.trainer.tasks.SequenceTask;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gradwatch train}: one training job, publishing its gradients to Kafka (or not). */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {
            // One element per paragraph: picocli wraps it at words to the terminal (80 columns without one).
            "Train an RNN, LSTM, GRU or deep MLP with exact (or truncated) backpropagation through time and "
                + "publish every layer's per-timestep gradient dL/dh_t to Kafka for gradwatch to watch.",
            "",
            "Presets reproduce the seeds' scenarios (any flag given wins over the preset):",
            "  vanishing-rnn   tanh RNN, default init, SGD: vanishing gradients, at chance",
            "  lstm, gru       gated cells (gate bias 3), Adam: learn the long dependency",
            "  exploding-init  ReLU RNN, W_hh orthogonal x2: exploding gradients, then NaN",
            "  clipped         the same, global gradient norm clipped to 1: stays bounded",
            "  dead-relu       ReLU RNN, Adam at 0.1: most units die",
            "  leaky-relu      the same with leaky ReLU and clipping: no dead units",
            "  warmup-overshoot leaky-ReLU IRNN, Adam warm-up to lr 0.1: explodes over tens of steps",
            ""},
        footer = {"", "Example: gradwatch train --preset lstm --run-id lstm-1 --seq-len 50 --steps 2000 --no-kafka"})
public final class TrainCommand implements Callable<Integer> {

    @Option(names = "--run-id", paramLabel = "ID", description = "name of the run (default: <preset or cell>-<time>)")
    String runId;

    @Option(names = "--preset", paramLabel = "NAME", description = "start from a preset (see above)")
    String preset;

    @Option(names = "--cell", paramLabel = "CELL", description = "rnn, lstm, gru or mlp (default: rnn)")
    String cell;

    @Option(names = "--activation", paramLabel = "F",
            description = "tanh, sigmoid, relu, leaky-relu or elu, for rnn and mlp (default: tanh)")
    String activation;

    @Option(names = "--hidden", paramLabel = "H", description = "hidden units per layer (default: 64)")
    Integer hidden;

    @Option(names = "--layers", paramLabel = "N", description = "stacked layers, or MLP depth (default: 1; mlp: 6)")
    Integer layers;

    @Option(names = "--task", paramLabel = "TASK",
            description = "long-dependency, adding, sentiment or file (default: long-dependency)")
    String task;

    @Option(names = "--data", paramLabel = "FILE", description = "training data for --task file (docs/training-data.md)")
    Path data;

    @Option(names = "--seq-len", paramLabel = "T", description = "sequence length (default: 50)")
    Integer seqLen;

    @Option(names = "--batch", paramLabel = "B", description = "batch size (default: 32)")
    Integer batch;

    @Option(names = "--vocab", paramLabel = "V", description = "vocabulary of long-dependency / token files (default: 10)")
    Integer vocab;

    @Option(names = "--features", paramLabel = "F", description = "features per timestep in a CSV file (default: 1)")
    Integer features;

    @Option(names = "--steps", paramLabel = "N", description = "optimizer steps to train (default: 2000)")
    Long steps;

    @Option(names = "--optimizer", paramLabel = "OPT", description = "sgd, momentum, rmsprop or adam (default: adam; presets: sgd)")
    String optimizer;

    @Option(names = "--lr", paramLabel = "RATE", description = "learning rate (default: preset's, else 1e-3)")
    Double learningRate;

    @Option(names = "--warmup-steps", paramLabel = "N",
            description = "raise the learning rate linearly from --lr to --peak-lr over N steps (default: 0, none)")
    Integer warmupSteps;

    @Option(names = "--peak-lr", paramLabel = "RATE", description = "the learning rate a warm-up ends at")
    Double peakLearningRate;

    @Option(names = "--momentum", paramLabel = "MU", description = "momentum for --optimizer momentum (default: 0.9)")
    Double momentum;

    @Option(names = "--clip-norm", paramLabel = "MAX", description = "clip the global gradient norm (0 = off)")
    Double clipNorm;

    @Option(names = "--clip-value", paramLabel = "MAX", description = "clip each gradient entry to [-MAX, MAX] (0 = off)")
    Double clipValue;

    @Option(names = "--init", paramLabel = "SCHEME",
            description = "default, xavier, he, orthogonal, identity or scaled (default: default)")
    String init;

    @Option(names = "--init-gain", paramLabel = "G", description = "multiplies W_hh (default: 1; exploding-init: 2)")
    Double initGain;

    @Option(names = "--gate-bias", paramLabel = "B",
            description = "initial bias of the LSTM forget / GRU update gate (default: 0; lstm, gru presets: 3)")
    Double gateBias;

    @Option(names = "--tbptt", paramLabel = "K1,K2",
            description = "truncated BPTT: every K1 steps backpropagate K2 steps (default: full BPTT)")
    String tbptt;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "random seed (default: 1)")
    long seed;

    @Option(names = "--publish-every", paramLabel = "N", defaultValue = "1",
            description = "publish every N-th step's gradients (default: 1)")
    int publishEvery;

    @Option(names = "--dtype", paramLabel = "DTYPE", defaultValue = "F32",
            description = "encoding of published tensors: F32, F16 or BF16 (default: F32)")
    String dtype;

    @Option(names = "--publish", paramLabel = "WHAT", defaultValue = "tensors",
            description = "tensors (every timestep's tensors, gradwatch.gradients) or summaries (one reduction per "
                    + "layer and step, gradwatch.summaries: the same analysis, 100-1000x smaller) (default: tensors)")
    String publish;

    @Option(names = "--label", paramLabel = "KEY=VALUE",
            description = "a run label in its metadata, repeatable (gradwatch.closed-loop=true: the monitor may act)")
    Map<String, String> labels;

    @Option(names = "--no-activations", description = "do not publish h_t (disables dead-ReLU and saturation signals)")
    boolean noActivations;

    @Option(names = "--publish-preact", description = "also publish dL/dz_t of the gate pre-activations")
    boolean publishPreact;

    @Option(names = "--publish-buffer", paramLabel = "STEPS", defaultValue = "32",
            description = "steps that may wait for Kafka before new ones are dropped (default: 32)")
    int publishBuffer;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT",
            description = "Kafka (default: $GRADWATCH_KAFKA_BOOTSTRAP_SERVERS, else " + KafkaDefaults.LOCAL_BOOTSTRAP_SERVERS + ")")
    String bootstrapServers;

    @Option(names = "--config", paramLabel = "FILE", description = "properties file with kafka.* client settings (TLS, SASL)")
    Path config;

    @Option(names = "--no-kafka", description = "train offline and print the per-timestep gradient norms instead")
    boolean noKafka;

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "serve Prometheus metrics on PORT/metrics (0: a free port; default: off)")
    Integer metricsPort;

    @Option(names = "--metrics-host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "address the metrics server binds to (default: ${DEFAULT-VALUE})")
    String metricsHost;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", description = "write safetensors checkpoints here")
    Path checkpointDir;

    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "0",
            description = "checkpoint every N steps (0: only at the end or on stop)")
    long checkpointEvery;

    @Option(names = "--resume", paramLabel = "DIR", description = "continue from the checkpoint in DIR")
    Path resume;

    @Option(names = "--max-steps-per-second", paramLabel = "R", defaultValue = "0",
            description = "slow training down to at most R steps/s (0: as fast as it goes)")
    double maxStepsPerSecond;

    @Option(names = "--progress-every", paramLabel = "DURATION", defaultValue = "1s",
            description = "how often to print the progress line (default: 1s)")
    String progressEvery;

    private final PrintStream out;

    public TrainCommand() {
        this(System.out);
    }

    TrainCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() throws Exception {
        Input input = UsageException.whileReadingInput(this::readInput);
        Settings settings = input.settings();
        TrainingSpec spec = input.spec();
        TrainingSetup setup = input.setup();
        SequenceTask sequenceTask = setup.task();
        Network network = setup.network();
        if (setup.firstStep() > 0) {
            out.println(spec.runId() + ": resumed from " + spec.checkpointing().resumeFrom() + " at step "
                    + setup.firstStep());
        }
        out.println(spec.runId() + ": " + describe(spec, sequenceTask, network));

        Properties kafka = settings.kafkaProperties();
        kafka.putIfAbsent("bootstrap.servers", KafkaDefaults.LOCAL_BOOTSTRAP_SERVERS);
        GradientPublisher publisher;
        ControlListener control = null;
        Supplier<List<ControlCommand>> commands = List::of;
        if (noKafka) {
            publisher = new ConsolePublisher(out);
        } else {
            publisher = KafkaGradientPublisher.create(kafka, spec.publishing().dtype(), spec.publishing().queueSteps(),
                    spec.publishing().mode());
            control = new ControlListener(spec.runId(), kafka);
            boolean ready = control.awaitReady(Duration.ofSeconds(30));
            if (control.refusal().isPresent()) {
                // Wrong credentials or missing ACLs: no retry fixes that, so do not train unwatched.
                control.close();
                publisher.close();
                throw new KafkaRefusedException(control.refusal().get());
            }
            if (!ready) {
                out.println(spec.runId() + ": control topic not reachable yet at " + kafka.get("bootstrap.servers")
                        + "; training anyway, commands will be picked up once it is");
            }
            commands = control::drain;
        }
        TrainingRun.Outcome outcome;
        HttpService metricsHttp = null;
        try {
            TrainingRun trainingRun = new TrainingRun(spec, sequenceTask, network, setup.optimizer(), publisher,
                    commands, out::println, setup.firstStep(), setup.rng());
            if (metricsPort != null) {
                PrometheusMeterRegistry registry = ServiceMetrics.prometheusRegistry();
                trainingRun.observe(new TrainerMetrics(registry, spec.runId(), publisher)::step);
                if (publisher instanceof KafkaGradientPublisher kafkaPublisher) {
                    kafkaPublisher.bindMetrics(registry);
                }
                metricsHttp = new HttpService(new HttpSettings(metricsHost, metricsPort, new HttpAuth.None()))
                        .probes(Optional::empty, registry::scrape)
                        .start("trainer-metrics");
                out.println(spec.runId() + ": metrics on " + metricsHttp.baseUri() + "/metrics");
            }
            outcome = trainingRun.run();
        } finally {
            if (metricsHttp != null) {
                metricsHttp.close();
            }
            publisher.close();
            if (control != null) {
                control.close();
            }
        }
        out.printf(Locale.ROOT, "%s: %s after step %d: loss %.4f, accuracy %s, last grad norm %.3e; records sent %d, "
                        + "dropped %d, failed %d%n", spec.runId(), outcome.stoppedByCommand() ? "stopped by command"
                        : "done", outcome.steps(), outcome.loss(),
                Double.isNaN(outcome.accuracy()) ? "-" : String.format(Locale.ROOT, "%.3f", outcome.accuracy()),
                outcome.gradNorm(), outcome.published().sentRecords(), outcome.published().droppedRecords(),
                outcome.published().failedRecords());
        return 0;
    }

    /** What the flags, settings and files say; a value they cannot give is the user's to fix. */
    private record Input(Settings settings, TrainingSpec spec, TrainingSetup setup) {
    }

    private Input readInput() throws IOException {
        Preset base = preset == null ? null : Preset.fromCliName(preset);
        Settings settings = Settings.fromEnvironment(Map.of(), config, bootstrapServers == null ? Map.of()
                : Map.of("kafka.bootstrap.servers", bootstrapServers));
        TrainingSpec spec = spec(base, settings);
        return new Input(settings, spec, TrainingSetup.of(spec, features == null ? 1 : features));
    }

    /**
     * The training a {@code train} command line describes, without running it: for harnesses that
     * drive {@link TrainingRun} themselves with their own publisher.
     */
    public static TrainingSpec specFor(String... args) {
        TrainCommand command = new TrainCommand();
        new picocli.CommandLine(command).parseArgs(args);
        Preset base = command.preset == null ? null : Preset.fromCliName(command.preset);
        return command.spec(base, Settings.load(Map.of(), null, Map.of(), Map.of()));
    }

    /** Kafka refused the trainer's credentials or ACLs; {@code TrainerMain} prints the one-line reason. */
    public static final class KafkaRefusedException extends RuntimeException {
        KafkaRefusedException(Throwable cause) {
            super(KafkaAccessFailure.explain(cause).orElse(cause.toString()), cause);
        }
    }

    TrainingSpec spec(Preset base, Settings settings) {
        // A flag wins over the preset, the preset over the defaults (Recipe.DEFAULTS, written once).
        Preset.Recipe recipe = base != null ? base.recipe() : Preset.Recipe.DEFAULTS;
        CellKind cellKind = cell != null ? parseEnum(CellKind.class, cell, "--cell") : recipe.cell();
        Activation act = activation != null ? parseEnum(Activation.class, activation, "--activation")
                : recipe.activation();
        Init initScheme = init != null ? parseEnum(Init.class, init, "--init") : recipe.init();
        double gain = initGain != null ? initGain : recipe.initGain();
        double bias = gateBias != null ? gateBias : recipe.gateBias();
        String opt = optimizer != null ? optimizer : recipe.optimizer();
        double lr = learningRate != null ? learningRate : recipe.learningRate();
        double clip = clipNorm != null ? clipNorm : recipe.clipNorm();
        int warmup = warmupSteps != null ? warmupSteps : recipe.warmupSteps();
        double peak = peakLearningRate != null ? peakLearningRate
                : recipe.warmupSteps() > 0 ? recipe.peakLearningRate() : lr;
        if (warmup < 0) {
            throw new IllegalArgumentException("--warmup-steps must be >= 0, got " + warmup);
        }
        if (warmup > 0 && (!(peak > 0) || Double.isInfinite(peak))) {
            throw new IllegalArgumentException("--peak-lr must be a positive number, got " + peak);
        }
        if (peakLearningRate != null && warmup == 0) {
            throw new IllegalArgumentException("--peak-lr needs --warmup-steps N (the steps to reach it)");
        }
        int[] truncation = parseTbptt();
        String name = runId != null ? runId : (base != null ? base.cliName() : cellKind.name().toLowerCase(Locale.ROOT))
                + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        requireRunId(name);
        if (seqLen != null && seqLen > TensorRecords.DEFAULT_LIMITS.maxSeqLen()) {
            throw new IllegalArgumentException("--seq-len must be <= " + TensorRecords.DEFAULT_LIMITS.maxSeqLen()
                    + " (the most timesteps a gradient record may have, docs/protocol.md), got " + seqLen);
        }
        requirePositive(publishEvery, "--publish-every");
        requirePositive(publishBuffer, "--publish-buffer");
        return new TrainingSpec(name,
                new TrainingSpec.Model(cellKind, act, positive(hidden, 64, "--hidden"),
                        positive(layers, cellKind == CellKind.MLP ? 6 : 1, "--layers"), initScheme, gain, bias),
                new TrainingSpec.Task(parseEnum(TrainingSpec.TaskKind.class, task == null ? "long-dependency" : task,
                        "--task"), positive(seqLen, 50, "--seq-len"), positive(batch, 32, "--batch"),
                        positive(vocab, 10, "--vocab"), data),
                new TrainingSpec.Optimization(parseEnum(TrainingSpec.OptimizerKind.class, opt, "--optimizer"), lr,
                        momentum != null ? momentum : 0.9, clip, clipValue != null ? clipValue : 0, truncation[0],
                        truncation[1], warmup, peak),
                new TrainingSpec.Publishing(!noKafka, publishEvery, parseEnum(DType.class, dtype, "--dtype"),
                        !noActivations, publishPreact, publishBuffer,
                        parseEnum(PublishMode.class, publish, "--publish"), labels == null ? Map.of() : labels),
                new TrainingSpec.Checkpointing(checkpointDir, checkpointEvery, resume),
                positiveLong(steps, 2000, "--steps"), seed, maxStepsPerSecond,
                parseDuration(progressEvery));
    }

    private static String describe(TrainingSpec spec, SequenceTask task, Network network) {
        long weights = network.parameters().stream().mapToLong(p -> p.size()).sum();
        TrainingSpec.Model m = spec.model();
        TrainingSpec.Optimization o = spec.optimization();
        return String.format(Locale.ROOT, "%s %s%s, %d layer(s) x %d hidden, %d weights, init %s%s; task %s (T=%d, "
                        + "batch %d); %s lr %s%s%s; %d steps, seed %d",
                m.cell().name().toLowerCase(Locale.ROOT),
                m.cell() == CellKind.RNN || m.cell() == CellKind.MLP ? m.activation().name().toLowerCase(Locale.ROOT) : "",
                "", m.layers(), m.hidden(), weights, m.init().name().toLowerCase(Locale.ROOT),
                m.initGain() != 1.0 ? " x" + m.initGain() : "", task.name(), task.seqLen(), spec.task().batch(),
                o.optimizer().name().toLowerCase(Locale.ROOT), o.learningRate(),
                o.warmupSteps() > 0 ? " warming up to " + o.peakLearningRate() + " over " + o.warmupSteps() + " steps"
                        : "",
                o.clipNorm() > 0 ? ", clip norm " + o.clipNorm() : "", spec.steps(), spec.seed());
    }

    private int[] parseTbptt() {
        if (tbptt == null) {
            return new int[] {0, 0};
        }
        String[] parts = tbptt.split(",");
        try {
            int k1 = Integer.parseInt(parts[0].trim());
            int k2 = parts.length > 1 ? Integer.parseInt(parts[1].trim()) : k1;
            if (parts.length > 2 || k1 < 1 || k2 < k1) {
                throw new NumberFormatException();
            }
            return new int[] {k1, k2};
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--tbptt must be K1,K2 with 1 <= K1 <= K2 (e.g. 10,20), got '" + tbptt
                    + "'");
        }
    }

    static <E extends Enum<E>> E parseEnum(Class<E> type, String value, String option) {
        String normalized = value.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E constant : type.getEnumConstants()) {
            if (constant.name().equals(normalized) && !constant.name().contains("UNSPECIFIED")
                    && !constant.name().equals("UNRECOGNIZED")) {
                return constant;
            }
        }
        List<String> names = Arrays.stream(type.getEnumConstants()).map(Enum::name)
                .filter(n -> !n.contains("UNSPECIFIED") && !n.equals("UNRECOGNIZED"))
                .map(n -> n.toLowerCase(Locale.ROOT).replace('_', '-')).toList();
        throw new IllegalArgumentException(option + " '" + value + "' is not one of " + String.join(", ", names));
    }

    private static int positive(Integer value, int fallback, String option) {
        int result = value == null ? fallback : value;
        requirePositive(result, option);
        return result;
    }

    private static long positiveLong(Long value, long fallback, String option) {
        long result = value == null ? fallback : value;
        if (result < 1) {
            throw new IllegalArgumentException(option + " must be >= 1, got " + result);
        }
        return result;
    }

    /** The monitor dead-letters records whose run id breaks the protocol's rule: refuse such a run at once. */
    private static void requireRunId(String name) {
        if (name.isBlank()) {
            throw new IllegalArgumentException("--run-id must not be empty");
        }
        try {
            TensorRecords.checkRunId(name);
        } catch (MalformedRecordException e) {
            throw new IllegalArgumentException("--run-id: " + e.getMessage().substring(e.reason().name().length() + 2));
        }
    }

    private static void requirePositive(int value, String option) {
        if (value < 1) {
            throw new IllegalArgumentException(option + " must be >= 1, got " + value);
        }
    }

    private static Duration parseDuration(String text) {
        Settings parsed = Settings.load(Map.of("progress", text), null, Map.of(), Map.of());
        return parsed.duration("progress");
    }
}
