package io.gradwatch.launcher;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
            List<ManagedProcess> trainers = new ArrayList<>();
            for (DemoRun run : DemoRun.ALL) {
                trainers.add(stack.startTrainer(run.runId(), trainerArgs(run, layout)));
            }
            out.println("gradwatch: " + DemoRun.ALL.size() + " runs training; dashboard " + layout.dashboardUrl()
                    + "  metrics " + layout.metricsUrl() + "  logs " + layout.logDir());
            RunBoard board = new RunBoard();
            try (BoardFeed feed = new BoardFeed(layout.bootstrapServers(), board)) {
                watch(feed, board, trainers, out);
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

    private List<String> trainerArgs(DemoRun run, StackLayout layout) {
        List<String> args = new ArrayList<>(List.of("--preset", run.preset(), "--task", "long-dependency",
                "--seq-len", Integer.toString(run.seqLen() > 0 ? run.seqLen() : seqLen),
                "--steps", "1000000", "--publish-every", "5", "--max-steps-per-second",
                Integer.toString(run.closedLoop() ? DemoRun.RESCUED_STEPS_PER_SECOND : 20),
                "--bootstrap-servers", layout.bootstrapServers(), "--progress-every", "10s"));
        if (run.closedLoop()) {
            args.addAll(List.of("--label", "gradwatch.closed-loop=true"));
        }
        return args;
    }

    private void watch(BoardFeed feed, RunBoard board, List<ManagedProcess> trainers, PrintStream out) {
        boolean live = System.console() != null;
        long end = System.nanoTime() + Duration.ofSeconds(durationSeconds).toNanos();
        long nextRender = 0;
        int drawn = 0;
        while (System.nanoTime() < end) {
            feed.pollOnce(Duration.ofMillis(500));
            for (int i = 0; i < trainers.size(); i++) {
                ManagedProcess trainer = trainers.get(i);
                // The closed loop may stop its run; the verdict says so.
                if (!trainer.isAlive() && !DemoRun.ALL.get(i).closedLoop()) {
                    throw new IllegalStateException(trainer.name() + " stopped unexpectedly; last lines of "
                            + trainer.log() + ":\n" + LocalStack.tail(trainer.log()));
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
