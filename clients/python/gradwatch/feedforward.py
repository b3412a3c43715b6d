"""Feed-forward models as gradwatch's MLP cell: per-depth activation gradients through hooks.

The hidden states of an ``nn.Sequential`` are the outputs of its activation modules (nn.Sigmoid,
nn.Tanh, nn.ReLU, nn.LeakyReLU, nn.ELU) when it has any, else the output of every child; of a
given list of modules, the output of each. Depth d (0 nearest the input) is the "timestep" of
one gradwatch layer, so g_0 / g_{T-1} is the chain's decay (the notes' sigmoid chain: each
sigmoid passes at most 0.25). Each depth publishes ACTIVATION (its output), HIDDEN_GRAD
(dL/d output) and, for activation modules, PREACT_GRAD (dL/d input, the pre-activation).
Hooks are registered through handles on probed steps only and removed when the step ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from gradwatch._proto import gradwatch_pb2 as pb

ACTIVATIONS = {nn.Sigmoid: pb.SIGMOID, nn.Tanh: pb.TANH, nn.ReLU: pb.RELU, nn.LeakyReLU: pb.LEAKY_RELU,
               nn.ELU: pb.ELU}


def activation_of(module: nn.Module) -> Optional[int]:
    for kind, value in ACTIVATIONS.items():
        if isinstance(module, kind):
            return value
    return None


def hidden_modules(model) -> List[nn.Module]:
    """The modules whose outputs are the chain's hidden states (see the module docstring)."""
    if isinstance(model, nn.Sequential):
        children = list(model.children())
        activations = [child for child in children if activation_of(child) is not None]
        modules = activations or children
    elif isinstance(model, (list, tuple, nn.ModuleList)):
        modules = list(model)
    else:
        raise TypeError(f"gradwatch watches an nn.Sequential or a list of modules as an MLP, not {type(model).__name__}")
    if not modules:
        raise ValueError("gradwatch: the feed-forward model has no modules to watch")
    for module in modules:
        if not isinstance(module, nn.Module):
            raise TypeError(f"gradwatch: {module!r} is not an nn.Module")
    return modules


def chain_activation(modules: Sequence[nn.Module]) -> int:
    for module in modules:
        value = activation_of(module)
        if value is not None:
            return value
    return pb.ACTIVATION_UNSPECIFIED


def _flat(tensor: torch.Tensor) -> torch.Tensor:
    """[batch, features]: a hidden state of any shape, batch first."""
    tensor = tensor.detach()
    if tensor.dim() == 0:
        return tensor.reshape(1, 1)
    if tensor.dim() == 1:
        return tensor.reshape(1, -1)
    return tensor.reshape(tensor.shape[0], -1)


@dataclass
class DepthCapture:
    activation: Optional[torch.Tensor] = None
    hidden_grad: Optional[torch.Tensor] = None
    preact_grad: Optional[torch.Tensor] = None


@dataclass
class ChainProbe:
    """Hooks on one chain for one probed step; :meth:`remove` leaves the modules as they were."""
    modules: Sequence[nn.Module]
    depths: List[DepthCapture] = field(default_factory=list)
    batch_size: int = 0
    _handles: list = field(default_factory=list)

    def install(self) -> "ChainProbe":
        self.depths = [DepthCapture() for _ in self.modules]
        for depth, module in enumerate(self.modules):
            self._handles.append(module.register_forward_hook(self._forward_hook(depth, module)))
        return self

    def _forward_hook(self, depth: int, module: nn.Module):
        capture = self.depths[depth]
        wants_preact = activation_of(module) is not None

        def hook(_module, inputs, output):
            if capture.activation is not None or not isinstance(output, torch.Tensor):
                return  # a module called twice in one step: the first call is the one reported
            capture.activation = _flat(output)
            if depth == 0:
                self.batch_size = capture.activation.shape[0]
            if output.requires_grad:
                self._handles.append(output.register_hook(lambda g: setattr(capture, "hidden_grad", _flat(g))))
            if wants_preact and inputs and isinstance(inputs[0], torch.Tensor) and inputs[0].requires_grad:
                self._handles.append(inputs[0].register_hook(lambda g: setattr(capture, "preact_grad", _flat(g))))
        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def tensors(self) -> Dict[int, List[torch.Tensor]]:
        """Per kind, the depths' tensors, when every depth has one (kinds missing anywhere are left out)."""
        out: Dict[int, List[torch.Tensor]] = {}
        for kind, attribute in ((pb.ACTIVATION, "activation"), (pb.PREACT_GRAD, "preact_grad"),
                                (pb.HIDDEN_GRAD, "hidden_grad")):
            values = [getattr(depth, attribute) for depth in self.depths]
            if values and all(value is not None for value in values):
                out[kind] = values
        return out
