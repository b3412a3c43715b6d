"""Exact per-timestep dL/dh_t for nn.RNN, nn.LSTM and nn.GRU: the unrolled twin.

cuDNN and PyTorch's fused RNN kernels run the whole recurrence as one autograd node, so the output
sequence's ``.grad`` holds only the gradient that reaches h_t from above, not the one through
h_{t+1} (pytorch/pytorch#1407). On a probed step the watcher makes the module's forward this
unrolled twin: the same equations (PyTorch's own formulas, see the nn.RNN/LSTM/GRU docs), one
timestep at a time, using the module's own parameter tensors (no copy), with ``retain_grad()`` on
every h_t. It *is* that step's forward, so the loss, the parameters' ``.grad`` and the optimizer's
update equal the fused step's up to floating-point rounding. Its cost: T small matmuls per layer
instead of one fused kernel, on the probed steps only.

Bidirectional modules: each direction is its own gradwatch layer (layer index = 2 x layer +
direction); the reverse direction's timestep i is the i-th step it processes (input position
T-1-i), so timestep T-1 is again the one nearest the loss of a many-to-one model reading its end.
Dropout between layers is applied with ``F.dropout`` and the module's ``p``: the same distribution,
not the fused kernel's mask.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from gradwatch._proto import gradwatch_pb2 as pb


@dataclass
class LayerCapture:
    """The h_t of one gradwatch layer (a layer and direction of the module), in processing order."""
    hidden: List[torch.Tensor] = field(default_factory=list)

    def hidden_grads(self) -> Optional[torch.Tensor]:
        """[T, B, H] of dL/dh_t, or None when backward has not reached every h_t."""
        grads = [h.grad for h in self.hidden]
        if not grads or any(g is None for g in grads):
            if grads and all(g is None for g in grads):
                return None
            grads = [torch.zeros_like(h) if g is None else g for h, g in zip(self.hidden, grads)]
        return torch.stack([g.detach() for g in grads])

    def activations(self) -> torch.Tensor:
        return torch.stack([h.detach() for h in self.hidden])


@dataclass
class Capture:
    """What one probed forward of one module recorded."""
    layers: List[LayerCapture]
    batch_size: int = 0
    seq_len: int = 0


def cell_of(module: nn.Module) -> Tuple[int, int]:
    """(CellType, ActivationFunction) of a recurrent module; ValueError for what the probe cannot unroll."""
    if isinstance(module, nn.LSTM):
        return pb.LSTM, pb.TANH
    if isinstance(module, nn.GRU):
        return pb.GRU, pb.TANH
    if isinstance(module, nn.RNN):
        if module.nonlinearity == "tanh":
            return pb.RNN, pb.TANH
        if module.nonlinearity == "relu":
            return pb.RNN, pb.RELU
        raise ValueError(f"nn.RNN nonlinearity {module.nonlinearity!r} is not supported")
    raise TypeError(f"gradwatch probes nn.RNN, nn.LSTM and nn.GRU, not {type(module).__name__}; "
                    "watch feed-forward models as an nn.Sequential or a list of modules")


def check_supported(module: nn.Module) -> None:
    cell_of(module)
    if getattr(module, "proj_size", 0):
        raise ValueError("gradwatch cannot unroll an nn.LSTM with proj_size > 0 yet")


def gradwatch_layers(module: nn.RNNBase) -> int:
    """Layers as gradwatch counts them: each direction its own layer."""
    return module.num_layers * (2 if module.bidirectional else 1)


def _cell_step(mode: str, x_proj: torch.Tensor, h: torch.Tensor, c: Optional[torch.Tensor],
               w_hh: torch.Tensor, b_hh: Optional[torch.Tensor]):
    """One timestep; x_proj = x W_ih^T + b_ih already computed for all timesteps."""
    h_proj = F.linear(h, w_hh, b_hh)
    if mode == "RNN_TANH":
        return torch.tanh(x_proj + h_proj), None
    if mode == "RNN_RELU":
        return torch.relu(x_proj + h_proj), None
    if mode == "LSTM":
        i, f, g, o = (x_proj + h_proj).chunk(4, 1)
        c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_next), c_next
    if mode == "GRU":
        xr, xz, xn = x_proj.chunk(3, 1)
        hr, hz, hn = h_proj.chunk(3, 1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1 - z) * n + z * h, None
    raise ValueError(f"unknown RNN mode {mode}")


def unrolled_forward(module: nn.RNNBase, input: torch.Tensor, hx=None, capture: Optional[Capture] = None):
    """The module's forward, unrolled over time with its own parameters; fills ``capture``.

    Same arguments and return value as ``module(input, hx)`` for tensor inputs.
    """
    if isinstance(input, PackedSequence):
        raise TypeError("gradwatch's probe does not unroll a PackedSequence; pad the batch, or probe_every=0")
    check_supported(module)
    mode = module.mode
    is_lstm = mode == "LSTM"
    unbatched = input.dim() == 2
    x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if module.batch_first else input)
    seq_len, batch = x.shape[0], x.shape[1]
    directions = 2 if module.bidirectional else 1
    layers = module.num_layers * directions
    hidden = module.hidden_size
    if hx is None:
        zeros = x.new_zeros(layers, batch, hidden)
        h0, c0 = zeros, (zeros if is_lstm else None)
    else:
        h0, c0 = hx if is_lstm else (hx, None)
        if unbatched:
            h0 = h0.unsqueeze(1)
            c0 = c0.unsqueeze(1) if c0 is not None else None
    if capture is not None:
        capture.layers = [LayerCapture() for _ in range(layers)]
        capture.batch_size, capture.seq_len = batch, seq_len
    h_n, c_n = [], []
    layer_input = x
    for k in range(module.num_layers):
        outputs = []
        for d in range(directions):
            index = k * directions + d
            suffix = f"_l{k}" + ("_reverse" if d == 1 else "")
            w_ih = getattr(module, "weight_ih" + suffix)
            w_hh = getattr(module, "weight_hh" + suffix)
            b_ih = getattr(module, "bias_ih" + suffix) if module.bias else None
            b_hh = getattr(module, "bias_hh" + suffix) if module.bias else None
            x_proj = F.linear(layer_input, w_ih, b_ih)  # [T, B, gates*H]: one matmul for all timesteps
            h, c = h0[index], (c0[index] if is_lstm else None)
            order = range(seq_len - 1, -1, -1) if d == 1 else range(seq_len)
            hs: List[Optional[torch.Tensor]] = [None] * seq_len
            for t in order:
                h, c = _cell_step(mode, x_proj[t], h, c, w_hh, b_hh)
                if capture is not None and h.requires_grad:
                    h.retain_grad()
                if capture is not None:
                    capture.layers[index].hidden.append(h)
                hs[t] = h
            outputs.append(torch.stack(hs))
            h_n.append(h)
            if is_lstm:
                c_n.append(c)
        layer_input = outputs[0] if directions == 1 else torch.cat(outputs, dim=2)
        if module.dropout and module.training and k < module.num_layers - 1:
            layer_input = F.dropout(layer_input, module.dropout, True)
    output = layer_input
    h_last = torch.stack(h_n)
    if unbatched:
        output = output.squeeze(1)
        h_last = h_last.squeeze(1)
    elif module.batch_first:
        output = output.transpose(0, 1)
    if is_lstm:
        c_last = torch.stack(c_n)
        if unbatched:
            c_last = c_last.squeeze(1)
        return output, (h_last, c_last)
    return output, h_last


def hidden_grads(module: nn.RNNBase, input: torch.Tensor, loss_fn, hx=None) -> List[torch.Tensor]:
    """dL/dh_t of every gradwatch layer of ``module``, without a broker and without touching ``.grad``.

    Runs the unrolled twin on ``input`` (``hx`` optional), ``loss = loss_fn(output, h_n)``, and returns
    per gradwatch layer (each direction its own) a tensor [T, B, H], time-major in processing order
    whatever ``batch_first`` is: exactly what a probed step publishes as HIDDEN_GRAD. The parameters'
    ``.grad`` are left alone (``torch.autograd.grad`` with respect to the h_t only).
    """
    capture = Capture(layers=[])
    with torch.enable_grad():
        output, h_n = unrolled_forward(module, input, hx, capture)
        loss = loss_fn(output, h_n)
        hidden = [h for layer in capture.layers for h in layer.hidden]
        grads = torch.autograd.grad(loss, hidden, allow_unused=True)
    out, i = [], 0
    for layer in capture.layers:
        n = len(layer.hidden)
        out.append(torch.stack([torch.zeros_like(h) if g is None else g
                                for h, g in zip(layer.hidden, grads[i:i + n])]))
        i += n
    return out
