"""Forward (and backward) FLOPs of one call, counted by ``torch.utils.flop_counter``.

``FlopCounterMode`` counts the FLOPs of the matrix-like aten ops it has a
formula for (mm, addmm, bmm, convolution, scaled-dot-product attention, ...);
elementwise ops, norms and activations count 0. One multiply-add is 2 FLOPs,
so ``macs == forward // 2``. Works on the meta device (shapes only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from paramshare_viz.analysis.runtime import ModelInput, call_model, output_tensors


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one forward (and optionally one backward) pass.

    Attributes:
        forward: total forward FLOPs (all modules, all calls).
        backward: FLOPs of the backward pass alone (gradients of every trainable
            parameter and of inputs that require grad, loss = sum of every output
            tensor), or ``None`` when not asked for.
        per_module: forward FLOPs by module qualified name (root ``""``), *inclusive*
            of submodules and summed over every call of the module. A module
            registered under several names appears once, under its first name
            (``named_modules()`` order). Modules that ran no counted op are absent.
    """

    forward: int
    backward: int | None = None
    per_module: dict[str, int] = field(default_factory=dict)

    @property
    def macs(self) -> int:
        """Forward multiply-accumulates: ``forward // 2``."""
        return self.forward // 2

    def to_dict(self) -> dict[str, Any]:
        return {
            "forward": self.forward,
            "backward": self.backward,
            "macs": self.macs,
            "per_module": dict(self.per_module),
        }


def qualify_flop_counts(model: nn.Module, counts: dict[str, dict[Any, int]]) -> dict[str, int]:
    """Map ``FlopCounterMode``'s names (``"GPT2LMHeadModel.transformer.h.0"``) to ``"transformer.h.0"``.

    The tracker names the root by its class and children by attribute path; the
    path is resolved to the module object and renamed to that object's first
    qualified name. A name that does not resolve is kept as the tracker wrote it.
    """
    first: dict[int, str] = {}
    for name, module in model.named_modules():
        first.setdefault(id(module), name)
    out: dict[str, int] = {}
    for raw, ops in counts.items():
        if raw == "Global":
            continue
        path = raw.split(".", 1)[1] if "." in raw else ""
        try:
            name = first.get(id(model.get_submodule(path)), raw)
        except AttributeError:
            name = raw
        out[name] = out.get(name, 0) + sum(ops.values())
    return out


def count_flops(model: nn.Module, example_input: ModelInput, *, backward: bool = False) -> FlopCount:
    """FLOPs of ``model(example_input)``, and of its backward pass when ``backward=True``.

    Runs in the model's current train/eval mode; the forward-only count runs
    under ``torch.no_grad()``. The backward pass uses ``torch.autograd.grad``,
    so no ``.grad`` attribute is touched.

    Args:
        model: any module, on any device (the meta device counts without memory).
        example_input: a tensor, a tuple/list of positional tensors, or a dict
            of keyword arguments.
        backward (bool): also count the backward pass. Default: ``False``.

    Returns:
        A :class:`FlopCount`; ``per_module`` is forward-only.
    """
    counter = FlopCounterMode(display=False, depth=None)
    if not backward:
        with torch.no_grad(), counter:
            call_model(model, example_input)
        return FlopCount(counter.get_total_flops(), None, qualify_flop_counts(model, counter.get_flop_counts()))

    with torch.enable_grad(), counter:
        output = call_model(model, example_input)
        forward = counter.get_total_flops()
        per_module = qualify_flop_counts(model, counter.get_flop_counts())
        wrt = [p for p in model.parameters() if p.requires_grad]
        wrt += [t for t in output_tensors(example_input) if t.requires_grad]
        losses = [t.sum().float() for t in output_tensors(output) if t.requires_grad and t.is_floating_point()]
        if wrt and losses:
            torch.autograd.grad(sum(losses), wrt, allow_unused=True)
        total = counter.get_total_flops()
    return FlopCount(forward, total - forward, per_module)
