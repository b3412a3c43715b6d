#!/usr/bin/python3
"""Writes the PyTorch golden files the Java parity test reads (PyTorchParityTest).

Run with Debian's python3-torch (PyTorch 1.13, CPU):
    /usr/bin/python3 trainer-service/src/test/python/make_golden.py
For each cell it builds torch.nn.RNN/LSTM/GRU (2 layers, float64) with a linear head on the last
hidden state, a fixed batch, and softmax cross-entropy; it records every state_dict tensor, the
loss, every parameter gradient, and dL/dh_t of every layer and timestep. nn.RNN's output sequence
does not carry the gradient that flows back through the recurrence, so dL/dh_t comes from an
unrolled copy built from RNNCell/LSTMCell/GRUCell with the same weights (asserted to give the same
loss and parameter gradients).
"""
import json
import os

import torch

T, B, IN, H, LAYERS, CLASSES = 6, 3, 4, 5, 2, 3
OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "golden")

CASES = {
    "rnn_tanh": (torch.nn.RNN, torch.nn.RNNCell, {"nonlinearity": "tanh"}),
    "rnn_relu": (torch.nn.RNN, torch.nn.RNNCell, {"nonlinearity": "relu"}),
    "lstm": (torch.nn.LSTM, torch.nn.LSTMCell, {}),
    "gru": (torch.nn.GRU, torch.nn.GRUCell, {}),
}


def flat(tensor):
    return [float(v) for v in tensor.detach().reshape(-1).tolist()]


def make(name, module_cls, cell_cls, kwargs, seed):
    torch.manual_seed(seed)
    rnn = module_cls(IN, H, num_layers=LAYERS, **kwargs).double()
    head = torch.nn.Linear(H, CLASSES).double()
    x = torch.randn(T, B, IN, dtype=torch.float64)
    labels = torch.randint(0, CLASSES, (B,))

    out, _ = rnn(x)
    loss = torch.nn.functional.cross_entropy(head(out[-1]), labels)
    loss.backward()
    grads = {k: flat(p.grad) for k, p in rnn.named_parameters()}
    grads.update({"head." + k: flat(p.grad) for k, p in head.named_parameters()})

    # Unrolled copy with shared weights, for per-timestep dL/dh_t.
    cells = []
    for layer in range(LAYERS):
        cell = cell_cls(IN if layer == 0 else H, H, **kwargs).double()
        with torch.no_grad():
            cell.weight_ih.copy_(getattr(rnn, f"weight_ih_l{layer}"))
            cell.weight_hh.copy_(getattr(rnn, f"weight_hh_l{layer}"))
            cell.bias_ih.copy_(getattr(rnn, f"bias_ih_l{layer}"))
            cell.bias_hh.copy_(getattr(rnn, f"bias_hh_l{layer}"))
        cells.append(cell)
    head2 = torch.nn.Linear(H, CLASSES).double()
    head2.load_state_dict(head.state_dict())
    hs = [[None] * T for _ in range(LAYERS)]
    state = [None] * LAYERS
    for t in range(T):
        inp = x[t]
        for layer, cell in enumerate(cells):
            if module_cls is torch.nn.LSTM:
                h, c = cell(inp, state[layer]) if state[layer] is not None else cell(inp)
                state[layer] = (h, c)
            else:
                h = cell(inp, state[layer]) if state[layer] is not None else cell(inp)
                state[layer] = h
            h.retain_grad()
            hs[layer][t] = h
            inp = h
    loss2 = torch.nn.functional.cross_entropy(head2(hs[-1][-1]), labels)
    loss2.backward()
    assert abs(loss2.item() - loss.item()) < 1e-12, (loss2.item(), loss.item())
    for layer, cell in enumerate(cells):
        assert torch.allclose(cell.weight_hh.grad, getattr(rnn, f"weight_hh_l{layer}").grad, atol=1e-12)
    hidden_grads = [[v for t in range(T) for v in flat(hs[layer][t].grad)] for layer in range(LAYERS)]

    params = {k: {"shape": list(p.shape), "values": flat(p)} for k, p in rnn.state_dict().items()}
    params.update({"head." + k: {"shape": list(p.shape), "values": flat(p)} for k, p in head.state_dict().items()})
    golden = {
        "cell": name, "torch_version": torch.__version__,
        "seq_len": T, "batch": B, "input_size": IN, "hidden": H, "layers": LAYERS, "classes": CLASSES,
        "inputs": flat(x), "labels": [int(v) for v in labels.tolist()],
        "params": params, "loss": loss.item(), "grads": grads, "hidden_grads": hidden_grads,
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(golden, f, indent=1)
    print(f"{name}: loss {loss.item():.6f}")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for i, (name, (module_cls, cell_cls, kwargs)) in enumerate(CASES.items()):
        make(name, module_cls, cell_cls, kwargs, 1234 + i)
