#!/usr/bin/python3
"""An Adam warm-up that blows a leaky-ReLU IRNN up, and what the monitor's closed loop does about it.

    ./gradwatch up                                     # in another terminal
    PYTHONPATH=clients/python /usr/bin/python3 examples/pytorch/exploding_rnn.py
    PYTHONPATH=clients/python /usr/bin/python3 examples/pytorch/exploding_rnn.py --no-closed-loop

trainer-service's warmup-overshoot preset ported to PyTorch: a leaky-ReLU IRNN (W_hh the
identity, Le et al. 2015) on the long-dependency task, under Adam whose learning rate warms up
linearly from 1e-3 to a far too high 0.1 over 100 steps. Adam moves every weight by about the
learning rate and W_hh's spectral radius creeps past 1: here the global gradient norm jumps from
below 6 to 8e5 at step 22, swings for tens of steps and is Inf at step 90 (--no-closed-loop).

nn.RNN has no leaky ReLU, so the cell is unrolled here (LeakyIRNN). The client's probe unrolls
nn.RNN/LSTM/GRU only, so this run publishes StepRecords alone (probe_every=0): the monitor's
step-level rules judge it from the loss and the global norm that watcher.clip_grad_norm_ records.

With the closed loop (the default here), the monitor's EXPLODING (the global norm spiking past 10x
its recent mean) brings scale_learning_rate x0.1 at once: the run's metadata says Adam, whose
steps a clip would not shrink. The warm-up sets the rate through watcher.set_learning_rate, which
multiplies the schedule by every scale applied so far (assigned directly, the warm-up would undo
the command at the next step); the run recovers and learns the task. The script prints each command as it takes effect and how the
run ended; --result FILE writes that as JSON (PythonClientIT reads it). examples/pytorch/README.md
has the figures and what the closed loop can and cannot rescue.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

import gradwatch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from long_dependency import long_dependency_batch  # noqa: E402  (the same task)

LEAKY_SLOPE = 0.01  # torch.nn.LeakyReLU's default, as trainer-service's LEAKY_RELU


class LeakyIRNN(torch.nn.Module):
    """h_t = leaky_relu(W_ih x_t + b + W_hh h_{t-1}), W_hh = I, W_ih ~ N(0, 0.001^2); a linear head on h_T.

    trainer-service's IDENTITY init; the head is PyTorch's default nn.Linear, as there.
    """

    def __init__(self, vocab, hidden, classes):
        super().__init__()
        self.weight_ih = torch.nn.Parameter(torch.randn(hidden, vocab) * 0.001)
        self.weight_hh = torch.nn.Parameter(torch.eye(hidden))
        self.bias = torch.nn.Parameter(torch.zeros(hidden))
        self.head = torch.nn.Linear(hidden, classes)

    def forward(self, x):
        inputs = x @ self.weight_ih.t() + self.bias  # [T, B, H], one matmul for every timestep
        h = inputs.new_zeros(inputs.shape[1:])
        for t in range(inputs.shape[0]):
            h = F.leaky_relu(inputs[t] + h @ self.weight_hh.t(), LEAKY_SLOPE)
        return self.head(h)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="an Adam warm-up that blows a leaky-ReLU IRNN up, and the closed loop")
    p.add_argument("--run-id", default="pt-warmup-overshoot")
    p.add_argument("--bootstrap-servers", default=None,
                   help="Kafka (default: GRADWATCH_KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092)")
    p.add_argument("--steps", type=int, default=150, help="(default: %(default)s)")
    p.add_argument("--seq-len", type=int, default=50)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3, help="the warm-up's first rate (default: %(default)s)")
    p.add_argument("--peak-lr", type=float, default=0.1, help="the rate the warm-up ends at (default: %(default)s)")
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--seed", type=int, default=30)
    p.add_argument("--steps-per-second", type=float, default=10.0,
                   help="pace, so the closed loop's round trip is a few steps; 0: as fast as possible")
    p.add_argument("--no-closed-loop", action="store_true", help="the same run without the closed loop")
    p.add_argument("--result", default=None, metavar="FILE", help="write the outcome as JSON here")
    return p.parse_args(argv)


def scheduled_lr(args, step):
    """The warm-up: linear from --lr to --peak-lr over --warmup-steps, then flat (TrainingSpec's schedule)."""
    progress = min(1.0, step / args.warmup_steps) if args.warmup_steps > 0 else 1.0
    return args.lr + (args.peak_lr - args.lr) * progress


def train(args, watcher):
    """The training loop; returns the outcome (the --result JSON)."""
    torch.manual_seed(args.seed)
    vocab, classes = 10, 2
    model = LeakyIRNN(vocab, args.hidden, classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed + 1)
    outcome = {"run_id": watcher.run_id, "closed_loop": watcher.closed_loop, "steps": 0, "final_loss": None,
               "finite": True, "first_nonfinite_step": None, "max_grad_norm": 0.0, "commands": [], "stop": None}

    largest = 0.0
    pace = 1.0 / args.steps_per_second if args.steps_per_second > 0 else 0.0
    next_at = time.monotonic()
    for step in range(args.steps):
        x, y = long_dependency_batch(generator, args.seq_len, args.batch, vocab, classes)
        optimizer.zero_grad()
        clip_before, scale_before = watcher.clip_norm, watcher.learning_rate_scale
        try:
            with watcher.step(step, optimizer=optimizer, model=model) as s:
                lr = watcher.set_learning_rate(optimizer, scheduled_lr(args, step))
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                loss.backward()
                norm = float(watcher.clip_grad_norm_(model.parameters()))
                optimizer.step()
                accuracy = (logits.argmax(1) == y).float().mean().item()
                s.record(loss=loss, accuracy=accuracy)
        except gradwatch.StopTraining as stopped:  # raised as the step began: nothing of it ran or was published
            command = stopped.command
            outcome["stop"] = {"command_id": command.command_id, "reason": command.reason, "at_step": step}
            print(f"{watcher.run_id}: stop {command.command_id} at step {step}: {command.reason}", flush=True)
            break
        report_commands(watcher, outcome, step, s.applied_commands, clip_before, scale_before, lr)
        value = loss.item()
        outcome["steps"], outcome["final_loss"] = step + 1, value if math.isfinite(value) else str(value)
        largest = max(largest, norm) if not math.isnan(norm) else math.inf
        outcome["max_grad_norm"] = largest if math.isfinite(largest) else "inf"
        finite = math.isfinite(value) and math.isfinite(norm)  # an Inf norm is NON_FINITE to the monitor too
        if step % 10 == 0 or not finite:
            print(f"{watcher.run_id}: step {step} lr {lr:.4g} loss {value:.4g} grad norm {norm:.4g} "
                  f"accuracy {accuracy:.2f}", flush=True)
        if not finite:
            outcome["finite"], outcome["first_nonfinite_step"] = False, step
            print(f"{watcher.run_id}: the loss or the gradient norm is no longer finite at step {step}", flush=True)
            break
        if pace:
            next_at += pace
            time.sleep(max(0.0, next_at - time.monotonic()))
    return outcome


def report_commands(watcher, outcome, step, applied, clip_before, scale_before, lr):
    """Prints what the commands applied at this step's start changed; keeps it for --result."""
    if not applied:
        return
    changes = []
    if watcher.clip_norm != clip_before:
        changes.append(f"clip norm {clip_before} -> {watcher.clip_norm}")
    if watcher.learning_rate_scale != scale_before:
        changes.append(f"learning-rate scale {scale_before:g} -> {watcher.learning_rate_scale:g} (lr now {lr:.4g})")
    print(f"{watcher.run_id}: step {step}: applied {', '.join(applied)}: {'; '.join(changes) or 'no change'}",
          flush=True)
    outcome["commands"].append({"step": step, "ids": list(applied), "clip_norm": watcher.clip_norm,
                                "learning_rate_scale": watcher.learning_rate_scale, "learning_rate": lr})


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(1)  # small matrices: one thread is as fast, and the run is deterministic
    torch.set_flush_denormal(True)  # dead-ish units leave subnormal floats, 5x slower on x86 CPUs
    watcher = gradwatch.Watcher(run_id=args.run_id, bootstrap_servers=args.bootstrap_servers,
                                labels={"example": "warmup-overshoot"}, closed_loop=not args.no_closed_loop,
                                probe_every=0, task="long dependency", init="identity")
    with watcher:
        outcome = train(args, watcher)
    outcome["stats"] = {"records_sent": watcher.stats.records_sent, "records_dropped": watcher.stats.records_dropped}
    verdict = "finite" if outcome["finite"] else f"non-finite from step {outcome['first_nonfinite_step']}"
    print(f"{args.run_id}: done after {outcome['steps']} steps; final loss {outcome['final_loss']} ({verdict}); "
          f"commands applied: {[c['ids'] for c in outcome['commands']]}", flush=True)
    print(json.dumps(outcome), flush=True)
    if args.result:
        with open(args.result, "w") as f:
            json.dump(outcome, f)


if __name__ == "__main__":
    main()
