"""Training-memory ledger: parameters + buffers + gradients + optimizer state, shared vs untied.

Activations are not counted (they depend on the input and the graph). Buffers
are never trained, so they get no gradient and no optimizer state, but the model
holds them all the time (HashedNets' int64 index map is larger than its
parameters), so they are counted: each distinct buffer element once, however
many names reach it, and none already held by a parameter. The gradient and
state counts match what autograd and ``torch.optim`` allocate on the first step
when every trainable parameter receives a gradient:

* a gradient per distinct trainable ``Parameter`` object, of its shape and dtype
  (one tensor registered under several names gets one ``.grad``; two views of
  one storage are two parameters to autograd and get two);
* ``SGD(momentum=0)``: no state; ``SGD(momentum>0)``: one ``momentum_buffer``
  per parameter (``zeros_like``/clone of the gradient);
* ``Adam``/``AdamW`` (``amsgrad=False``, not fused/capturable): ``exp_avg`` and
  ``exp_avg_sq`` per parameter, plus a 0-dim ``step`` tensor per parameter on
  the CPU (float32, or float64 when the default dtype is float64).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from paramshare_viz.analysis.groups import Inventory, inventory
from paramshare_viz.display import Table, TableRepr
from paramshare_viz.units import fmt_bytes


class Optimizer(enum.StrEnum):
    """Optimizers the ledger knows: plain SGD, SGD with momentum, Adam (also AdamW)."""

    SGD = "sgd"
    MOMENTUM = "momentum"
    ADAM = "adam"


@dataclass(frozen=True)
class MemoryBreakdown:
    """Bytes of one training setup.

    Attributes:
        params: parameter bytes held (frozen ones included).
        grads: gradient bytes (trainable parameters only).
        optimizer_state: optimizer-state bytes (trainable parameters only).
        total: ``params + buffers + grads + optimizer_state``.
        buffers: buffer bytes held (each distinct element once; none a parameter also holds).
    """

    params: int
    grads: int
    optimizer_state: int
    total: int
    buffers: int = 0


@dataclass(frozen=True)
class MemoryLedger(TableRepr):
    """Training memory of a model as shared and as if untied.

    Attributes:
        optimizer: the optimizer counted.
        shared: the model as it is: distinct storage bytes for parameters (views
            and aliases once), gradients/state per distinct trainable parameter.
        untied: as if every parameter name had its own storage (what
            :func:`paramshare_viz.untie` builds): every name's bytes, and a
            gradient and state per trainable name.
        saving_bytes: ``untied.total - shared.total``.
    """

    optimizer: Optimizer
    shared: MemoryBreakdown
    untied: MemoryBreakdown
    saving_bytes: int

    def _as_table(self) -> Table:
        rows = [
            [label, fmt_bytes(getattr(self.shared, key)), fmt_bytes(getattr(self.untied, key))]
            for label, key in (("parameters", "params"), ("buffers", "buffers"), ("gradients", "grads"),
                               ("optimizer state", "optimizer_state"), ("total", "total"))
        ]
        notes = [f"sharing saves {fmt_bytes(self.saving_bytes)} (untied - shared) of training memory"]
        return Table(f"MemoryLedger: training memory with {self.optimizer}", ["", "shared", "untied"], rows, notes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "optimizer": str(self.optimizer),
            "shared": vars(self.shared).copy(),
            "untied": vars(self.untied).copy(),
            "saving_bytes": self.saving_bytes,
        }


def _step_bytes() -> int:
    """Bytes of Adam's per-parameter ``step`` scalar (``torch.optim.optimizer._get_scalar_dtype``)."""
    return 8 if torch.get_default_dtype() == torch.float64 else 4


def _breakdown(params: int, buffers: int, grads: int, n_trainable: int, optimizer: Optimizer) -> MemoryBreakdown:
    if optimizer is Optimizer.SGD:
        state = 0
    elif optimizer is Optimizer.MOMENTUM:
        state = grads
    else:
        state = 2 * grads + n_trainable * _step_bytes()
    return MemoryBreakdown(params, grads, state, params + buffers + grads + state, buffers)


def ledger_from_inventory(inv: Inventory, optimizer: Optimizer | str = Optimizer.ADAM) -> MemoryLedger:
    """:func:`training_memory` from an already-built :class:`~paramshare_viz.analysis.groups.Inventory`."""
    try:
        opt = Optimizer(optimizer)
    except ValueError:
        raise ValueError(
            f"optimizer={optimizer!r} is not supported; choose one of {[o.value for o in Optimizer]}"
        ) from None
    shared_params = naive_params = naive_grads = n_naive = 0
    trainable_tensors: set[int] = set()
    for e in range(inv.n_params):
        k = inv.entry_tensor[e]
        nbytes = inv.tensor_numel[k] * inv.tensor_itemsize[k]
        shared_params += inv.entry_unique_bytes[e]
        naive_params += nbytes
        if inv.tensor_trainable[k]:
            naive_grads += nbytes
            n_naive += 1
            trainable_tensors.add(k)
    shared_buffers = sum(inv.entry_unique_bytes[inv.n_params:])  # a buffer under several names once
    naive_buffers = sum(
        inv.tensor_numel[k] * inv.tensor_itemsize[k] for k in inv.entry_tensor[inv.n_params:]
    )  # untied: every buffer name its own copy
    shared_grads = sum(inv.tensor_numel[k] * inv.tensor_itemsize[k] for k in trainable_tensors)
    shared = _breakdown(shared_params, shared_buffers, shared_grads, len(trainable_tensors), opt)
    untied = _breakdown(naive_params, naive_buffers, naive_grads, n_naive, opt)
    return MemoryLedger(opt, shared, untied, untied.total - shared.total)


def training_memory(model: nn.Module, optimizer: Optimizer | str = Optimizer.ADAM) -> MemoryLedger:
    """Bytes of parameters + buffers + gradients + optimizer state for training ``model``.

    Works on the meta device (nothing is allocated). Activations are not
    counted; see the module docstring for exactly what each optimizer
    allocates.

    Args:
        model: any module.
        optimizer (Optimizer | str): ``"sgd"``, ``"momentum"`` or ``"adam"``. Default: ``"adam"``.

    Raises:
        ValueError: an unknown optimizer name.

    Example:
        >>> led = training_memory(tied_lm, "adam")
        >>> led.untied.total - led.shared.total == led.saving_bytes
        True
    """
    if not isinstance(optimizer, Optimizer) and optimizer not in {o.value for o in Optimizer}:
        raise ValueError(f"optimizer={optimizer!r} is not supported; choose one of {[o.value for o in Optimizer]}")
    return ledger_from_inventory(inventory(model), optimizer)
