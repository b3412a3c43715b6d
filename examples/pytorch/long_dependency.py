#!/usr/bin/python3
"""A tanh RNN beside an LSTM on the long-dependency task, watched by gradwatch.

    ./gradwatch up                                     # in another terminal
    PYTHONPATH=clients/python /usr/bin/python3 examples/pytorch/long_dependency.py

The task is trainer-service's long-dependency task ("the writer of the books *is*"): a marker token
at t = 0 fixes the label, T - 1 distractor tokens follow, and the model answers after the last one.
The tanh RNN's gradient fades geometrically towards t = 0 (VANISHING within a few probed steps); the
LSTM, its forget gate biased to 1 (Jozefowicz et al. 2015), keeps it alive and stays healthy. Each
model has its own Watcher (run ids <prefix>-rnn and <prefix>-lstm), trained step by step in turn.

--inject-nan-at K feeds NaN inputs at step K (NON_FINITE at step K); with --closed-loop the run opts
into the monitor's closed loop, whose stop command on NON_FINITE reaches the on_stop callback here,
after the checkpoint hook. --result FILE writes what happened as JSON (the end-to-end test reads it).
"""
import argparse
import json
import sys
import time

import torch

import gradwatch


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", default="rnn,lstm", help="comma-separated: rnn, lstm, gru (default: %(default)s)")
    p.add_argument("--run-prefix", default="pt-long-dep", help="run id prefix; each model's run is PREFIX-CELL")
    p.add_argument("--bootstrap-servers", default=None,
                   help="Kafka (default: GRADWATCH_KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092)")
    p.add_argument("--steps", type=int, default=2000, help="training steps per model (default: %(default)s)")
    p.add_argument("--seq-len", type=int, default=30, help="timesteps T (default: %(default)s)")
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--vocab", type=int, default=10, help="tokens; the first two are the markers")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: %(default)s)")
    p.add_argument("--forget-bias", type=float, default=1.0, help="LSTM forget-gate bias (default: %(default)s)")
    p.add_argument("--probe-every", type=int, default=10, help="probe every N steps (default: %(default)s)")
    p.add_argument("--steps-per-second", type=float, default=10.0,
                   help="pace of the loop, so a dashboard can follow it; 0: as fast as possible")
    p.add_argument("--inject-nan-at", type=int, default=None, metavar="K", help="NaN inputs at step K")
    p.add_argument("--closed-loop", action="store_true", help="let the monitor's closed loop steer this run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--result", default=None, metavar="FILE", help="write the outcome as JSON here")
    return p.parse_args(argv)


class Model(torch.nn.Module):
    def __init__(self, cell, vocab, hidden, classes, forget_bias):
        super().__init__()
        kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        kwargs = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = kind(vocab, hidden, **kwargs)
        self.head = torch.nn.Linear(hidden, classes)
        if cell == "lstm":
            # PyTorch's gate order is input, forget, cell, output: the second quarter is the forget gate.
            with torch.no_grad():
                self.rnn.bias_ih_l0[hidden:2 * hidden].fill_(forget_bias)
                self.rnn.bias_hh_l0[hidden:2 * hidden].zero_()

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])


def long_dependency_batch(generator, seq_len, batch, vocab, classes=2):
    """As trainer-service's LongDependencyTask: one-hot [T, B, vocab], the label's marker at t = 0."""
    labels = torch.randint(0, classes, (batch,), generator=generator)
    tokens = torch.randint(classes, vocab, (seq_len, batch), generator=generator)
    tokens[0] = labels
    return torch.nn.functional.one_hot(tokens, vocab).float(), labels


class Job:
    """One model, its optimizer and its Watcher; the outcome as the --result file reports it."""

    def __init__(self, cell, args):
        torch.manual_seed(args.seed)
        self.cell = cell
        self.model = Model(cell, args.vocab, args.hidden, 2, args.forget_bias)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=args.lr)
        self.generator = torch.Generator().manual_seed(args.seed + 1)
        self.args = args
        self.run_id = f"{args.run_prefix}-{cell}"
        self.outcome = {"run_id": self.run_id, "cell": cell, "steps": 0, "stop": None, "checkpoint_called": False}
        self.watcher = gradwatch.Watcher(run_id=self.run_id, bootstrap_servers=args.bootstrap_servers,
                                         labels={"example": "long-dependency", "cell": cell},
                                         closed_loop=args.closed_loop, probe_every=args.probe_every,
                                         on_stop=self.on_stop, checkpoint=self.checkpoint)
        self.done = False

    def checkpoint(self, *unused):
        # A real job saves model and optimizer state here; the stop follows.
        self.outcome["checkpoint_called"] = True

    def on_stop(self, command):
        self.outcome["stop"] = {"command_id": command.command_id, "reason": command.reason,
                                "issued_by": command.issued_by, "at_step": self.outcome["steps"],
                                "after_checkpoint": self.outcome["checkpoint_called"]}
        print(f"{self.run_id}: stop command {command.command_id} from {command.issued_by or 'unknown'} at step "
              f"{self.outcome['steps']}: {command.reason}", flush=True)
        self.done = True

    def train_step(self, step):
        x, y = long_dependency_batch(self.generator, self.args.seq_len, self.args.batch, self.args.vocab)
        if step == self.args.inject_nan_at:
            x = torch.full_like(x, float("nan"))
        self.optimizer.zero_grad()
        with self.watcher.step(step, optimizer=self.optimizer) as s:
            if self.done:  # the stop command arrived as this step began
                return
            logits = self.model(x)
            loss = torch.nn.functional.cross_entropy(logits, y)
            loss.backward()
            self.watcher.clip_grad_norm_(self.model.parameters())
            self.optimizer.step()
            accuracy = (logits.argmax(1) == y).float().mean().item()
            s.record(loss=loss, accuracy=accuracy)
        self.outcome["steps"] = step + 1
        if step % 50 == 0:
            print(f"{self.run_id}: step {step} loss {loss.item():.4f} accuracy {accuracy:.2f}", flush=True)


def main(argv=None):
    args = parse_args(argv)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    unknown = [c for c in cells if c not in ("rnn", "lstm", "gru")]
    if unknown or not cells:
        sys.exit(f"long_dependency.py: --cells takes rnn, lstm, gru; got {args.cells!r}")
    jobs = [Job(cell, args) for cell in cells]
    pace = 1.0 / args.steps_per_second if args.steps_per_second > 0 else 0.0
    for job in jobs:
        job.watcher.__enter__()
        job.watcher.watch(job.model.rnn)
    try:
        next_at = time.monotonic()
        for step in range(args.steps):
            active = [job for job in jobs if not job.done]
            if not active:
                break
            for job in active:
                job.train_step(step)
            if pace:
                next_at += pace
                time.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        for job in jobs:
            job.watcher.__exit__(None, None, None)
            job.outcome["stats"] = stats_dict(job.watcher.stats)
    print(json.dumps([job.outcome for job in jobs]), flush=True)
    if args.result:
        with open(args.result, "w") as f:
            json.dump([job.outcome for job in jobs], f)


def stats_dict(stats):
    if isinstance(stats, dict):
        return dict(stats)
    return {k: v for k, v in vars(stats).items() if not k.startswith("_")} if hasattr(stats, "__dict__") else {
        k: getattr(stats, k) for k in getattr(stats, "__dataclass_fields__", {})}


if __name__ == "__main__":
    main()
