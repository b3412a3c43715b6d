#!/usr/bin/python3
"""An exploding ReLU RNN under the monitor's closed loop.

    ./gradwatch up                                     # in another terminal
    PYTHONPATH=clients/python /usr/bin/python3 examples/pytorch/exploding_rnn.py

An IRNN (Le et al. 2015: ReLU, W_hh initialised to the identity) on the long-dependency task with
SGD at learning rate 0.012 and momentum 0.9, T 50: the global gradient norm spikes to ~10^4 at step
1. The run opts into the closed loop (closed_loop=True labels its first StepRecord
gradwatch.closed-loop=true): when the monitor's EXPLODING alert fires (three flagged steps), it
sends set_clip_norm 1.0 on gradwatch.control; the watcher applies it at the next step and
watcher.clip_grad_norm_ clips to it from then on. The script prints the step at which the clip
norm changed. Spikes of one or two steps end before a debounced alert can act: see
examples/pytorch/README.md for what the closed loop can and cannot rescue.
"""
import argparse
import math
import os
import sys
import time

import torch

import gradwatch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from long_dependency import long_dependency_batch  # noqa: E402  (the same task)


def main(argv=None):
    p = argparse.ArgumentParser(description="an exploding IRNN the closed loop clips")
    p.add_argument("--run-id", default="pt-exploding-irnn")
    p.add_argument("--bootstrap-servers", default=None)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seq-len", type=int, default=50)
    p.add_argument("--lr", type=float, default=0.012)
    p.add_argument("--probe-every", type=int, default=1)
    p.add_argument("--steps-per-second", type=float, default=5.0)
    p.add_argument("--no-closed-loop", action="store_true", help="the same run without the closed loop")
    args = p.parse_args(argv)

    torch.manual_seed(0)
    vocab, hidden, classes = 10, 32, 2
    rnn = torch.nn.RNN(vocab, hidden, nonlinearity="relu")
    head = torch.nn.Linear(hidden, classes)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.eye(hidden))
    params = list(rnn.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(params, lr=args.lr, momentum=0.9)
    generator = torch.Generator().manual_seed(1)
    watcher = gradwatch.Watcher(run_id=args.run_id, bootstrap_servers=args.bootstrap_servers,
                                labels={"example": "exploding-irnn"}, closed_loop=not args.no_closed_loop,
                                probe_every=args.probe_every)
    pace = 1.0 / args.steps_per_second if args.steps_per_second > 0 else 0.0
    clip_seen = None
    with watcher:
        watcher.watch(rnn)
        next_at = time.monotonic()
        for step in range(args.steps):
            x, y = long_dependency_batch(generator, args.seq_len, 32, vocab, classes)
            optimizer.zero_grad()
            with watcher.step(step, optimizer=optimizer) as s:
                out, _ = rnn(x)
                loss = torch.nn.functional.cross_entropy(head(out[-1]), y)
                loss.backward()
                norm = watcher.clip_grad_norm_(params)
                optimizer.step()
                s.record(loss=loss)
            clip = getattr(watcher, "clip_norm", None)
            if clip != clip_seen:
                print(f"{args.run_id}: step {step}: clip norm now {clip} (set by the closed loop)", flush=True)
                clip_seen = clip
            if step < 10 or step % 10 == 0 or not math.isfinite(loss.item()):
                print(f"{args.run_id}: step {step} loss {loss.item():.4g} grad norm {float(norm):.4g}", flush=True)
            if not math.isfinite(loss.item()):
                print(f"{args.run_id}: the loss is no longer finite at step {step}", flush=True)
                break
            if pace:
                next_at += pace
                time.sleep(max(0.0, next_at - time.monotonic()))
    print(f"{args.run_id}: done; {watcher.stats}", flush=True)


if __name__ == "__main__":
    main()
