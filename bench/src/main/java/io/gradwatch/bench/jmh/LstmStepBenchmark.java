package io.gradwatch.bench.jmh;

import io.gradwatch.trainer.nn.Activation;
import io.gradwatch.trainer.nn.CellKind;
import io.gradwatch.trainer.nn.Init;
import io.gradwatch.trainer.nn.Kernels;
import io.gradwatch.trainer.nn.ModelConfig;
import io.gradwatch.trainer.nn.Network;
import io.gradwatch.trainer.nn.Tbptt;
import io.gradwatch.trainer.tasks.Batch;
import io.gradwatch.trainer.tasks.Targets;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * One LSTM training step, forward and full BPTT backward (batch 32, hidden 128, input 128,
 * T 100, one layer), in double precision, with the Vector API GEMM (the fork adds the module). Run it with
 * {@code ./mvnw -q -pl trainer-service -am test-compile -Pbench}; it prints ms/step, GFLOP/s and the
 * ratio to {@link PeakFmaBenchmark}'s peak.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
public class LstmStepBenchmark {
    public static final int T = 100;
    public static final int B = 32;
    public static final int H = 128;
    static final int IN = 128;
    /**
     * The matrix products of a step, 2 flops per multiply-add: forward x W_ih^T and h W_hh^T,
     * backward dW_ih, dW_hh and dh_{t-1} = dz W_hh (no dx for the first layer): T B 4H 2 (2 IN + 3 H).
     */
    public static final double FLOPS_PER_STEP = (double) T * B * 4 * H * 2 * (2 * IN + 3 * H);

    private Network network;
    private Batch batch;
    private final Tbptt full = Tbptt.full(T);

    @Setup
    public void setUp() {
        SplittableRandom rng = new SplittableRandom(1);
        network = Network.create(new ModelConfig(CellKind.LSTM, Activation.TANH, IN, H, 1, 2, Init.DEFAULT, 1.0), rng);
        double[] inputs = new double[T * B * IN];
        for (int i = 0; i < inputs.length; i++) {
            inputs[i] = rng.nextGaussian();
        }
        int[] labels = new int[B];
        for (int b = 0; b < B; b++) {
            labels[b] = rng.nextInt(2);
        }
        batch = new Batch(T, B, IN, inputs, new Targets.Classes(labels, 2, false));
        System.out.println("GEMM path: " + Kernels.describe());
    }

    @Benchmark
    public double trainingStep() {
        return network.forwardBackward(batch, full).loss();
    }

    /**
     * Runs this benchmark and {@link PeakFmaBenchmark} in one run; prints ms/step, GFLOP/s, the
     * measured one-core peak GFLOP/s and the ratio. {@code -Dbench.only=Lstm} or {@code =Peak}
     * narrows the run (JMH include regex).
     */
    public static void main(String[] args) throws RunnerException {
        if (Boolean.getBoolean("bench.cpuTime")) {
            cpuTime();
            return;
        }
        String only = System.getProperty("bench.only");
        var builder = new OptionsBuilder();
        if (only != null) {
            builder.include(only);
        }
        Figures figures = run(builder, only == null);
        if (!Double.isNaN(figures.peakGflops())) {
            System.out.printf(Locale.ROOT, "Peak FMA (%d chains x %d-lane double vectors, 1 thread): %.2f GFLOP/s%n",
                    PeakFmaBenchmark.CHAINS, PeakFmaBenchmark.SPECIES.length(), figures.peakGflops());
        }
        if (!Double.isNaN(figures.stepMillis())) {
            System.out.printf(Locale.ROOT, "LSTM step (B=%d, H=%d, IN=%d, T=%d, fwd+bwd, double): %.2f +- %.2f ms,"
                    + " %.2f GFLOP/s (%.2e flop/step)%n", B, H, IN, T, figures.stepMillis(), figures.stepError(),
                    figures.stepGflops(), FLOPS_PER_STEP);
        }
        if (!Double.isNaN(figures.ratio())) {
            System.out.printf(Locale.ROOT, "LSTM step / peak: %.1f%%%n", 100 * figures.ratio());
        }
    }

    /**
     * What one JMH run of the step and the peak kernel measured (NaN for what it did not run).
     *
     * @param stepMillis mean time of one training step, with {@code stepError} its 99.9% error
     * @param peakGflops the one-core peak from {@link PeakFmaBenchmark}
     */
    public record Figures(double stepMillis, double stepError, double peakGflops) {
        public double stepGflops() {
            return FLOPS_PER_STEP / (stepMillis / 1e3) / 1e9;
        }

        public double ratio() {
            return stepGflops() / peakGflops;
        }
    }

    /**
     * Runs the LSTM step and the peak-FMA kernel with {@code options} (both unless told
     * otherwise), each in its own fork with the Vector API module.
     */
    public static Figures run(OptionsBuilder options, boolean both) throws RunnerException {
        if (both) {
            options.include(LstmStepBenchmark.class.getSimpleName()).include(PeakFmaBenchmark.class.getSimpleName());
        }
        double stepMillis = Double.NaN;
        double stepError = Double.NaN;
        double peakGflops = Double.NaN;
        for (RunResult result : new Runner(options.build()).run()) {
            String name = result.getParams().getBenchmark();
            double score = result.getPrimaryResult().getScore();
            if (name.contains("PeakFmaBenchmark")) {
                peakGflops = PeakFmaBenchmark.FLOPS_PER_CALL / (score / 1e6) / 1e9;
            } else {
                stepMillis = score;
                stepError = result.getPrimaryResult().getScoreError();
            }
        }
        return new Figures(stepMillis, stepError, peakGflops);
    }

    /**
     * {@code -Dbench.cpuTime=true}: a cross-check for a loaded machine, outside JMH. Alternates
     * rounds of LSTM steps and peak-FMA calls in this JVM (run it with
     * {@code --add-modules jdk.incubator.vector}) and times them by this thread's CPU time, which
     * leaves out the time other processes hold the core (not their effect on shared caches).
     * Prints the median of the rounds after warm-up.
     */
    static void cpuTime() {
        var threads = ManagementFactory.getThreadMXBean();
        LstmStepBenchmark step = new LstmStepBenchmark();
        step.setUp();
        PeakFmaBenchmark peak = new PeakFmaBenchmark();
        int rounds = Integer.getInteger("bench.rounds", 15);
        double[] stepMs = new double[rounds];
        double[] peakGflops = new double[rounds];
        double sink = 0;
        for (int r = -5; r < rounds; r++) {
            long t0 = threads.getCurrentThreadCpuTime();
            for (int i = 0; i < 10; i++) {
                sink += step.trainingStep();
            }
            long t1 = threads.getCurrentThreadCpuTime();
            for (int i = 0; i < 200; i++) {
                sink += peak.fmaChains();
            }
            long t2 = threads.getCurrentThreadCpuTime();
            if (r >= 0) {
                stepMs[r] = (t1 - t0) / 10 / 1e6;
                peakGflops[r] = 200 * PeakFmaBenchmark.FLOPS_PER_CALL / (t2 - t1);
            }
        }
        Arrays.sort(stepMs);
        Arrays.sort(peakGflops);
        double ms = stepMs[rounds / 2];
        double gflops = FLOPS_PER_STEP / (ms / 1e3) / 1e9;
        System.out.printf(Locale.ROOT, "CPU time, median of %d rounds (%s): LSTM step %.2f ms (range %.2f..%.2f), %.2f "
                + "GFLOP/s; peak FMA %.2f GFLOP/s (range %.2f..%.2f); ratio %.1f%% [%s]%n", rounds, Kernels.describe(),
                ms, stepMs[0], stepMs[rounds - 1], gflops, peakGflops[rounds / 2], peakGflops[0],
                peakGflops[rounds - 1], 100 * gflops / peakGflops[rounds / 2], sink > 0 ? "" : " ");
    }
}
