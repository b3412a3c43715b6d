"""examples/pytorch/exploding_rnn.py without the closed loop: the run it rescues does blow up.

PythonClientIT (launcher) runs the same script against the local stack with the loop on.
"""
import math
import os
import sys

import torch

import gradwatch
from conftest import RecordingProducer, decode

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "pytorch"))
import exploding_rnn  # noqa: E402


def test_without_the_closed_loop_the_warm_up_turns_the_loss_non_finite_after_tens_of_finite_steps():
    args = exploding_rnn.parse_args(["--no-closed-loop", "--steps-per-second", "0"])
    torch.set_flush_denormal(True)  # as main() does: the same arithmetic, bit for bit
    producer = RecordingProducer()
    with gradwatch.Watcher(args.run_id, producer=producer, probe_every=0) as watcher:
        outcome = exploding_rnn.train(args, watcher)
    _, steps = decode(producer.records)
    assert not outcome["finite"] and outcome["stop"] is None and outcome["commands"] == []
    nonfinite = outcome["first_nonfinite_step"]
    norms = [s.grad_norm for s in steps]
    first_spike = next(i for i, n in enumerate(norms) if n > 1e3)
    assert 10 <= first_spike < 40, norms[:40]
    assert nonfinite - first_spike >= 30, "tens of steps from the first spike to NaN/Inf"
    assert all(math.isfinite(s.loss) and math.isfinite(s.grad_norm) for s in steps[:nonfinite])
    assert not (math.isfinite(steps[nonfinite].loss) and math.isfinite(steps[nonfinite].grad_norm))
    assert len(steps) == nonfinite + 1, "the script ends at its first non-finite step"
    assert [s.learning_rate for s in steps[:3]] == [exploding_rnn.scheduled_lr(args, i) for i in range(3)]
