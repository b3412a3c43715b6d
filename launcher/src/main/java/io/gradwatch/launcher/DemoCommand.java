package io.gradwatch.launcher;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The demo: the stack plus six runs side by side on the long-dependency task, a live summary,
 * and at the end a verdict per run against what the seeds predict. One of them opts in to the
 * closed loop, and its verdict is whether gradwatch rescued it.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, description = {
    "Start the local stack and train six runs side by side on the long-dependency task (T=50):",
    "a vanilla tanh RNN, an LSTM, a GRU, an exploding-init RNN, a dead-ReLU RNN, and an Adam",
    "warm-up that explodes with the closed loop on (T=20), which gradwatch rescues.",
    "Prints a live summary, then a verdict per run. Exit 0 when every run behaved as predicted."})
final class DemoCommand implements Callable<Integer> {
    private static final int EXIT_UNEXPECTED = 3;
    private static final int KEEPING_UP_STEPS = 20;

    @Mixin
    StackOptions options;

    @Option(names = "--duration", defaultValue = "120", paramLabel = "SECONDS",
            description = "how long the runs train before the verdict (default: ${DEFAULT-VALUE})")
    int durationSeconds;

    @Option(names = "--seq-len", defaultValue = "50", paramLabel = "T",
            description = "sequence length of the long-dependency task (default: ${DEFAULT-VALUE}; "
                    + "the rescued run keeps its own, 20)")
    int seqLen;

    @Override
    public Integer call() throws Exception {
        if (durationSeconds < 10) {
            throw new IllegalArgumentException("--duration must be at least 10 seconds");
        }
        PrintStream out = System.out;
        StackLayout layout = options.layout();
        LocalStack stack = LocalStack.start(layout, message -> out.println("gradwatch: " + message));
        Thread stopOnCtrlC = new Thread(stack::close, "stack-stop");
        Runtime.getRuntime().addShutdownHook(stopOnCtrlC);
        try {
            Map<DemoRun, ManagedProcess> trainers = new LinkedHashMap<>();
            for (DemoRun run : DemoRun.ALL) {
                if (!run.closedLoop()) {
                    trainers.put(run, stack.startTrainer(run.runId(), trainerArgs(run, layout)));
                }
            }
            out.println("gradwatch: " + trainers.size() + " runs training; dashboard " + layout.dashboardUrl()
                    + "  metrics " + layout.metricsUrl() + "  logs " + layout.logDir());
            RunBoard board = new RunBoard();
            try (BoardFeed feed = new BoardFeed(layout.bootstrapServers(), board)) {
                watch(feed, board, trainers, stack, layout, out);
                stack.stopTrainers();
                feed.pollOnce(Duration.ofSeconds(2));
            }
            out.println();
            out.println("gradwatch: final summary after " + durationSeconds + " s");
            board.render().forEach(out::println);
            return verdict(board, out) ? 0 : EXIT_UNEXPECTED;
        } finally {
            stack.close();
            Runtime.getRuntime().removeShutdownHook(stopOnCtrlC);
        }
    }

    /**
     * The closed loop can only save a run if its commands land within a few steps of the explosion.
     * While six JVMs start on a small machine the monitor trails the runs by seconds, so the
     * closed-loop run starts once the monitor's analysis of the vanilla run trails it by at most
     * {@value #KEEPING_UP_STEPS} steps (a second at 20 steps/s).
     */
    private void startClosedLoopRunsOnceTheMonitorKeepsUp(RunBoard board, Map<DemoRun, ManagedProcess> trainers,
                                                         LocalStack stack, StackLayout layout, PrintStream out) {
        long lag = board.analysisLag(DemoRun.VANILLA);
        if (lag < 0 || lag > KEEPING_UP_STEPS) {
            return;
        }
        for (DemoRun run : DemoRun.ALL) {
            if (run.closedLoop() && !trainers.containsKey(run)) {
                out.println("gradwatch: the monitor keeps up (" + lag + " steps behind " + DemoRun.VANILLA
                        + "); starting " + run.runId() + " with the closed loop on");
                trainers.put(run, stack.startTrainer(run.runId(), trainerArgs(run, layout)));
            }
        }
    }

    private List<String> trainerArgs(DemoRun run, StackLayout layout) {
        List<String> args = new ArrayList<>(List.of("--preset", run.preset(), "--task", "long-dependency",
                "--seq-len", Integer.toString(run.seqLen() > 0 ? run.seqLen() : seqLen),
                "--steps", "1000000", "--publish-every", "5", "--max-steps-per-second",
                // Slower, so two seconds of the monitor's latency are 10 steps: TrainerPresetTopologyTest
                // shows the rescue for command lags of 1 to 12 steps (at 10 steps/s, 1 DemoIT run in 5
                // still ended in the loop's stop).
                Integer.toString(run.closedLoop() ? 5 : 20),
                "--bootstrap-servers", layout.bootstrapServers(), "--progress-every", "10s"));
        if (run.closedLoop()) {
            args.addAll(List.of("--label", "gradwatch.closed-loop=true"));
        }
        return args;
    }

    private void watch(BoardFeed feed, RunBoard board, Map<DemoRun, ManagedProcess> trainers, LocalStack stack,
                       StackLayout layout, PrintStream out) {
        boolean live = System.console() != null;
        long end = System.nanoTime() + Duration.ofSeconds(durationSeconds).toNanos();
        long nextRender = 0;
        int drawn = 0;
        while (System.nanoTime() < end) {
            feed.pollOnce(Duration.ofMillis(500));
            startClosedLoopRunsOnceTheMonitorKeepsUp(board, trainers, stack, layout, out);
            for (Map.Entry<DemoRun, ManagedProcess> trainer : trainers.entrySet()) {
                // The closed loop may stop its run; the verdict says so.
                if (!trainer.getValue().isAlive() && !trainer.getKey().closedLoop()) {
                    throw new IllegalStateException(trainer.getValue().name() + " stopped unexpectedly; last lines of "
                            + trainer.getValue().log() + ":\n" + LocalStack.tail(trainer.getValue().log()));
                }
            }
            if (System.nanoTime() >= nextRender) {
                List<String> lines = board.render();
                if (live) {
                    if (drawn > 0) {
                        out.print("\033[" + drawn + "A");
                    }
                    lines.forEach(line -> out.print(line + "\033[K\n"));
                    drawn = lines.size();
                } else {
                    out.println("--- " + Math.round((durationSeconds * 1e9 - (end - System.nanoTime())) / 1e9) + " s");
                    lines.forEach(out::println);
                }
                out.flush();
                nextRender = System.nanoTime() + Duration.ofSeconds(live ? 2 : 10).toNanos();
            }
        }
    }

    private static boolean verdict(RunBoard board, PrintStream out) {
        out.println();
        boolean all = true;
        for (DemoRun run : DemoRun.ALL) {
            DemoRun.Verdict verdict = run.closedLoop()
                    ? run.judgeRescue(board.everFired(run.runId()), board.firingNow(run.runId()),
                            board.actions(run.runId()), board.loss(run.runId()))
                    : run.judge(board.everFired(run.runId()), board.horizon(run.runId()),
                            board.horizon(DemoRun.VANILLA));
            all &= verdict.asExpected();
            out.printf("%s %-20s %s  (%s)%n", verdict.asExpected() ? "OK  " : "MISS", run.runId(), verdict.reason(),
                    run.story());
        }
        out.println(all ? "gradwatch: every run behaved as the seeds predict."
                : "gradwatch: some runs did not show what the seeds predict (see MISS lines; a longer --duration helps).");
        return all;
    }
}
