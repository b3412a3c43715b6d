"""The Watcher: what a PyTorch training loop uses (see docs/python-client.md)."""
from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import torch
from torch import nn

from gradwatch import config, control, feedforward, probe, records
from gradwatch._proto import gradwatch_pb2 as pb
from gradwatch.control import ControlState, StopTraining
from gradwatch.sender import Sender, Stats, make_producer

LOG = logging.getLogger("gradwatch")

# RunMetadata label by which a run opts in to the monitor's automatic commands (RunInfo.CLOSED_LOOP_LABEL).
CLOSED_LOOP_LABEL = "gradwatch.closed-loop"


@dataclass
class _WatchedRecurrent:
    module: nn.RNNBase
    name: str
    first_layer: int
    cell: int
    activation: int


@dataclass
class _WatchedChain:
    modules: List[nn.Module]
    name: str
    layer: int
    activation: int
    params_of: Optional[nn.Module]


def distributed_rank() -> Optional[int]:
    """This process's rank under an initialised torch.distributed, else None."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return None


class Watcher:
    """Publishes a PyTorch run to gradwatch; a context manager (``with Watcher(...) as watcher:``).

    Args:
        run_id: the run, unique across the fleet; the key of every record.
        bootstrap_servers: Kafka bootstrap servers; default GRADWATCH_KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092.
        kafka: standard Kafka client properties (``security.protocol``, ``sasl.mechanism`` ...), over the
            GRADWATCH_CONFIG file's ``kafka.*`` keys and GRADWATCH_KAFKA_* variables.
        labels: strings for RunMetadata.labels (team, job ...).
        closed_loop: listen on gradwatch.control for this run and apply its commands.
        probe_every: probe (exact per-timestep dL/dh_t, feed-forward hooks) on steps where
            ``step % probe_every == 0``; 0 never probes (StepRecords only).
        queue_size: records that may wait for the broker; a step that does not fit is dropped whole.
        on_stop: callback(command) run on the training thread for a stop command; default: raise
            StopTraining from the next ``watcher.step()``.
        checkpoint: callback(command) run before stopping (before on_stop or StopTraining).
        clip_norm: the clip norm of ``watcher.clip_grad_norm_`` until a set_clip_norm command changes it.
        dtype: wire dtype of tensor data: "F32" (default), "F16" or "BF16".
        publish: "tensors" (default: every probed timestep's tensors on gradwatch.gradients, from which the
            monitor can recompute anything) or "summaries" (one GradientSummary per layer and probed step on
            gradwatch.summaries, reduced on the sender thread: the same analysis, 100-1000x fewer bytes).
        all_ranks: under torch.distributed, publish from every rank (rank r > 0 as run ``<run_id>-rank<r>``
            with label rank=r), not only rank 0.
        task, init: RunMetadata.task and .init (e.g. "adding problem", "orthogonal").
        producer, consumer_factory: a confluent_kafka Producer / Consumer class to use instead (tests, shared clients).
    """

    def __init__(self, run_id: str, bootstrap_servers: Optional[str] = None,
                 kafka: Optional[Mapping[str, object]] = None, labels: Optional[Mapping[str, str]] = None,
                 closed_loop: bool = False, probe_every: int = 100, queue_size: int = 8192,
                 on_stop: Optional[Callable] = None, checkpoint: Optional[Callable] = None,
                 clip_norm: Optional[float] = None, dtype: str = "F32", publish: str = "tensors",
                 all_ranks: bool = False,
                 task: str = "", init: str = "", warn_every: int = 100, control_timeout: float = 30.0,
                 producer=None, consumer_factory: Optional[Callable] = None):
        if not run_id or len(run_id) > 1000 or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in run_id):
            raise ValueError(f"run_id must be 1 to 1,000 characters without control characters, got {run_id!r}")
        if probe_every < 0:
            raise ValueError(f"probe_every must be >= 0, got {probe_every}")
        if dtype not in records.DTYPES:
            raise ValueError(f"dtype must be one of {sorted(records.DTYPES)}, got {dtype!r}")
        if publish not in ("tensors", "summaries"):
            raise ValueError(f"publish must be 'tensors' or 'summaries', got {publish!r}")
        if clip_norm is not None and not (clip_norm > 0 and math.isfinite(clip_norm)):
            raise ValueError(f"clip_norm must be a positive number, got {clip_norm!r}")
        self.run_id = run_id
        self.settings = config.kafka_settings(bootstrap_servers, kafka)
        self.labels: Dict[str, str] = {str(k): str(v) for k, v in (labels or {}).items()}
        self.closed_loop = closed_loop
        self.probe_every = probe_every
        self.queue_size = queue_size
        self.on_stop = on_stop
        self.checkpoint = checkpoint
        self.dtype = records.DTYPES[dtype]
        self.publish = publish
        self.all_ranks = all_ranks
        self.task = task
        self.init = init
        self.warn_every = warn_every
        self.control_timeout = control_timeout
        self.control = ControlState()  # clip_norm: set by set_clip_norm commands only
        self.default_clip_norm = clip_norm
        self._last_limit: Optional[float] = None
        self._producer = producer
        self._consumer_factory = consumer_factory
        self._sender: Optional[Sender] = None
        self._listener: Optional[control.ControlListener] = None
        self._recurrent: List[_WatchedRecurrent] = []
        self._chains: List[_WatchedChain] = []
        self._names: Dict[int, str] = {}
        self._named_model: Optional[nn.Module] = None
        self._scope: Optional["StepScope"] = None  # the step being run
        self._layers = 0
        self._metadata_sent = False
        self._batch_size = 0
        self._seq_len = 0
        self._rank: Optional[int] = None
        self.publishing = False
        self._publish_seconds = 0.0
        self._probed_steps = 0
        self.started_ms = 0
        self._open = False

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Watcher":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> "Watcher":
        """Starts the sender thread and, with closed_loop, the control listener (subscribed before it returns)."""
        if self._open:
            return self
        self.started_ms = records.now_ms()
        self._rank = distributed_rank()
        self.publishing = self._rank in (None, 0) or self.all_ranks
        if self._rank is not None:
            self.labels.setdefault("rank", str(self._rank))
            if self._rank > 0 and self.all_ranks:
                # Another rank under the same run id would repeat rank 0's timesteps (duplicates to the monitor).
                self.run_id = f"{self.run_id}-rank{self._rank}"
        if self.publishing:
            producer = self._producer if self._producer is not None else make_producer(self.settings)
            self._sender = Sender(producer, self.run_id, self.queue_size, self.dtype, self.warn_every,
                                  encode=records.encode_summaries if self.publish == "summaries" else records.encode_step)
        if self.closed_loop and self._rank in (None, 0):
            self._listener = control.ControlListener(self.run_id, self.settings, self.started_ms,
                                                     self._consumer_factory)
            if not self._listener.start(self.control_timeout):
                reason = self._listener.error or f"no partitions of {records.TOPIC_CONTROL} assigned within " \
                                                  f"{self.control_timeout:g} s"
                if self._listener.error:
                    self.close()
                    raise RuntimeError(f"gradwatch: the control listener for run {self.run_id} was refused: {reason}")
                LOG.warning("gradwatch: control listener not ready (%s); commands sent now may be missed", reason)
        self._open = True
        LOG.info("gradwatch: watching run %s via %s", self.run_id, config.masked(self.settings))
        return self

    def close(self) -> Optional[Stats]:
        """Stops the listener, sends what is queued and flushes. Idempotent."""
        self._open = False
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._sender is not None:
            sender, self._sender = self._sender, None
            self._final_stats = sender.close()
            return self._final_stats
        return None

    @property
    def stats(self) -> Stats:
        """Records sent / dropped / failed (delivery errors) / queued, and steps dropped."""
        stats = self._sender.stats() if self._sender is not None else getattr(self, "_final_stats", Stats(0, 0, 0, 0, 0))
        return dataclasses.replace(stats, publish_seconds=self._publish_seconds, probed_steps=self._probed_steps)

    @property
    def clip_norm(self) -> Optional[float]:
        """The clip norm in force: the last set_clip_norm command's, else the last max_norm used, else Watcher(clip_norm)."""
        if self.control.clip_norm is not None:
            return self.control.clip_norm
        return self._last_limit if self._last_limit is not None else self.default_clip_norm

    @property
    def learning_rate_scale(self) -> float:
        """The product of the scale_learning_rate factors applied so far (1.0 before any)."""
        return self.control.learning_rate_scale

    def set_learning_rate(self, optimizer, learning_rate: float) -> float:
        """Sets every param group's ``lr`` to a scheduled rate times :attr:`learning_rate_scale`; returns it.

        A schedule that assigns ``lr`` each step (a warm-up, a hand-written decay) would undo a
        scale_learning_rate command at the next step: set it through this instead. Schedulers that
        multiply the current ``lr`` (StepLR, ExponentialLR, ...) keep the command without it.
        """
        if not (learning_rate >= 0 and math.isfinite(learning_rate)):
            raise ValueError(f"learning_rate must be a non-negative number, got {learning_rate!r}")
        scaled = learning_rate * self.control.learning_rate_scale
        for group in optimizer.param_groups:
            group["lr"] = scaled
        return scaled

    # -- what to watch -----------------------------------------------------------------------
    def watch(self, module: Union[nn.Module, Sequence[nn.Module]], name: Optional[str] = None):
        """Watches an nn.RNN/LSTM/GRU (its layers, each direction its own), or an nn.Sequential / list as an MLP."""
        if isinstance(module, nn.RNNBase):
            probe.check_supported(module)
            cell, activation = probe.cell_of(module)
            name = name or type(module).__name__.lower()
            self._recurrent.append(_WatchedRecurrent(module, name, self._layers, cell, activation))
            self._layers += probe.gradwatch_layers(module)
            self._name_parameters(module, name)
        else:
            modules = feedforward.hidden_modules(module)
            name = name or "mlp"
            self._chains.append(_WatchedChain(modules, name, self._layers, feedforward.chain_activation(modules),
                                              module if isinstance(module, nn.Module) else None))
            self._layers += 1
            if isinstance(module, nn.Module):
                self._name_parameters(module, name)
            else:
                for i, item in enumerate(module):
                    self._name_parameters(item, f"{name}.{i}")
        return module

    def _name_parameters(self, module: nn.Module, prefix: str) -> None:
        for pname, parameter in module.named_parameters():
            self._names.setdefault(id(parameter), f"{prefix}.{pname}" if prefix else pname)

    def is_probed(self, step: int) -> bool:
        return self.probe_every > 0 and step % self.probe_every == 0

    # -- the loop ----------------------------------------------------------------------------
    def step(self, step: int, optimizer=None, model: Optional[nn.Module] = None) -> "StepScope":
        """The scope of one optimizer step: applies pending commands, probes when due, publishes on exit."""
        if not self._open:
            raise RuntimeError("gradwatch: use the watcher as a context manager (with watcher: ...) or call start()")
        return StepScope(self, step, optimizer, model)

    def clip_grad_norm_(self, parameters, max_norm: Optional[float] = None, norm_type: float = 2.0,
                        error_if_nonfinite: bool = False) -> torch.Tensor:
        """torch.nn.utils.clip_grad_norm_ with the clip norm in force; records the norms before and after.

        The limit is the closed loop's clip norm, else ``max_norm``, else ``Watcher(clip_norm=)``; with
        none, nothing is clipped and the norm is only measured. Returns the total norm before clipping, like PyTorch.
        """
        if isinstance(parameters, torch.Tensor):
            parameters = [parameters]
        parameters = [p for p in parameters if p.grad is not None]
        limit = self.control.clip_norm
        if limit is None:
            limit = max_norm if max_norm is not None else self.default_clip_norm
        self._last_limit = limit
        scope = self._scope
        if not parameters:
            return torch.tensor(0.0)
        device = parameters[0].grad.device
        norms = torch.stack([torch.linalg.vector_norm(p.grad.detach(), norm_type).to(device) for p in parameters])
        total = norms.max() if norm_type == math.inf else torch.linalg.vector_norm(norms, norm_type)
        if error_if_nonfinite and torch.logical_or(total.isnan(), total.isinf()):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                               "so it cannot be clipped. To disable this error and scale the gradients by the "
                               "non-finite norm anyway, set `error_if_nonfinite=False`")
        clipped = total
        if limit is not None:
            # The same arithmetic as torch.nn.utils.clip_grad_norm_ (no host sync).
            coefficient = torch.clamp(limit / (total + 1e-6), max=1.0)
            for p in parameters:
                p.grad.detach().mul_(coefficient.to(p.grad.device))
            clipped = torch.minimum(total, torch.tensor(limit, dtype=total.dtype, device=total.device))
        if scope is not None:
            scope.grad_norm, scope.grad_norm_clipped = total.detach(), clipped.detach()
            if norm_type == 2.0:
                scope.grad_norms = ([self._names.get(id(p)) for p in parameters], norms.detach())
        return total

    # -- internals used by StepScope ---------------------------------------------------------
    def _apply_pending(self, optimizer) -> None:
        commands = self._listener.drain() if self._listener is not None else []
        commands = self._broadcast(commands)
        for command in commands:
            control.apply_command(command, self.control, optimizer)
        stop = self.control.stop
        if stop is not None:
            self.control.stop = None
            if self.checkpoint is not None:
                self.checkpoint(stop)
            if self.on_stop is not None:
                self.on_stop(stop)
            else:
                raise StopTraining(stop)

    def _broadcast(self, commands: List[pb.ControlCommand]) -> List[pb.ControlCommand]:
        """Under torch.distributed with the closed loop, rank 0's commands reach every rank at the same step."""
        if not self.closed_loop or self._rank is None or torch.distributed.get_world_size() < 2:
            return commands
        payload = [[c.SerializeToString() for c in commands] if self._rank == 0 else None]
        torch.distributed.broadcast_object_list(payload, src=0)
        out = []
        for value in payload[0]:
            command = pb.ControlCommand()
            command.ParseFromString(value)
            out.append(command)
        return out

    def _metadata(self, optimizer) -> pb.RunMetadata:
        labels = dict(self.labels)
        if self.closed_loop:
            labels[CLOSED_LOOP_LABEL] = "true"  # the monitor sends commands only to runs that opt in
        metadata = pb.RunMetadata(num_layers=self._layers, batch_size=self._batch_size, task=self.task,
                                  init=self.init, optimizer=type(optimizer).__name__ if optimizer is not None else "",
                                  clip_norm=self.clip_norm or 0.0, labels=labels)
        if self._recurrent:
            first = self._recurrent[0]
            metadata.cell, metadata.activation = first.cell, first.activation
            metadata.hidden_size, metadata.input_size = first.module.hidden_size, first.module.input_size
        elif self._chains:
            first = self._chains[0]
            metadata.cell, metadata.activation = pb.MLP, first.activation
            linears = [m for m in (first.params_of.modules() if first.params_of is not None else first.modules)
                       if isinstance(m, nn.Linear)]
            if linears:
                metadata.input_size, metadata.hidden_size = linears[0].in_features, linears[0].out_features
        return metadata


class StepScope:
    """One optimizer step (``with watcher.step(i, optimizer=opt) as s:``)."""

    def __init__(self, watcher: Watcher, step: int, optimizer, model):
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        self.watcher = watcher
        self.step = step
        self.optimizer = optimizer
        self.model = model
        self.probed = watcher.is_probed(step) and watcher.publishing
        self.grad_norm = None
        self.grad_norm_clipped = None
        self.grad_norms = None  # (names, norms) measured by watcher.clip_grad_norm_
        self.values: Optional[records.StepValues] = None
        self._captures: List[tuple] = []
        self._chain_probes: List[tuple] = []
        self._applied: List[str] = []
        self._seq_len = 0

    def __enter__(self) -> "StepScope":
        w = self.watcher
        w._apply_pending(self.optimizer)
        started = time.perf_counter()
        self._applied, w.control.applied = w.control.applied, []
        if self.model is not None and w._named_model is not self.model:
            for pname, parameter in self.model.named_parameters():
                w._names[id(parameter)] = pname  # the model's own names win over the watched modules'
            w._named_model = self.model
        if self.probed:
            w._probed_steps += 1
            for watched in w._recurrent:
                capture = probe.Capture(layers=[])
                module = watched.module
                previous = module.__dict__.get("forward")  # an instance-level forward of the user's, if any
                module.forward = functools.partial(self._twin, module, capture)
                self._captures.append((watched, capture, previous))
            for chain in w._chains:
                self._chain_probes.append((chain, feedforward.ChainProbe(chain.modules).install()))
        w._scope = self
        w._publish_seconds += time.perf_counter() - started
        return self

    @property
    def applied_commands(self) -> List[str]:
        """Ids of the commands applied as this step began (what its StepRecord echoes)."""
        return list(self._applied)

    @staticmethod
    def _twin(module, capture, input, hx=None):
        # Only the first call of a step is reported; later calls still run unrolled (same gradients).
        return probe.unrolled_forward(module, input, hx, capture if not capture.layers else None)

    def __exit__(self, exc_type, exc, tb) -> None:
        started = time.perf_counter()
        try:
            self._finish(exc_type)
        finally:
            self.watcher._publish_seconds += time.perf_counter() - started

    def _finish(self, exc_type) -> None:
        w = self.watcher
        w._scope = None
        for watched, _, previous in self._captures:
            watched.module.__dict__.pop("forward", None)  # back to the class's fused forward
            if previous is not None:
                watched.module.forward = previous
        for _, chain_probe in self._chain_probes:
            chain_probe.remove()
        if exc_type is not None:
            w.control.applied[:0] = self._applied  # not published: echo them in the next step instead
            return
        if not w.publishing:
            return
        if self.values is None:
            self._record(None, None, None)
        snapshot = self._snapshot()
        if not self.watcher._sender.offer(snapshot) and snapshot.values.metadata is not None:
            self.watcher._metadata_sent = False  # the metadata rides on the next step that gets through

    def record(self, loss=None, accuracy=None, learning_rate: Optional[float] = None) -> None:
        """The step's StepRecord values; call after optimizer.step(). Tensors are read on the sender thread."""
        started = time.perf_counter()
        try:
            self._record(loss, accuracy, learning_rate)
        finally:
            self.watcher._publish_seconds += time.perf_counter() - started

    def _record(self, loss, accuracy, learning_rate) -> None:
        w = self.watcher
        parameters = self._parameters()
        names = [w._names.get(id(p)) or f"param.{i}" for i, (p) in enumerate(parameters)]
        with torch.no_grad():
            param_norms = _norms([p for p in parameters]) if parameters else None
            if self.grad_norms is not None:
                grad_names, grad_norms = self.grad_norms
                grad_names = [n or f"param.{i}" for i, n in enumerate(grad_names)]
            else:
                with_grad = [p for p in parameters if p.grad is not None]
                grad_names = [names[i] for i, p in enumerate(parameters) if p.grad is not None]
                grad_norms = _norms([p.grad for p in with_grad]) if with_grad else None
            grad_norm = self.grad_norm
            if grad_norm is None:
                grad_norm = torch.linalg.vector_norm(grad_norms) if grad_norms is not None else math.nan
            clipped = self.grad_norm_clipped if self.grad_norm_clipped is not None else grad_norm
        if learning_rate is None and self.optimizer is not None and self.optimizer.param_groups:
            learning_rate = self.optimizer.param_groups[0]["lr"]
        self.values = records.StepValues(
            loss=loss.detach() if isinstance(loss, torch.Tensor) else (math.nan if loss is None else loss),
            learning_rate=math.nan if learning_rate is None else float(learning_rate),
            grad_norm=grad_norm, grad_norm_clipped=clipped, grad_names=grad_names, param_grad_norms=grad_norms,
            param_names=names, param_norms=param_norms, seq_len=0,
            accuracy=math.nan if accuracy is None else accuracy, applied_commands=list(self._applied))

    def _parameters(self) -> List[torch.nn.Parameter]:
        w = self.watcher
        if self.model is not None:
            return list(self.model.parameters())
        seen, out = set(), []
        sources = [p for g in self.optimizer.param_groups for p in g["params"]] if self.optimizer is not None else []
        if not sources:
            sources = [p for r in w._recurrent for p in r.module.parameters()]
            for chain in w._chains:
                for m in ([chain.params_of] if chain.params_of is not None else chain.modules):
                    sources.extend(m.parameters())
        for p in sources:
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
        return out

    def _snapshot(self) -> records.StepSnapshot:
        w = self.watcher
        snapshot = records.StepSnapshot(w.run_id, self.step, records.now_ms(), w._layers)
        for watched, capture, _ in self._captures:
            if not capture.layers:
                continue
            self._seq_len = self._seq_len or capture.seq_len
            w._batch_size = w._batch_size or capture.batch_size
            for offset, layer in enumerate(capture.layers):
                grads = layer.hidden_grads()
                if grads is None:
                    continue  # no backward reached this layer (no_grad, eval): activations alone never complete a step
                tensors = {pb.ACTIVATION: layer.activations(), pb.HIDDEN_GRAD: grads}
                snapshot.layers.append(records.LayerTensors(watched.first_layer + offset, watched.cell,
                                                            watched.activation, tensors))
        for chain, chain_probe in self._chain_probes:
            tensors = chain_probe.tensors()
            if tensors:
                self._seq_len = self._seq_len or len(chain.modules)
                w._batch_size = w._batch_size or chain_probe.batch_size
                snapshot.layers.append(records.LayerTensors(chain.layer, pb.MLP, chain.activation, tensors))
        values = self.values
        w._seq_len = self._seq_len or w._seq_len  # unprobed steps report the last probed length
        values.seq_len = w._seq_len
        values.dropped_records_total = w._sender.dropped_records
        if not w._metadata_sent:
            values.metadata = w._metadata(self.optimizer)
            w._metadata_sent = True
        snapshot.values = values
        return snapshot


def _norms(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    device = tensors[0].device
    return torch.stack([torch.linalg.vector_norm(t.detach()).to(device) for t in tensors])
