#!/usr/bin/python3
"""The Python side of the cross-language test (trainer-service's PythonProbeParityIT).

    PYTHONPATH=clients/python /usr/bin/python3 trainer-service/src/test/python/probe_parity.py OUT_DIR

For each case it builds torch.nn.RNN / LSTM / GRU (2 layers) with a linear head on the last hidden
state, a fixed one-hot batch of the long-dependency task and softmax cross-entropy, and runs one
training step through gradwatch's probe, capturing what the probe measured: dL/dh_t of every layer
and timestep. It writes, per case:
  <case>.safetensors      the weights in PyTorch's layout (state_dict names, F32; the head as head.*)
                          plus the inputs (F64, time-major [T, B, IN]) and labels (F64) under
                          "input." names, with the case's sizes in __metadata__;
  <case>.norms.json       per layer, the Frobenius norm over the batch of dL/dh_t at each timestep.
The Java test loads the same weights into its own model and compares its per-timestep norms.
Weights are rounded to F32 once, then both sides compute in float64 from the very same values.
"""
import json
import os
import struct
import sys

import torch

import gradwatch
import gradwatch.probe

T, B, IN, H, LAYERS, CLASSES = 12, 4, 6, 8, 2, 2

CASES = {
    "rnn_tanh": (torch.nn.RNN, {"nonlinearity": "tanh"}, False),
    "rnn_relu": (torch.nn.RNN, {"nonlinearity": "relu"}, True),
    "lstm": (torch.nn.LSTM, {}, True),
    "gru": (torch.nn.GRU, {}, False),
}


def write_safetensors(path, tensors, metadata):
    """The safetensors format: 8-byte little-endian header length, JSON header, raw little-endian data."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, tensor in tensors.items():
        dtype = {torch.float32: "F32", torch.float64: "F64"}[tensor.dtype]
        data = tensor.detach().contiguous().cpu().numpy().astype("<f4" if dtype == "F32" else "<f8").tobytes()
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)


def long_dependency_batch(generator):
    """As trainer-service's LongDependencyTask: a marker token at t = 0 fixes the label, distractors after."""
    labels = torch.randint(0, CLASSES, (B,), generator=generator)
    tokens = torch.randint(CLASSES, IN, (T, B), generator=generator)
    tokens[0] = labels
    x = torch.nn.functional.one_hot(tokens, IN).to(torch.float64)
    return x, labels


def run_case(name, module_cls, kwargs, batch_first, out_dir, seed):
    torch.manual_seed(seed)
    rnn = module_cls(IN, H, num_layers=LAYERS, batch_first=batch_first, **kwargs)
    head = torch.nn.Linear(H, CLASSES)
    # Rounded to F32 once (what the file holds), then float64 on both sides.
    rnn.double()
    head.double()
    x, labels = long_dependency_batch(torch.Generator().manual_seed(seed))
    weights = {k: v.float() for k, v in rnn.state_dict().items()}
    weights.update({"head." + k: v.float() for k, v in head.state_dict().items()})
    with torch.no_grad():
        for k, v in rnn.state_dict().items():
            v.copy_(weights[k].double())
        for k, v in head.state_dict().items():
            v.copy_(weights["head." + k].double())

    model_input = x.transpose(0, 1).contiguous() if batch_first else x
    grads = probed_hidden_grads(rnn, head, model_input, labels, batch_first)

    norms = [[float(torch.linalg.vector_norm(g[t])) for t in range(T)] for g in grads]
    tensors = dict(weights)
    tensors["input.x"] = x
    tensors["input.labels"] = labels.to(torch.float64)
    cell = {torch.nn.RNN: "RNN", torch.nn.LSTM: "LSTM", torch.nn.GRU: "GRU"}[module_cls]
    metadata = {"cell": cell, "activation": kwargs.get("nonlinearity", "tanh").upper(), "seq_len": str(T),
                "batch": str(B), "input_size": str(IN), "hidden": str(H), "layers": str(LAYERS),
                "classes": str(CLASSES), "batch_first": str(batch_first).lower(), "torch": torch.__version__}
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), tensors, metadata)
    with open(os.path.join(out_dir, name + ".norms.json"), "w") as f:
        json.dump({"case": name, "norms": norms}, f)
    print(f"{name}: layer 0 g_0 {norms[0][0]:.6g} g_T-1 {norms[0][-1]:.6g}")


def probed_hidden_grads(rnn, head, x, labels, batch_first):
    """One step through gradwatch's probe, as a probed watcher.step() runs it: the module's forward
    replaced by the client's unrolled twin with a Capture; dL/dh_t per layer, time-major [T, B, H]."""
    capture = gradwatch.probe.Capture(layers=[])
    out, _ = gradwatch.probe.unrolled_forward(rnn, x, None, capture)
    last = out[:, -1] if batch_first else out[-1]
    torch.nn.functional.cross_entropy(head(last), labels).backward()
    assert len(capture.layers) == LAYERS, f"the probe captured {len(capture.layers)} layers, expected {LAYERS}"
    return [layer.hidden_grads().to(torch.float64) for layer in capture.layers]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: probe_parity.py OUT_DIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    for i, (case, (cls, kw, bf)) in enumerate(CASES.items()):
        run_case(case, cls, kw, bf, sys.argv[1], 4321 + i)
