"""Feed-forward chains as the MLP cell: per-depth gradients through hooks, removed after the step."""
import math

import numpy as np
import pytest
import torch
from torch import nn

import gradwatch
from gradwatch._proto import gradwatch_pb2 as pb
from conftest import RecordingProducer, decode, tensor_values


def logit(p):
    return math.log(p / (1 - p))


def notes_sigmoid_chain():
    """Three 1-unit sigmoid layers, weights 1, biases giving activations 0.5, 0.58 and 0.62 (the notes' chain)."""
    chain = nn.Sequential(nn.Linear(1, 1), nn.Sigmoid(), nn.Linear(1, 1), nn.Sigmoid(), nn.Linear(1, 1), nn.Sigmoid())
    with torch.no_grad():
        for linear, bias in zip(chain[0::2], (0.0, logit(0.58) - 0.5, logit(0.62) - 0.58)):
            linear.weight.fill_(1.0)
            linear.bias.fill_(bias)
    return chain


def test_the_notes_sigmoid_chain_shows_up_from_a_real_model():
    chain = notes_sigmoid_chain()
    producer = RecordingProducer()
    with gradwatch.Watcher("chain", producer=producer, probe_every=1) as watcher:
        watcher.watch(chain)
        with watcher.step(0):
            chain(torch.zeros(1, 1)).sum().backward()
    tensors, steps = decode(producer.records)
    by_kind = {kind: [float(tensor_values(r)[0, 0]) for r in tensors if r.kind == kind]
               for kind in (pb.ACTIVATION, pb.PREACT_GRAD, pb.HIDDEN_GRAD)}
    assert by_kind[pb.ACTIVATION] == pytest.approx([0.5, 0.58, 0.62], abs=1e-6)
    # Each sigmoid passes sigma'(z) = a(1 - a) of the gradient: 0.25, 0.2436, 0.2356 (the notes write 0.25, 0.24, 0.23).
    local = [p / h for p, h in zip(by_kind[pb.PREACT_GRAD], by_kind[pb.HIDDEN_GRAD])]
    assert local == pytest.approx([0.25, 0.58 * 0.42, 0.62 * 0.38], rel=1e-5)
    assert [math.floor(v * 100) / 100 for v in local] == [0.25, 0.24, 0.23]
    # The gradient reaching the first layer's pre-activation: 0.25 x 0.24 x 0.23 = 0.0138 with the notes' rounding.
    overall = by_kind[pb.PREACT_GRAD][0] / by_kind[pb.HIDDEN_GRAD][-1]
    assert overall == pytest.approx(0.25 * 0.2436 * 0.2356, rel=1e-5)
    assert overall == pytest.approx(0.25 * 0.24 * 0.23, abs=7e-4)
    assert all(r.cell == pb.MLP and r.activation == pb.SIGMOID and r.seq_len == 3 and r.layer == 0 for r in tensors)
    assert [r.timestep for r in tensors if r.kind == pb.HIDDEN_GRAD] == [0, 1, 2]
    assert steps[0].metadata.cell == pb.MLP and steps[0].seq_len == 3


def test_hooks_are_removed_after_the_step_and_unprobed_steps_register_none():
    chain = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))
    producer = RecordingProducer()
    with gradwatch.Watcher("hooks", producer=producer, probe_every=2) as watcher:
        watcher.watch(chain)
        for step in range(2):
            with watcher.step(step):
                assert bool(chain[1]._forward_hooks) == (step == 0)
                chain(torch.randn(5, 4)).pow(2).sum().backward()
            assert not any(m._forward_hooks for m in chain.modules())
    tensors, _ = decode(producer.records)
    assert {r.step for r in tensors} == {0}
    assert [list(r.shape) for r in tensors if r.kind == pb.HIDDEN_GRAD] == [[5, 8], [5, 8]]


def test_a_list_of_modules_reports_each_output_and_widths_may_differ():
    layers = [nn.Linear(3, 7), nn.Linear(7, 5)]
    model = nn.Sequential(layers[0], nn.ReLU(), layers[1])
    producer = RecordingProducer()
    with gradwatch.Watcher("list", producer=producer, probe_every=1) as watcher:
        watcher.watch(layers)
        with watcher.step(0):
            out = model(torch.randn(2, 3))
            out.sum().backward()
    tensors, _ = decode(producer.records)
    grads = [r for r in tensors if r.kind == pb.HIDDEN_GRAD]
    assert [list(r.shape) for r in grads] == [[2, 7], [2, 5]]
    assert not [r for r in tensors if r.kind == pb.PREACT_GRAD]  # Linear modules have no pre-activation
    np.testing.assert_allclose(tensor_values(grads[1]), np.ones((2, 5)))
