"""The probe's dL/dh_t against autograd on an explicitly unrolled float64 reference, and the probed step's
side effects (none beyond rounding) on the model, its gradients and the optimizer."""
import copy
import itertools

import numpy as np
import pytest
import torch
from torch import nn

import gradwatch
from gradwatch import probe
from gradwatch._proto import gradwatch_pb2 as pb
from conftest import RecordingProducer, decode, tensor_values

T, B, I, H = 5, 3, 4, 6

CELLS = {
    "rnn_tanh": lambda **kw: nn.RNN(I, H, nonlinearity="tanh", **kw),
    "rnn_relu": lambda **kw: nn.RNN(I, H, nonlinearity="relu", **kw),
    "lstm": lambda **kw: nn.LSTM(I, H, **kw),
    "gru": lambda **kw: nn.GRU(I, H, **kw),
}


def make(cell, num_layers=1, batch_first=False, bidirectional=False, seed=0):
    torch.manual_seed(seed)
    module = CELLS[cell](num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional).double()
    if cell == "rnn_relu":
        with torch.no_grad():  # keep most relu units alive so the gradients are not trivially zero
            for name, p in module.named_parameters():
                if name.startswith("bias"):
                    p.add_(0.5)
    return module


def reference_hidden_grads(module, x, loss_fn):
    """dL/dh_t per (layer, direction) from torch's own cells, unrolled explicitly: [T, B, H] in processing order."""
    cell_type = {nn.LSTM: nn.LSTMCell, nn.GRU: nn.GRUCell}.get(type(module))
    directions = 2 if module.bidirectional else 1
    x_tm = x.transpose(0, 1) if module.batch_first else x
    layer_input = x_tm
    hiddens, h_n, c_n = [], [], []
    for k in range(module.num_layers):
        outs = []
        for d in range(directions):
            suffix = f"_l{k}" + ("_reverse" if d else "")
            in_size = layer_input.shape[2]
            if cell_type is None:
                cell = nn.RNNCell(in_size, module.hidden_size, nonlinearity=module.nonlinearity).double()
            else:
                cell = cell_type(in_size, module.hidden_size).double()
            with torch.no_grad():
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(cell, name).copy_(getattr(module, name + suffix))
            h = torch.zeros(x_tm.shape[1], module.hidden_size, dtype=torch.float64)
            c = torch.zeros_like(h)
            seq = [None] * x_tm.shape[0]
            processed = []
            for t in (reversed(range(x_tm.shape[0])) if d else range(x_tm.shape[0])):
                if cell_type is nn.LSTMCell:
                    h, c = cell(layer_input[t], (h, c))
                else:
                    h = cell(layer_input[t], h)
                h.retain_grad()
                seq[t] = h
                processed.append(h)
            hiddens.append(processed)
            outs.append(torch.stack(seq))
            h_n.append(h)
            c_n.append(c)
        layer_input = torch.cat(outs, dim=2)
    output = layer_input.transpose(0, 1) if module.batch_first else layer_input
    state = (torch.stack(h_n), torch.stack(c_n)) if isinstance(module, nn.LSTM) else torch.stack(h_n)
    loss_fn(output, state).backward()
    return [torch.stack([h.grad for h in layer]) for layer in hiddens]


def loss_of(module, seed=1):
    """A loss reading every output timestep and the final state, so gradients reach h_t from above and through time."""
    generator = torch.Generator().manual_seed(seed)
    directions = 2 if module.bidirectional else 1
    w_out = torch.randn(T, B, directions * H, generator=generator, dtype=torch.float64)
    w_last = torch.randn(module.num_layers * directions, B, H, generator=generator, dtype=torch.float64)

    def loss_fn(output, state):
        out_tm = output.transpose(0, 1) if module.batch_first else output
        h_n = state[0] if isinstance(state, tuple) else state
        return (out_tm * w_out).sum() + (torch.tanh(h_n) * w_last).sum()
    return loss_fn


def inputs(module, seed=2):
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x.transpose(0, 1).contiguous() if module.batch_first else x


def assert_relative(actual, expected, rtol=1e-6):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    scale = max(np.abs(expected).max(), 1e-30)
    # Element-wise relative, with a floor at 1e-6 of the tensor's scale for elements that are ~0.
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * 1e-3 * scale)


MATRIX = list(itertools.product(CELLS, (1, 2), (False, True)))


@pytest.mark.parametrize("cell,num_layers,batch_first", MATRIX)
def test_published_hidden_grads_equal_autograd_on_an_unrolled_float64_reference(cell, num_layers, batch_first):
    module = make(cell, num_layers, batch_first)
    x, loss_fn = inputs(module), loss_of(module)
    expected = reference_hidden_grads(copy.deepcopy(module), x, loss_fn)

    producer = RecordingProducer()
    with gradwatch.Watcher("parity", producer=producer, probe_every=1) as watcher:
        watcher.watch(module)
        with watcher.step(0):
            output, state = module(x)
            loss_fn(output, state).backward()
    tensors, steps = decode(producer.records)
    grads = [r for r in tensors if r.kind == pb.HIDDEN_GRAD]
    assert len(grads) == num_layers * T
    for layer in range(num_layers):
        published = [r for r in grads if r.layer == layer]
        assert [r.timestep for r in published] == list(range(T))
        assert all(r.seq_len == T and r.num_layers == num_layers and list(r.shape) == [B, H] for r in published)
        assert_relative(np.stack([tensor_values(r) for r in published]), expected[layer].numpy())
    assert len(steps) == 1


@pytest.mark.parametrize("cell,num_layers,batch_first", MATRIX)
def test_hidden_grads_function_matches_the_reference_to_float64_precision(cell, num_layers, batch_first):
    module = make(cell, num_layers, batch_first)
    x, loss_fn = inputs(module), loss_of(module)
    expected = reference_hidden_grads(copy.deepcopy(module), x, loss_fn)
    actual = probe.hidden_grads(module, x, loss_fn)
    assert len(actual) == num_layers
    for a, e in zip(actual, expected):
        assert_relative(a.numpy(), e.numpy(), rtol=1e-10)
    assert all(p.grad is None for p in module.parameters())


@pytest.mark.parametrize("cell", list(CELLS))
def test_bidirectional_directions_are_layers_of_their_own_in_processing_order(cell):
    module = make(cell, num_layers=2, batch_first=True, bidirectional=True)
    x, loss_fn = inputs(module), loss_of(module)
    expected = reference_hidden_grads(copy.deepcopy(module), x, loss_fn)
    actual = probe.hidden_grads(module, x, loss_fn)
    assert len(actual) == 4
    for a, e in zip(actual, expected):
        assert_relative(a.numpy(), e.numpy(), rtol=1e-10)


def test_the_fused_module_output_grad_misses_the_gradient_through_the_recurrence():
    # Why the probe exists (pytorch/pytorch#1407): only the last timestep's output feeds the loss.
    module = make("lstm")
    x = inputs(module)
    output, _ = module(x)
    output.retain_grad()
    output[-1].sum().backward()
    fused = output.grad.norm(dim=(1, 2))
    assert torch.all(fused[:-1] == 0)
    exact = probe.hidden_grads(make("lstm"), x, lambda out, state: out[-1].sum())[0].norm(dim=(1, 2))
    assert torch.all(exact[:-1] > 0)
    assert exact[-1] == pytest.approx(float(fused[-1]), rel=1e-12)


def test_the_unrolled_forward_returns_what_the_fused_forward_returns():
    for cell, batch_first in itertools.product(CELLS, (False, True)):
        module = make(cell, 2, batch_first, bidirectional=cell == "gru")
        x = inputs(module)
        directions = 2 if module.bidirectional else 1
        h0 = torch.randn(2 * directions, B, H, dtype=torch.float64)
        hx = (h0, torch.randn_like(h0)) if cell == "lstm" else h0
        fused_out, fused_state = module(x, hx)
        out, state = probe.unrolled_forward(module, x, hx)
        torch.testing.assert_close(out, fused_out)
        for a, b in zip(state if cell == "lstm" else [state], fused_state if cell == "lstm" else [fused_state]):
            torch.testing.assert_close(a, b)


def test_unbatched_input_runs_through_the_twin():
    module = make("gru")
    x = torch.randn(T, I, dtype=torch.float64)
    out, h = probe.unrolled_forward(module, x)
    fused_out, fused_h = module(x)
    torch.testing.assert_close(out, fused_out)
    torch.testing.assert_close(h, fused_h)


def train_step(model, optimizer, watcher, step, x, y):
    optimizer.zero_grad()
    with watcher.step(step, optimizer=optimizer, model=model) as s:
        out, _ = model[0](x)
        loss = nn.functional.mse_loss(model[1](out[:, -1]), y)
        loss.backward()
        watcher.clip_grad_norm_(model.parameters(), max_norm=0.5)
        optimizer.step()
        s.record(loss=loss)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
def test_a_probed_step_leaves_model_gradients_and_optimizer_as_an_unprobed_step_does(cell):
    torch.manual_seed(3)
    rnn = CELLS[cell](num_layers=2, batch_first=True)
    model = nn.ModuleList([rnn, nn.Linear(H, 1)])
    twin = copy.deepcopy(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    twin_opt = torch.optim.Adam(twin.parameters(), lr=1e-2)
    x, y = torch.randn(B, T, I), torch.randn(B, 1)
    with gradwatch.Watcher("probed", producer=RecordingProducer(), probe_every=1) as probed, \
            gradwatch.Watcher("fused", producer=RecordingProducer(), probe_every=0) as fused:
        probed.watch(model[0])
        fused.watch(twin[0])
        for step in range(3):
            train_step(model, opt, probed, step, x, y)
            train_step(twin, twin_opt, fused, step, x, y)
        assert probed.stats.probed_steps == 3 and fused.stats.probed_steps == 0
    assert "forward" not in model[0].__dict__  # the class's fused forward is back
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=name)
        for key in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(opt.state[p][key], twin_opt.state[q][key], rtol=1e-4, atol=1e-8)
        assert opt.state[p]["step"] == twin_opt.state[q]["step"]


def test_only_probed_steps_publish_tensors_and_activations_precede_hidden_grads():
    module = make("lstm", num_layers=2)
    producer = RecordingProducer()
    with gradwatch.Watcher("order", producer=producer, probe_every=2) as watcher:
        watcher.watch(module)
        for step in range(3):
            with watcher.step(step):
                out, _ = module(inputs(module))
                out.sum().backward()
    tensors, steps = decode(producer.records)
    assert sorted({r.step for r in tensors}) == [0, 2]
    assert [s.step for s in steps] == [0, 1, 2]
    for step, layer in itertools.product((0, 2), (0, 1)):
        kinds = [r.kind for r in tensors if r.step == step and r.layer == layer]
        assert kinds == [pb.ACTIVATION] * T + [pb.HIDDEN_GRAD] * T
    assert all(r.cell == pb.LSTM and r.activation == pb.TANH and r.dtype == pb.F32 for r in tensors)
    # Activations are h_t themselves.
    h = [r for r in tensors if r.step == 0 and r.layer == 1 and r.kind == pb.ACTIVATION]
    assert np.all(np.abs(tensor_values(h[0])) < 1)


def test_unsupported_modules_are_refused_with_a_clear_error():
    watcher = gradwatch.Watcher("refuse", producer=RecordingProducer())
    with pytest.raises(ValueError, match="proj_size"):
        watcher.watch(nn.LSTM(I, H, proj_size=2))
    with pytest.raises(TypeError, match="nn.Sequential"):
        watcher.watch(nn.Linear(2, 2))
    packed = nn.utils.rnn.pack_padded_sequence(torch.randn(T, B, I), [T] * B)
    with pytest.raises(TypeError, match="PackedSequence"):
        probe.unrolled_forward(nn.GRU(I, H), packed)


def test_dropout_between_layers_is_applied_in_training_and_absent_in_eval():
    torch.manual_seed(4)
    module = nn.GRU(I, H, num_layers=2, dropout=0.5).double()
    x = inputs(module)
    module.eval()
    torch.testing.assert_close(probe.unrolled_forward(module, x)[0], module(x)[0])
    module.train()
    torch.manual_seed(5)
    trained, _ = probe.unrolled_forward(module, x)
    assert not torch.allclose(trained, module.eval()(x)[0])  # a mask was drawn between the layers


def test_sender_thread_not_training_thread_copies_and_encodes_and_no_grad_steps_send_no_tensors(monkeypatch):
    import threading
    from gradwatch import records as records_module
    threads = []
    real = records_module._host_values
    monkeypatch.setattr(records_module, "_host_values",
                        lambda t, d: threads.append(threading.current_thread().name) or real(t, d))
    module = make("rnn_tanh")
    producer = RecordingProducer()
    with gradwatch.Watcher("threads", producer=producer, probe_every=1) as watcher:
        watcher.watch(module)
        with watcher.step(0):
            module(inputs(module))[0].sum().backward()
        with watcher.step(1), torch.no_grad():
            module(inputs(module))
    assert threads and set(threads) == {"gradwatch-sender"}
    tensors, steps = decode(producer.records)
    assert {r.step for r in tensors} == {0} and [s.step for s in steps] == [0, 1]
