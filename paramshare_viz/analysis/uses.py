"""Every *use* of every parameter in one forward: who reads which tensor, how often.

Names find sharing written in the module tree (one tensor under two names);
calls find a module run several times. A tie written in code is neither:
``F.linear(h, self.emb.weight)`` or ``F.linear(z, self.enc.weight.t())`` reads a
tensor from a module that does not hold it. :class:`UseTracer` watches one
forward through ``torch.overrides.TorchFunctionMode`` and records, for each
parameter, every call of a torch function that reads it, and the innermost
module whose ``forward`` was running (``""`` for the root).

Conventions:

* A **use** is one call of a torch function (``F.linear``, ``torch.matmul``,
  ``Tensor.__mul__``, ``torch._VF.lstm``, ...) with the parameter, or a view of
  it made in the same forward, among its arguments. A call reading a tensor
  twice (``w @ w``) is one use. Writing it in place (``w.div_(2)``,
  ``w += x``, ``w.copy_(v)``) is not a use of ``w`` (``v`` is read). Views (``.t()``, ``.T``, ``.view``, slicing,
  ``reshape``, ``transpose``, ``permute``, ``expand``, ``unsqueeze``, ``.to``,
  ``.detach``, ...) are not uses: the call consuming the view is. Calls that
  return no tensor (``.shape``, ``.dtype``, ``.size()``) read metadata only.
  Functions run inside a traced call (``F.layer_norm`` calling
  ``torch.layer_norm``) are not seen again: a call counts once.
* **Applications**: a fused op applies a weight many times inside one call —
  ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (``torch._VF.rnn_tanh`` ...) at each of T
  steps, a convolution at every output position. ``uses`` counts the call
  once; ``applications`` counts the steps or positions.
* Identity, not addresses: tensors are tracked by object (``id`` of the
  ``Parameter``, and of each view derived from it while it lives), so the
  meta device, where every address is 0, is traced like any other.
* The trace never changes what the model computes: every call runs unchanged,
  and only its arguments and outputs are looked at.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

_T = torch.Tensor

#: Torch functions that return a view (or a same-data alias or cast) of their tensor
#: argument: they pass the parameter's identity on instead of counting a use.
VIEW_FUNCTIONS: frozenset[Any] = frozenset(
    f
    for f in (
        _T.t, _T.T.__get__, _T.mT.__get__, _T.H.__get__, _T.mH.__get__, _T.data.__get__,  # type: ignore[attr-defined]
        _T.view, _T.view_as, _T.reshape, _T.reshape_as, _T.transpose, _T.permute, _T.expand, _T.expand_as,
        _T.unsqueeze, _T.squeeze, _T.flatten, _T.unflatten, _T.__getitem__, _T.narrow, _T.select,
        _T.chunk, _T.split, _T.unbind, _T.movedim, _T.swapaxes, _T.contiguous, _T.detach,
        _T.to, _T.type, _T.type_as, _T.float, _T.half, _T.double, _T.bfloat16,
        torch.t, torch.transpose, torch.permute, torch.reshape, torch.unsqueeze, torch.squeeze, torch.flatten,
        torch.narrow, torch.select, torch.chunk, torch.split, torch.unbind, torch.movedim, torch.swapaxes,
        torch.detach,
    )
)

#: Reads that are not uses though they return a tensor: a parameter's ``.grad``.
NOT_USES: frozenset[Any] = frozenset({_T.grad.__get__})  # type: ignore[union-attr]

_IN_PLACE_OPERATORS = {
    f"__i{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor", "lshift",
                            "rshift", "matmul")
}
_RECURRENT = {"rnn_tanh", "rnn_relu", "lstm", "gru"}
_CONV = {"conv1d": 1, "conv2d": 2, "conv3d": 3, "conv_transpose1d": 1, "conv_transpose2d": 2, "conv_transpose3d": 3}


def fused_applications(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> (
    tuple[int, str] | None
):
    """``(applications, unit)`` of one fused call, or ``None`` for an ordinary call.

    ``torch._VF.rnn_tanh/rnn_relu/lstm/gru``: T steps (the input's time axis; a
    packed sequence's batch-size list length). ``conv*d``/``conv_transpose*d``:
    output positions per example (the product of the output's spatial sizes).
    """
    name = getattr(func, "__name__", "")
    if name in _RECURRENT and args and isinstance(args[0], torch.Tensor):
        x = args[0]
        if len(args) > 1 and isinstance(args[1], torch.Tensor) and args[1].dim() == 1 and x.dim() == 2 and (
            args[1].dtype == torch.long
        ):  # packed: (data, batch_sizes, hx, params, ...)
            return int(args[1].numel()), "steps"
        batch_first = bool(args[8]) if len(args) > 8 and x.dim() == 3 else False
        return int(x.shape[1] if batch_first else x.shape[0]), "steps"
    if name in _CONV and isinstance(out, torch.Tensor):
        spatial = _CONV[name]
        return math.prod(int(s) for s in out.shape[-spatial:]), "positions"
    return None


@dataclass
class UseTrace:
    """What :class:`UseTracer` saw in one forward.

    Attributes:
        uses: ``{canonical parameter name: uses}``, every parameter (0 when never read).
        used_in: ``{canonical name: module names that read it, first-use order}``.
        per_module: ``{canonical name: {module name: uses there}}``.
        applications: ``{canonical name: applications}`` for parameters a fused op read:
            each fused call adds its steps or positions, every other use adds 1.
        applied_over: ``{canonical name: "steps" | "positions"}``, the same keys.
    """

    uses: dict[str, int]
    used_in: dict[str, list[str]] = field(default_factory=dict)
    per_module: dict[str, dict[str, int]] = field(default_factory=dict)
    applications: dict[str, int] = field(default_factory=dict)
    applied_over: dict[str, str] = field(default_factory=dict)


class UseTracer(TorchFunctionMode):
    """Torch-function mode recording every use of ``model``'s parameters (see the module docstring).

    Args:
        model: the module whose parameters are tracked (canonical name: the first
            name in ``named_parameters()`` order).
        innermost: returns the name of the innermost module whose forward is running
            (a :class:`~paramshare_viz.analysis.runtime.CallCounter`'s ``innermost``).

    Example:
        >>> with CallCounter(model) as calls, UseTracer(model, calls.innermost) as tracer:
        ...     model(x)
        >>> tracer.trace.uses
    """

    def __init__(self, model: nn.Module, innermost: Callable[[], str]) -> None:
        super().__init__()
        self._innermost = innermost
        names = {id(p): name for name, p in model.named_parameters()}
        # id -> (weak reference or None for a parameter, canonical name)
        self._tracked: dict[int, tuple[weakref.ref[torch.Tensor] | None, str]] = {
            k: (None, name) for k, name in names.items()
        }
        self._params = list(model.parameters())  # keeps the ids above valid while tracing
        self.trace = UseTrace(dict.fromkeys(names.values(), 0))

    def _names_in(self, value: Any, found: list[str]) -> None:
        if isinstance(value, torch.Tensor):
            entry = self._tracked.get(id(value))
            if entry is not None and entry[1] not in found:
                found.append(entry[1])
        elif isinstance(value, (list, tuple)):
            for item in value:
                self._names_in(item, found)
        elif isinstance(value, dict):
            for item in value.values():
                self._names_in(item, found)

    def _track(self, out: Any, name: str) -> None:
        if isinstance(out, torch.Tensor):
            key = id(out)
            if key in self._tracked:  # the parameter itself (``w.to(w.dtype)``) or a view already known
                return
            tracked = self._tracked

            def forget(ref: weakref.ref[torch.Tensor], key: int = key) -> None:
                entry = tracked.get(key)
                if entry is not None and entry[0] is ref:
                    del tracked[key]

            tracked[key] = (weakref.ref(out, forget), name)
        elif isinstance(out, (list, tuple)):
            for item in out:
                self._track(item, name)

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func in VIEW_FUNCTIONS:  # a view of ``self`` carries its name; ``x.type_as(w)`` reads w's metadata
            entry = self._tracked.get(id(args[0])) if args else None
            if entry is not None:
                self._track(out, entry[1])
            return out
        found: list[str] = []
        self._names_in(args, found)
        if kwargs:
            self._names_in(kwargs, found)
        if found and _in_place(func) and args:  # ``w.div_(2)``, ``w += x``: a write to w, not a use of it
            entry = self._tracked.get(id(args[0]))
            if entry is not None and entry[1] in found:
                found.remove(entry[1])
        if not found or func in NOT_USES or not _has_tensor(out):
            return out
        module = self._innermost()
        fused = fused_applications(func, args, kwargs, out)
        trace = self.trace
        for name in found:
            trace.uses[name] += 1
            where = trace.per_module.setdefault(name, {})
            if module not in where:
                trace.used_in.setdefault(name, []).append(module)
            where[module] = where.get(module, 0) + 1
            if fused is not None:
                trace.applications[name] = trace.applications.get(name, trace.uses[name] - 1) + fused[0]
                trace.applied_over[name] = fused[1]
            elif name in trace.applications:
                trace.applications[name] += 1
        return out


def _in_place(func: Any) -> bool:
    """``Tensor.div_``, ``Tensor.copy_``, ``Tensor.__iadd__``: functions that write their first argument."""
    name = getattr(func, "__name__", "")
    return (name.endswith("_") and not name.startswith("__")) or name in _IN_PLACE_OPERATORS


def _has_tensor(out: Any) -> bool:
    if isinstance(out, torch.Tensor):
        return True
    if isinstance(out, (list, tuple)):
        return any(isinstance(item, torch.Tensor) for item in out)
    return False


@dataclass(frozen=True)
class Borrow:
    """A parameter read by modules that do not hold it.

    Attributes:
        name: the canonical parameter name.
        holders: modules holding it directly (canonical module names).
        borrowers: modules that read it without holding it, first-use order.
    """

    name: str
    holders: tuple[str, ...]
    borrowers: tuple[str, ...]


def borrows(used_in: dict[str, list[str]], holders: dict[str, tuple[str, ...]]) -> list[Borrow]:
    """Which reads are borrowed: by a module that does not hold the tensor directly.

    One exception keeps ordinary module code out: a holder whose own forward
    never reads the tensor may have it read *for* it by a module on its line of
    the tree — its parent (``nn.MultiheadAttention`` computes with
    ``out_proj.weight``; MobileBERT's head with ``decoder.weight``) or its child
    (a parametrization reads its list's ``original``). Such a read is the
    holder's own use, done elsewhere, not a tie. The root is every module's parent.
    When the holder reads the tensor itself (``emb`` looks tokens up), a read by
    anyone else — the root's ``F.linear(h, self.emb.weight)`` included — is a borrow.

    Args:
        used_in: ``{canonical name: reading modules}`` (:attr:`UseTrace.used_in`).
        holders: ``{canonical name: modules holding it directly}``.
    """
    out = []
    for name, readers in used_in.items():
        own = holders.get(name, ())
        idle = [h for h in own if h not in readers]  # holders that never read it themselves
        outside = [r for r in readers if r not in own and not any(_on_line(r, h) for h in idle)]
        if outside:
            out.append(Borrow(name, own, tuple(outside)))
    return out


def _on_line(a: str, b: str) -> bool:
    """Whether module ``a`` is an ancestor or a descendant of module ``b`` (the root is everyone's ancestor)."""
    return not a or not b or b.startswith(a + ".") or a.startswith(b + ".")
