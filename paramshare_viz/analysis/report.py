"""``analyze(model)``: what a model shares, what it holds, and how often it reuses it.

Counting conventions (every count below follows them):

* **naive** counts sum over every *name* — what summing a
  ``state_dict(keep_vars=True)`` or ``named_parameters(remove_duplicate=False)``
  gives — so a tied weight counts once per name.
* **unique** counts are distinct storage elements (or bytes) actually held:
  a tensor under several names, and views/slices/transposes of one storage,
  count once. Each element is attributed to the first name that holds it,
  parameters before buffers, in ``named_parameters(remove_duplicate=False)``
  order; per-module subtotals follow the same rule and so add up to the totals.
* **params** counts include frozen (``requires_grad=False``) parameters;
  ``trainable_*`` counts only those that require grad. Buffers are never in
  parameter counts: they have their own ``*_buffers`` fields, and an element
  held by both a parameter and a buffer counts as a parameter element.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from paramshare_viz.analysis.flops import FlopCount, qualify_flop_counts
from paramshare_viz.analysis.groups import Inventory, distinct_bytes, inventory
from paramshare_viz.analysis.runtime import CallCounter, ModelInput, call_model


@dataclass(frozen=True)
class SharedGroup:
    """Names (parameters and/or buffers) that reach common storage elements.

    Attributes:
        names: sorted qualified names, at least two.
        numel: distinct elements the group holds (union of what its names cover).
        kind: ``"same-tensor"`` when every name is one tensor object,
            ``"aliased-storage"`` when different tensor objects (views, slices,
            transposes) overlap in memory.
        naive_numel: sum of ``numel()`` over the names.
        nbytes: distinct bytes the group holds.
        dtype: dtype of the tensor behind the first name, e.g. ``"float32"``.
        buffers: the subset of ``names`` that are buffers (empty for parameter ties).
    """

    names: list[str]
    numel: int
    kind: str
    naive_numel: int
    nbytes: int
    dtype: str
    buffers: list[str] = field(default_factory=list)

    @property
    def saving(self) -> int:
        """Elements a naive count adds on top of what is held: ``naive_numel - numel``."""
        return self.naive_numel - self.numel


@dataclass(frozen=True)
class ModuleRow:
    """One row of the per-module table: a module name and its *direct* tensors.

    A module registered under several names has one row per name; its tensors'
    unique counts go to the first row (traversal order), the others count 0.

    Attributes:
        name: qualified module name; the root is ``""``.
        type: class name, e.g. ``"Linear"``.
        depth: nesting depth (root 0, ``"a.b"`` is 2).
        aliases: other qualified names of the same module object.
        params: qualified names of its direct parameters (``recurse=False``).
        buffers: qualified names of its direct buffers.
        shared_with: sorted names, not among this row's own tensors, that share
            storage with any of them.
        naive_params, unique_params: elements of the direct parameters (frozen
            included), every name vs elements first held here.
        naive_bytes, unique_bytes: the same in bytes (parameters only).
        naive_buffers, unique_buffers: elements of the direct buffers.
        naive_buffer_bytes, unique_buffer_bytes: the same in bytes.
        calls: forward calls of the module object (all names together), when an
            example input was given, else ``None``.
        flops: forward FLOPs of the module object, submodules included, summed
            over all its calls; ``None`` without an example input.
        macs: ``flops // 2``.
        reuse: ``macs`` per distinct parameter element of the module's subtree —
            how many multiply-adds each weight does per forward (``None`` without
            an example input or without parameters).
    """

    name: str
    type: str
    depth: int
    aliases: list[str]
    params: list[str]
    buffers: list[str]
    shared_with: list[str]
    naive_params: int
    unique_params: int
    naive_bytes: int
    unique_bytes: int
    naive_buffers: int
    unique_buffers: int
    naive_buffer_bytes: int
    unique_buffer_bytes: int
    calls: int | None = None
    flops: int | None = None
    macs: int | None = None
    reuse: float | None = None


@dataclass(frozen=True)
class SharingReport:
    """Parameter sharing of one model (see the module docstring for the conventions).

    Attributes:
        naive_params: sum of ``numel()`` over every parameter name, aliases
            included, frozen included, buffers excluded — what torchinfo or a
            ``named_parameters(remove_duplicate=False)`` sum reports.
        unique_params: distinct storage elements held by parameters (each tensor
            once, overlapping views once), frozen included — equal to
            ``sum(p.numel() for p in m.parameters())`` when no two parameter
            objects alias one storage.
        naive_trainable_params: like ``naive_params``, ``requires_grad`` names only.
        trainable_params: like ``unique_params``, ``requires_grad`` tensors only.
        frozen_params: ``unique_params - trainable_params``.
        naive_bytes, unique_bytes: ``naive_params``/``unique_params`` in bytes.
        bytes_by_dtype: parameters only, ``{"float32": {"naive": B, "unique": B}}``.
        naive_buffers: sum of ``numel()`` over every buffer name.
        unique_buffers: distinct elements held by buffers and by no parameter.
        naive_buffer_bytes, unique_buffer_bytes: the same in bytes.
        num_param_names: parameter names (``named_parameters(remove_duplicate=False)``).
        num_param_tensors: distinct parameter tensor objects (``parameters()``).
        groups: every :class:`SharedGroup` (>= 2 names), parameters and buffers,
            in order of first name.
        modules: one :class:`ModuleRow` per module name, traversal order, root first.
        calls: ``{module name: forward calls}`` with an example input, else ``None``.
            A module registered under several names is one object; its count
            (all calls through any name) is reported under *every* name.
        flops: forward FLOPs (total and per module) with an example input.
        reuse: forward MACs per unique parameter element (``None`` without input).
    """

    naive_params: int
    unique_params: int
    naive_trainable_params: int
    trainable_params: int
    frozen_params: int
    naive_bytes: int
    unique_bytes: int
    bytes_by_dtype: dict[str, dict[str, int]]
    naive_buffers: int
    unique_buffers: int
    naive_buffer_bytes: int
    unique_buffer_bytes: int
    num_param_names: int
    num_param_tensors: int
    groups: list[SharedGroup]
    modules: list[ModuleRow]
    calls: dict[str, int] | None = None
    flops: FlopCount | None = None
    reuse: float | None = None

    @property
    def saving_params(self) -> int:
        """Parameter elements a naive count over-reports: ``naive_params - unique_params``."""
        return self.naive_params - self.unique_params

    @property
    def saving_bytes(self) -> int:
        """``naive_bytes - unique_bytes``."""
        return self.naive_bytes - self.unique_bytes

    @property
    def saving_fraction(self) -> float:
        """Share of the naive parameter count that sharing saves, in ``[0, 1)``; 0 without parameters."""
        return self.saving_params / self.naive_params if self.naive_params else 0.0

    @property
    def compression(self) -> float:
        """``naive_params / unique_params`` (1.0 = no sharing; 1.0 without parameters)."""
        return self.naive_params / self.unique_params if self.unique_params else 1.0

    @property
    def macs(self) -> int | None:
        """Forward multiply-accumulates with an example input, else ``None``."""
        return None if self.flops is None else self.flops.macs

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (``json.dumps(report.to_dict())`` works)."""
        out = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("groups", "modules", "flops")
        }
        out["groups"] = [asdict(g) for g in self.groups]
        out["modules"] = [asdict(r) for r in self.modules]
        out["flops"] = None if self.flops is None else self.flops.to_dict()
        out["bytes_by_dtype"] = {k: dict(v) for k, v in self.bytes_by_dtype.items()}
        out["calls"] = None if self.calls is None else dict(self.calls)
        for name in ("saving_params", "saving_bytes", "saving_fraction", "compression", "macs"):
            out[name] = getattr(self, name)
        return out


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def analyze(model: nn.Module, example_input: ModelInput | None = None) -> SharingReport:
    """Find every sharing group of ``model`` and count what it holds.

    Static analysis reads only tensor metadata, so it works on the meta device
    without allocating (a 7B-parameter model in well under a second). With an
    ``example_input``, one forward runs under ``torch.no_grad()`` in the model's
    current train/eval mode to count forward calls (pre-hooks, removed
    afterwards even on error) and FLOPs (``torch.utils.flop_counter``).

    Args:
        model: any ``nn.Module``, on any device.
        example_input: ``None`` (static only), a tensor (``model(x)``), a tuple or
            list (``model(*x)``), or a dict of keyword arguments (``model(**x)``).

    Returns:
        A :class:`SharingReport`.

    Example:
        >>> lm = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
        >>> lm[1].weight = lm[0].weight  # tied embeddings
        >>> r = analyze(lm)
        >>> r.naive_params, r.unique_params, r.groups[0].names
        (80, 40, ['0.weight', '1.weight'])
    """
    inv = inventory(model)
    calls = flops = None
    if example_input is not None:
        flop_counter = FlopCounterMode(display=False, depth=None)
        with torch.no_grad(), CallCounter(model) as call_counter, flop_counter:
            call_model(model, example_input)
        calls = call_counter.calls
        flops = FlopCount(
            flop_counter.get_total_flops(), None, qualify_flop_counts(model, flop_counter.get_flop_counts())
        )
    return _report(model, inv, calls, flops)


def _report(
    model: nn.Module, inv: Inventory, calls: dict[str, int] | None, flops: FlopCount | None
) -> SharingReport:
    numel, itemsize = inv.tensor_numel, inv.tensor_itemsize
    n_modules = len(inv.module_names)
    # Per-module subtotals: [naive_p, unique_p, naive_pb, unique_pb, naive_b, unique_b, naive_bb, unique_bb]
    sub = [[0] * 8 for _ in range(n_modules)]
    own: list[list[int]] = [[] for _ in range(n_modules)]
    by_dtype: dict[str, dict[str, int]] = {}
    naive_trainable = trainable = 0
    param_tensors: set[int] = set()
    for e, k in enumerate(inv.entry_tensor):
        mi = inv.entry_module[e]
        own[mi].append(e)
        nbytes = numel[k] * itemsize[k]
        ubytes = inv.entry_unique_bytes[e]
        uelems = ubytes // itemsize[k]
        row = sub[mi]
        if inv.entry_is_param[e]:
            param_tensors.add(k)
            row[0] += numel[k]
            row[1] += uelems
            row[2] += nbytes
            row[3] += ubytes
            d = by_dtype.setdefault(_dtype_name(inv.tensor_dtype[k]), {"naive": 0, "unique": 0})
            d["naive"] += nbytes
            d["unique"] += ubytes
            if inv.tensor_trainable[k]:
                naive_trainable += numel[k]
                trainable += uelems
        else:
            row[4] += numel[k]
            row[5] += uelems
            row[6] += nbytes
            row[7] += ubytes
    totals = [sum(col) for col in zip(*sub, strict=True)] if sub else [0] * 8

    names = inv.entry_names
    groups = []
    group_names: list[list[str]] = []
    for entries, covered, kind in inv.groups:
        k0 = inv.entry_tensor[entries[0]]
        gnames = sorted(names[e] for e in entries)
        group_names.append(gnames)
        groups.append(
            SharedGroup(
                names=gnames,
                numel=covered // itemsize[k0],
                kind=kind,
                naive_numel=sum(numel[inv.entry_tensor[e]] for e in entries),
                nbytes=covered,
                dtype=_dtype_name(inv.tensor_dtype[k0]),
                buffers=sorted(names[e] for e in entries if not inv.entry_is_param[e]),
            )
        )

    aliases: dict[int, list[str]] = {}
    for mi, mid in enumerate(inv.module_ids):
        aliases.setdefault(mid, []).append(inv.module_names[mi])
    per_object = _runtime_per_object(model, inv, calls, flops)

    rows = []
    for mi, mname in enumerate(inv.module_names):
        entries = own[mi]
        shared_with: list[str] = []
        mine = [names[e] for e in entries]
        for e in entries:
            g = inv.tensor_group[inv.entry_tensor[e]]
            if g >= 0:
                shared_with.extend(n for n in group_names[g] if n not in mine and n not in shared_with)
        mid = inv.module_ids[mi]
        all_names = aliases[mid]
        s = sub[mi]
        rt = per_object.get(mid, (None, None, None))
        rows.append(
            ModuleRow(
                name=mname,
                type=inv.module_types[mi],
                depth=mname.count(".") + 1 if mname else 0,
                aliases=[n for n in all_names if n != mname] if len(all_names) > 1 else [],
                params=[names[e] for e in entries if inv.entry_is_param[e]],
                buffers=[names[e] for e in entries if not inv.entry_is_param[e]],
                shared_with=sorted(shared_with),
                naive_params=s[0],
                unique_params=s[1],
                naive_bytes=s[2],
                unique_bytes=s[3],
                naive_buffers=s[4],
                unique_buffers=s[5],
                naive_buffer_bytes=s[6],
                unique_buffer_bytes=s[7],
                calls=rt[0],
                flops=rt[1],
                macs=None if rt[1] is None else rt[1] // 2,
                reuse=rt[2],
            )
        )

    unique_params = totals[1]
    reuse = None
    if flops is not None and unique_params:
        reuse = flops.macs / unique_params
    return SharingReport(
        naive_params=totals[0],
        unique_params=unique_params,
        naive_trainable_params=naive_trainable,
        trainable_params=trainable,
        frozen_params=unique_params - trainable,
        naive_bytes=totals[2],
        unique_bytes=totals[3],
        bytes_by_dtype=by_dtype,
        naive_buffers=totals[4],
        unique_buffers=totals[5],
        naive_buffer_bytes=totals[6],
        unique_buffer_bytes=totals[7],
        num_param_names=sum(inv.entry_is_param),
        num_param_tensors=len(param_tensors),
        groups=groups,
        modules=rows,
        calls=calls,
        flops=flops,
        reuse=reuse,
    )


def _runtime_per_object(
    model: nn.Module, inv: Inventory, calls: dict[str, int] | None, flops: FlopCount | None
) -> dict[int, tuple[int | None, int | None, float | None]]:
    """``{id(module): (calls, inclusive forward FLOPs, reuse)}`` when an input was run."""
    if calls is None or flops is None:
        return {}
    aliased = any(kind == "aliased-storage" for _, _, kind in inv.groups)
    out: dict[int, tuple[int | None, int | None, float | None]] = {}
    for name, module in model.named_modules():
        f = flops.per_module.get(name, 0)
        params = list(module.parameters())
        if aliased:
            elems = distinct_bytes(params) // params[0].element_size() if params else 0
        else:
            elems = sum(p.numel() for p in params)
        reuse = (f // 2) / elems if elems else None
        out[id(module)] = (calls.get(name, 0), f, reuse)
    return out
