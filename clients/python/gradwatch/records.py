"""What one step publishes, and its encoding into the wire records. Pure: no Kafka, no threads.

The training thread builds a :class:`StepSnapshot` holding *device* tensors, detached (no copy, no
host synchronisation); the sender thread calls :func:`encode_step`, which copies them to the host
and serialises them. Record order within a step and layer (see docs/protocol.md): every
ACTIVATION timestep first, then PREACT_GRAD, then HIDDEN_GRAD, timestep 0 .. T-1. The monitor
completes a layer's step on its last HIDDEN_GRAD, and from a layer's first ACTIVATION on it also
waits for activations; with activations first, no activation ever arrives after its step closed.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch

from gradwatch._proto import gradwatch_pb2 as pb

TOPIC_GRADIENTS = "gradwatch.gradients"
TOPIC_STEPS = "gradwatch.steps"
TOPIC_CONTROL = "gradwatch.control"

# Kinds in the order a layer's step sends them.
KIND_ORDER = (pb.ACTIVATION, pb.PREACT_GRAD, pb.HIDDEN_GRAD)

DTYPES = {"F32": pb.F32, "F16": pb.F16, "BF16": pb.BF16}


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class LayerTensors:
    """One layer's tensors of one step: each kind a tensor [seq_len, batch, width] (device, detached)."""
    layer: int
    cell: int
    activation: int
    # TensorKind -> [T, B, W], or a list of T tensors [B, W_t] (an MLP's depths differ in width)
    tensors: Dict[int, Union[torch.Tensor, Sequence[torch.Tensor]]]

    @property
    def seq_len(self) -> int:
        return len(next(iter(self.tensors.values()))) if self.tensors else 0

    def record_count(self) -> int:
        return sum(len(t) for t in self.tensors.values())


@dataclass
class StepValues:
    """The StepRecord's values, scalars possibly still device tensors (read on the sender thread)."""
    loss: object = math.nan
    learning_rate: float = math.nan
    grad_norm: object = math.nan
    grad_norm_clipped: object = math.nan
    grad_names: Sequence[str] = ()
    param_grad_norms: Optional[torch.Tensor] = None  # [len(grad_names)]
    param_names: Sequence[str] = ()
    param_norms: Optional[torch.Tensor] = None  # [len(param_names)]
    seq_len: int = 0
    accuracy: object = math.nan
    applied_commands: Sequence[str] = ()
    dropped_records_total: int = 0
    metadata: Optional[pb.RunMetadata] = None


@dataclass
class StepSnapshot:
    run_id: str
    step: int
    event_time_ms: int
    num_layers: int
    layers: List[LayerTensors] = field(default_factory=list)
    values: Optional[StepValues] = None  # None: tensors only (no StepRecord)

    def record_count(self) -> int:
        return sum(layer.record_count() for layer in self.layers) + (1 if self.values is not None else 0)


def _scalar(value) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach().to("cpu", torch.float64))
    return float(value) if value is not None else math.nan


def _host_values(tensor: torch.Tensor, dtype: int):
    """The tensor on the host as a little-endian numpy array in the wire dtype (one copy for all timesteps)."""
    tensor = tensor.detach()
    if dtype == pb.F32:
        host = tensor.to("cpu", torch.float32).contiguous().numpy()
        return host.astype("<f4", copy=False)
    if dtype == pb.F16:
        return tensor.to("cpu", torch.float16).contiguous().numpy().astype("<f2", copy=False)
    if dtype == pb.BF16:
        # numpy has no bfloat16: reinterpret torch's (round-to-nearest-even) bfloat16 bits.
        return tensor.to("cpu", torch.bfloat16).contiguous().view(torch.int16).numpy().astype("<i2", copy=False)
    raise ValueError(f"unknown wire dtype {dtype}")


def encode_tensors(snapshot: StepSnapshot, dtype: int = pb.F32) -> List[bytes]:
    """The step's TensorRecords, serialised, in publishing order (per layer: kinds in KIND_ORDER, t = 0..T-1)."""
    values: List[bytes] = []
    for layer in snapshot.layers:
        for kind in KIND_ORDER:
            tensor = layer.tensors.get(kind)
            if tensor is None:
                continue
            # One host copy for all timesteps of a stacked tensor; one per depth for a list.
            host = _host_values(tensor, dtype) if isinstance(tensor, torch.Tensor) else [
                _host_values(item, dtype) for item in tensor]
            seq_len = len(host)
            for t in range(seq_len):
                record = pb.TensorRecord(
                    run_id=snapshot.run_id, step=snapshot.step, layer=layer.layer, timestep=t, seq_len=seq_len,
                    kind=kind, shape=list(host[t].shape), dtype=dtype, data=host[t].tobytes(), cell=layer.cell,
                    activation=layer.activation, event_time_ms=snapshot.event_time_ms,
                    num_layers=snapshot.num_layers)
                values.append(record.SerializeToString())
    return values


def step_record(snapshot: StepSnapshot) -> pb.StepRecord:
    """The StepRecord of the snapshot (host values read here, on the sender thread)."""
    v = snapshot.values
    record = pb.StepRecord(
        run_id=snapshot.run_id, step=snapshot.step, loss=_scalar(v.loss), learning_rate=_scalar(v.learning_rate),
        grad_norm=_scalar(v.grad_norm), grad_norm_clipped=_scalar(v.grad_norm_clipped), seq_len=v.seq_len,
        accuracy=_scalar(v.accuracy), event_time_ms=snapshot.event_time_ms,
        applied_commands=list(v.applied_commands), dropped_records_total=v.dropped_records_total)
    if v.param_grad_norms is not None:
        record.param_grad_norms.update(zip(v.grad_names, v.param_grad_norms.detach().to("cpu", torch.float64).tolist()))
    if v.param_norms is not None:
        record.param_norms.update(zip(v.param_names, v.param_norms.detach().to("cpu", torch.float64).tolist()))
    if v.metadata is not None:
        record.metadata.CopyFrom(v.metadata)
    return record


def encode_summaries(snapshot: StepSnapshot, dtype: int = pb.F32) -> List[Tuple[str, bytes]]:
    """(topic, value) pairs of the whole step as summaries: one GradientSummary per layer, then its StepRecord.

    The reduction reads the float32 host values (``dtype`` applies to tensors only); see gradwatch.summaries.
    """
    from gradwatch import summaries  # numpy is needed only here

    out = []
    for layer in snapshot.layers:
        by_kind = {}
        for kind, tensor in layer.tensors.items():
            host = _host_values(tensor, pb.F32) if isinstance(tensor, torch.Tensor) else [
                _host_values(item, pb.F32) for item in tensor]
            by_kind[kind] = list(host)
        summary = summaries.summarize(snapshot.run_id, snapshot.step, layer.layer, layer.cell, layer.activation,
                                      by_kind, snapshot.event_time_ms, snapshot.num_layers)
        out.append((summaries.TOPIC_SUMMARIES, summary.SerializeToString()))
    if snapshot.values is not None:
        out.append((TOPIC_STEPS, step_record(snapshot).SerializeToString()))
    return out


def encode_step(snapshot: StepSnapshot, dtype: int = pb.F32) -> List[Tuple[str, bytes]]:
    """(topic, value) pairs of the whole step: its tensors, then its StepRecord."""
    out = [(TOPIC_GRADIENTS, value) for value in encode_tensors(snapshot, dtype)]
    if snapshot.values is not None:
        out.append((TOPIC_STEPS, step_record(snapshot).SerializeToString()))
    return out
