"""The reduction of a step's tensors to a GradientSummary, as the monitor reduces TensorRecords.

The same arithmetic as the Java side's ``io.gradwatch.protocol.TensorStats`` and ``ActivationStats``
(protocol/src/test/resources/summary-fixtures holds shared cases; tests/test_summaries.py checks
this module against them byte for byte), so a step published as a summary gives the monitor the
same LayerHealth as its tensors would. The summation order is part of that contract: the squares
and absolute values of a tensor without NaN/Inf are summed in float64 in two running sums (even
and odd indices, each in index order, ``numpy.cumsum`` being sequential); with NaN/Inf present, in
one running sum over the finite values.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from gradwatch._proto import gradwatch_pb2 as pb

TOPIC_SUMMARIES = "gradwatch.summaries"
DEFAULT_SATURATION_MARGIN = 0.01


def _running_sum(values: np.ndarray) -> float:
    return float(np.cumsum(values)[-1]) if values.size else 0.0


def tensor_stats(values: np.ndarray) -> Tuple[float, float, float, int]:
    """(norm, max_abs, mean_abs, non_finite) of a float32 tensor, over its finite values."""
    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    size = flat.size
    a = np.abs(flat).astype(np.float64)
    finite = np.isfinite(a)
    if finite.all():
        squares = a * a
        sum_squares = _running_sum(squares[0::2]) + _running_sum(squares[1::2])
        sum_abs = _running_sum(a[0::2]) + _running_sum(a[1::2])
        max_abs = float(a.max()) if size else 0.0
        return math.sqrt(sum_squares), max_abs, (sum_abs / size if size else 0.0), 0
    kept = a[finite]
    non_finite = int(size - kept.size)
    sum_squares = _running_sum(kept * kept)
    sum_abs = _running_sum(kept)
    max_abs = float(kept.max()) if kept.size else 0.0
    return math.sqrt(sum_squares), max_abs, (sum_abs / kept.size if kept.size else 0.0), non_finite


def activation_stats(values: np.ndarray, activation: int, margin: float,
                     ever_nonzero: np.ndarray) -> Tuple[int, int, int]:
    """(saturated, non_finite, values) of h_t [rows, columns]; ORs the non-zero columns into ever_nonzero."""
    h = np.asarray(values, dtype=np.float32)
    h = h.reshape(1, -1) if h.ndim < 2 else h.reshape(h.shape[0], -1)
    ever_nonzero[:h.shape[1]] |= (h != 0).any(axis=0)
    # tanh saturates at -1 and 1, sigmoid at 0 and 1: "within margin of a bound" (compared in float64).
    low = margin if activation == pb.SIGMOID else -1 + margin
    high = 1 - margin
    wide = h.astype(np.float64)
    with np.errstate(invalid="ignore"):
        saturated = int(np.count_nonzero((wide <= low) | (wide >= high)))
    return saturated, int(np.count_nonzero(~np.isfinite(h))), int(h.size)


def _columns(tensor: np.ndarray) -> int:
    return int(tensor.shape[-1]) if tensor.ndim >= 2 else int(tensor.size)


def summarize(run_id: str, step: int, layer: int, cell: int, activation: int,
              tensors: Dict[int, Sequence[np.ndarray]], event_time_ms: int, num_layers: int,
              margin: float = DEFAULT_SATURATION_MARGIN) -> pb.GradientSummary:
    """The GradientSummary of one layer's step: ``tensors`` maps a TensorKind to its T float32 arrays [B, W]."""
    grads = tensors.get(pb.HIDDEN_GRAD)
    if grads is None or len(grads) == 0:
        raise ValueError("a summary needs the layer's HIDDEN_GRAD tensors")
    seq_len = len(grads)
    norms = [math.nan] * seq_len
    max_abs = [math.nan] * seq_len
    mean_abs = [math.nan] * seq_len
    non_finite = [0] * seq_len
    units = 0
    for t, g in enumerate(grads):
        norm, largest, mean, bad = tensor_stats(g)
        if bad < np.asarray(g).size:
            norms[t], max_abs[t], mean_abs[t] = norm, largest, mean
        non_finite[t] += bad
        units = max(units, _columns(np.asarray(g)))
    for t, z in enumerate(tensors.get(pb.PREACT_GRAD) or ()):
        non_finite[t] += tensor_stats(z)[3]
    summary = pb.GradientSummary(run_id=run_id, step=step, layer=layer, seq_len=seq_len, cell=cell,
                                 activation=activation, event_time_ms=event_time_ms, num_layers=num_layers,
                                 norm=norms, max_abs=max_abs, mean_abs=mean_abs, non_finite=non_finite, units=units)
    acts = tensors.get(pb.ACTIVATION)
    if acts is not None and len(acts) > 0:
        width = max(_columns(np.asarray(h)) for h in acts)
        ever = np.zeros(width, dtype=bool)
        saturated = values = 0
        for t, h in enumerate(acts):
            sat, bad, count = activation_stats(h, activation, margin, ever)
            saturated += sat
            values += count
            non_finite[t] += bad
        summary.non_finite[:] = non_finite
        summary.activations.CopyFrom(pb.ActivationSummary(
            units=width, ever_nonzero=np.packbits(ever, bitorder="little").tobytes(), saturated=saturated,
            values=values, saturation_margin=margin))
    return summary
