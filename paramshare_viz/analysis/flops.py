"""Forward (and backward) FLOPs of one call, counted by ``torch.utils.flop_counter``.

``FlopCounterMode`` counts the FLOPs of the matrix-like aten ops it has a
formula for (mm, addmm, bmm, convolution, scaled-dot-product attention, ...);
elementwise ops, norms and activations count 0. One multiply-add is 2 FLOPs,
so ``macs == forward // 2``. Works on the meta device (shapes only).

Per-module attribution: the mode's module tracker is replaced by
:class:`~paramshare_viz.analysis.runtime.CallCounter`, which names each module
by its first qualified name (``"transformer.h.0.attn"``, root ``""``) instead of
torch's ``"GPT2LMHeadModel.transformer.h.0.attn"``, counts calls on the way,
and registers no autograd hooks (torch's tracker fails under ``no_grad`` on
no-grad views of parameters, e.g. ``h0.expand(N, -1)``). A FLOP is added to
every module whose forward is running, so counts are inclusive of submodules.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import nn
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode, _FlopCounterMode

from paramshare_viz.analysis.runtime import CallCounter, ModelInput, call_model, output_tensors


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


def _cpu_attention_formulas() -> dict[Any, Any]:
    """Formulas torch lacks: SDPA on CPU runs ``_scaled_dot_product_flash_attention_for_cpu``,
    which ``flop_counter`` does not register, so attention would count 0 FLOPs on CPU only."""
    aten = torch.ops.aten
    formulas: dict[Any, Callable[..., int]] = {}
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu"):

        def forward(query, key, value, *args, out_shape=None, **kwargs) -> int:
            return flop_counter.sdpa_flop_count(query, key, value)

        formulas[aten._scaled_dot_product_flash_attention_for_cpu] = forward
    if hasattr(aten, "_scaled_dot_product_flash_attention_for_cpu_backward"):

        def backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
            return flop_counter.sdpa_backward_flop_count(grad_out, query, key, value)

        formulas[aten._scaled_dot_product_flash_attention_for_cpu_backward] = backward
    return formulas


class _EagerDispatch(_FlopCounterMode):
    """torch's FLOP-counting dispatch mode, minus its ``torch._dynamo`` guard.

    torch wraps every dispatch mode's ``__torch_dispatch__`` in
    ``torch._disable_dynamo``, which imports ``torch._dynamo`` (and sympy) on the
    first op: about 70 MB and 2 CPU-seconds in every process that counts FLOPs,
    a dashboard kernel at its first view included. Nothing here counts FLOPs
    under ``torch.compile``, so the guard has nothing to guard.
    """

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # read by TorchDispatchMode.__init_subclass__: leave __torch_dispatch__ unwrapped

    __torch_dispatch__ = inspect.unwrap(_FlopCounterMode.__torch_dispatch__)


class _FlopCounter(FlopCounterMode):
    """``FlopCounterMode`` entering :class:`_EagerDispatch` instead of torch's wrapped mode."""

    def __enter__(self):  # torch's __enter__, with the mode class swapped
        self.flop_counts.clear()
        self.mod_tracker.__enter__()
        self.mode = _EagerDispatch(self)
        self.mode.__enter__()
        return self


def counting_mode(model: nn.Module) -> tuple[FlopCounterMode, CallCounter]:
    """A ``FlopCounterMode`` whose module tracker is a :class:`CallCounter` of ``model``.

    Entering the mode also counts forward calls; FLOPs are keyed by canonical
    qualified names (plus ``"Global"``, the total).
    """
    counter = _FlopCounter(
        display=False,
        depth=None,  # type: ignore[arg-type]  # torch annotates int, but get_table treats None as unlimited
        custom_mapping=_cpu_attention_formulas(),
    )
    if not hasattr(counter, "mod_tracker"):  # torch < 2.4 named modules differently
        raise RuntimeError(f"torch {torch.__version__}: FlopCounterMode has no mod_tracker; need torch >= 2.4")
    calls = CallCounter(model)
    counter.mod_tracker = calls  # type: ignore[assignment]  # duck-typed forward-only tracker: see CallCounter
    return counter, calls


def per_module_flops(counter: FlopCounterMode) -> dict[str, int]:
    """``{module name: FLOPs}`` from a mode built by :func:`counting_mode`, without ``"Global"``."""
    return {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items() if name != "Global"}


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
    counter, _ = counting_mode(model)
    if not backward:
        with torch.no_grad(), counter:
            call_model(model, example_input)
        return FlopCount(counter.get_total_flops(), None, per_module_flops(counter))

    with torch.enable_grad(), counter:
        output = call_model(model, example_input)
        forward = counter.get_total_flops()
        per_module = per_module_flops(counter)
        wrt: list[torch.Tensor] = [p for p in model.parameters() if p.requires_grad]
        wrt += [t for t in output_tensors(example_input) if t.requires_grad]
        losses = [t.sum().float() for t in output_tensors(output) if t.requires_grad and t.is_floating_point()]
        if wrt and losses:
            torch.autograd.grad(cast(torch.Tensor, sum(losses)), wrt, allow_unused=True)  # losses is non-empty
        total = counter.get_total_flops()
    return FlopCount(forward, total - forward, per_module)
