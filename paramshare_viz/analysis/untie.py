"""``untie(model)``: the same function with every tensor name on its own storage."""

from __future__ import annotations

import copy

import torch
from torch import nn


def _clone(t: torch.Tensor) -> torch.Tensor:
    """A copy of ``t`` on fresh storage, keeping ``Parameter``-ness and ``requires_grad``.

    Only ``t``'s own elements are copied (a slice of a large storage costs the
    slice, not the storage); the meta device allocates nothing.
    """
    data = t.detach().clone()
    if isinstance(t, nn.Parameter):
        if type(t) is nn.Parameter:
            return nn.Parameter(data, requires_grad=t.requires_grad)
        return copy.deepcopy(t)  # Parameter subclasses know how to copy themselves
    return data


def _registered(module: nn.Module) -> list[torch.Tensor]:
    seen: dict[int, torch.Tensor] = {}
    for m in module.modules():
        for t in (*m._parameters.values(), *m._buffers.values()):
            if t is not None:
                seen.setdefault(id(t), t)
    return list(seen.values())


def _fresh_copy(module: nn.Module) -> nn.Module:
    """Deep copy in which every registered tensor is a fresh clone (no shared storage)."""
    memo: dict[int, object] = {id(t): _clone(t) for t in _registered(module)}
    return copy.deepcopy(module, memo)


def untie(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` in which every parameter and buffer name has its own storage.

    The copy computes the same function as ``model`` (each tensor starts as a
    copy of the one it replaces) but shares nothing, so
    ``analyze(untie(model)).groups == []`` and ``unique_params == naive_params``.
    A module registered under several names (``nn.ModuleList([blk] * 4)``)
    becomes separate module objects; a parameter reached by several names
    (tied embeddings) becomes one parameter per name; views of one storage
    become independent tensors. ``model`` is not modified. On the meta device
    nothing is allocated.

    Sharing:
        ``unique_params`` of the result equals ``naive_params`` of the input,
        e.g. a ``ModuleList([blk] * L)``: ``P_block -> L * P_block``.

    Args:
        model: any module.

    Returns:
        The untied copy (same train/eval mode, devices and dtypes).
    """
    untied = _fresh_copy(model)
    seen_modules: set[int] = set()
    seen_tensors: set[int] = set()

    def visit(module: nn.Module) -> None:
        seen_modules.add(id(module))
        p: torch.Tensor | None  # a Parameter; _clone keeps it one
        for name, p in list(module._parameters.items()):
            if p is not None and id(p) in seen_tensors:
                p = _clone(p)
                setattr(module, name, p)  # setattr keeps e.g. nn.RNN's _flat_weights in step
            seen_tensors.add(id(p))
        for name, b in list(module._buffers.items()):
            if b is not None and id(b) in seen_tensors:
                b = _clone(b)
                module._buffers[name] = b
            seen_tensors.add(id(b))
        for name, child in list(module._modules.items()):
            if child is None:
                continue
            if id(child) in seen_modules:
                child = _fresh_copy(child)
                setattr(module, name, child)
            visit(child)

    visit(untied)
    return untied
