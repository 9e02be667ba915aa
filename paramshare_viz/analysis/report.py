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

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from paramshare_viz.analysis.flops import FlopCount, counting_mode, per_module_flops
from paramshare_viz.analysis.groups import Inventory, distinct_bytes, inventory
from paramshare_viz.analysis.runtime import ModelInput, call_model
from paramshare_viz.analysis.uses import UseTrace, UseTracer, borrows
from paramshare_viz.display import Table, TableRepr, names_cell
from paramshare_viz.units import fmt_bytes, plural


@dataclass(frozen=True)
class SharedGroup:
    """Names (parameters and/or buffers) that reach common storage elements.

    Attributes:
        names: sorted qualified names, at least two.
        numel: distinct elements the group holds (union of what its names cover).
        kind: ``"same-tensor"`` when every name is one tensor object,
            ``"aliased-storage"`` when different tensor objects (views, slices,
            transposes) overlap in memory, ``"functional"`` when a module reads a
            tensor it does not hold (a tie written in code, found only with an
            example input; ``names`` are then the tensor's own names, one or more).
        naive_numel: sum of ``numel()`` over the names (a functional group: ``numel``,
            since a naive count sees a tensor read in code once).
        nbytes: distinct bytes the group holds.
        dtype: dtype of the tensor behind the first name, e.g. ``"float32"``.
        buffers: the subset of ``names`` that are buffers (empty for parameter ties).
        holders: a functional group's modules holding the tensor directly (else empty).
        borrowers: a functional group's modules reading it without holding it, first-use order.
    """

    names: list[str]
    numel: int
    kind: str
    naive_numel: int
    nbytes: int
    dtype: str
    buffers: list[str] = field(default_factory=list)
    holders: list[str] = field(default_factory=list)
    borrowers: list[str] = field(default_factory=list)

    @property
    def saving(self) -> int:
        """Elements a naive count adds on top of what is held: ``naive_numel - numel``."""
        return self.naive_numel - self.numel

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


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
    aliases: tuple[str, ...]
    params: tuple[str, ...]
    buffers: tuple[str, ...]
    shared_with: tuple[str, ...]
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

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


def _plain(obj: Any) -> dict[str, Any]:
    """Fields of a flat dataclass as a JSON-ready dict (tuples and lists become lists)."""
    return {
        name: list(value) if isinstance(value, (tuple, list)) else value
        for name in obj.__dataclass_fields__
        for value in [getattr(obj, name)]
    }


@dataclass(frozen=True)
class SharingReport(TableRepr):
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
        groups: every :class:`SharedGroup`: tensors under >= 2 names, parameters and
            buffers, in order of first name; then, with an example input, one
            ``"functional"`` group per parameter read by a module that does not hold it.
        modules: one :class:`ModuleRow` per module name, traversal order, root first.
        calls: ``{module name: forward calls}`` with an example input, else ``None``.
            A module registered under several names is one object; its count
            (all calls through any name) is reported under *every* name.
        flops: forward FLOPs (total and per module) with an example input.
        reuse: forward MACs per unique parameter element (``None`` without input).
        uses: ``{canonical parameter name: uses in one forward}`` with an example input,
            every parameter (0 when never read), else ``None``. A use is one call of a
            torch function or module computation reading the tensor or a view of it
            made in that forward (see :mod:`paramshare_viz.analysis.uses`); the
            canonical name is the first in ``named_parameters()`` order.
        used_in: ``{canonical name: modules whose forward read it, first-use order}``
            (``""`` is the root); parameters never read are absent.
        applications: ``{canonical name: applications}`` for parameters a fused op read:
            one ``nn.RNN``/``nn.LSTM``/``nn.GRU`` call applies its weights at T steps,
            one convolution at every output position; ``uses`` counts the call once,
            this counts the steps or positions (other uses add 1 each).
        applied_over: ``{canonical name: "steps" or "positions"}``, the keys of ``applications``.
        forward_error: the example input's forward failed: what went wrong, in words
            (the report is then the static one); ``None`` otherwise.
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
    calls: dict[str, int] | None = None
    flops: FlopCount | None = None
    reuse: float | None = None
    uses: dict[str, int] | None = None
    used_in: dict[str, tuple[str, ...]] | None = None
    applications: dict[str, int] = field(default_factory=dict)
    applied_over: dict[str, str] = field(default_factory=dict)
    forward_error: str | None = None
    _table: _ModuleTable | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def modules(self) -> list[ModuleRow]:
        """One :class:`ModuleRow` per module name, traversal order, root first.

        Built from plain data captured by :func:`analyze` on first access (the
        report holds no reference to the model or its tensors).
        """
        return [] if self._table is None else self._table.rows()

    @property
    def saving_params(self) -> int:
        """Parameter elements a naive count over-reports: ``naive_params - unique_params``."""
        return self.naive_params - self.unique_params

    @property
    def saving_bytes(self) -> int:
        """``naive_bytes - unique_bytes``."""
        return self.naive_bytes - self.unique_bytes

    @property
    def held_bytes(self) -> int:
        """What the model holds: ``unique_bytes + unique_buffer_bytes`` (parameters + buffers, each storage once)."""
        return self.unique_bytes + self.unique_buffer_bytes

    @property
    def saving_fraction(self) -> float:
        """Share of the naive parameter count that sharing saves, in ``[0, 1)``; 0 without parameters."""
        return self.saving_params / self.naive_params if self.naive_params else 0.0

    @property
    def compression(self) -> float:
        """``naive_params / unique_params`` (1.0 = no sharing; 1.0 without parameters)."""
        return self.naive_params / self.unique_params if self.unique_params else 1.0

    @property
    def reused(self) -> dict[str, int]:
        """Parameters used more than once in one forward: ``{canonical name: uses}`` (empty without input)."""
        return {name: n for name, n in (self.uses or {}).items() if n > 1}

    @property
    def borrowed(self) -> list[SharedGroup]:
        """The ``"functional"`` groups: parameters read by modules that do not hold them."""
        return [g for g in self.groups if g.kind == "functional"]

    @property
    def macs(self) -> int | None:
        """Forward multiply-accumulates with an example input, else ``None``."""
        return None if self.flops is None else self.flops.macs

    def _as_table(self) -> Table:
        rows = [
            ["parameters", f"{self.unique_params:,}", f"{self.naive_params:,}"],
            ["parameter bytes", fmt_bytes(self.unique_bytes), fmt_bytes(self.naive_bytes)],
            ["trainable parameters", f"{self.trainable_params:,}", f"{self.naive_trainable_params:,}"],
            ["buffer elements", f"{self.unique_buffers:,}", f"{self.naive_buffers:,}"],
        ]
        rows += [
            [("borrowed " if g.kind == "functional" else "group ") + names_cell(g.names), f"{g.numel:,}",
             f"{g.naive_numel:,}"]
            for g in self.groups[:5]
        ]
        notes = [
            "unique: distinct storage elements held (each tensor once); naive: summed over every name, "
            "aliases included",
            f"{plural(self.num_param_names, 'parameter name')} over {plural(self.num_param_tensors, 'tensor')}; "
            f"sharing saves {self.saving_fraction:.1%} of the naive count",
        ]
        if len(self.groups) > 5:
            notes.append(f"… and {len(self.groups) - 5} more groups (report.groups)")
        if self.macs is not None and self.reuse is not None:
            notes.append(f"one forward: {self.macs:,} multiply-adds, {self.reuse:,.1f} per unique parameter")
        if self.uses is not None:
            notes.append(uses_sentence(self))
        if self.forward_error:
            notes.append(self.forward_error)
        named = len(self.groups) - len(self.borrowed)
        title = f"SharingReport: {plural(named, 'group')} of tensors under several names"
        if self.borrowed:
            title += f", {len(self.borrowed)} borrowed in code"
        return Table(title, ["", "unique", "naive"], rows, notes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (``json.dumps(report.to_dict())`` works)."""
        out = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("groups", "flops", "_table")
        }
        out["groups"] = [g.to_dict() for g in self.groups]
        out["modules"] = [r.to_dict() for r in self.modules]
        out["flops"] = None if self.flops is None else self.flops.to_dict()
        out["bytes_by_dtype"] = {k: dict(v) for k, v in self.bytes_by_dtype.items()}
        out["calls"] = None if self.calls is None else dict(self.calls)
        out["uses"] = None if self.uses is None else dict(self.uses)
        out["used_in"] = None if self.used_in is None else {k: list(v) for k, v in self.used_in.items()}
        out["applications"], out["applied_over"] = dict(self.applications), dict(self.applied_over)
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
    afterwards even on error), FLOPs (``torch.utils.flop_counter``) and every
    use of every parameter (:class:`~paramshare_viz.analysis.uses.UseTracer`, a
    torch-function mode: it looks at each call's arguments and changes nothing).
    A forward that fails leaves the static report, with ``forward_error`` saying why.

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
    if example_input is None:
        return _report(model, inv, None, None)
    counter, call_counter = counting_mode(model)
    tracer = UseTracer(model, call_counter.innermost)
    try:
        with torch.no_grad(), counter, tracer:
            call_model(model, example_input)
    except Exception as err:  # the static report stands; say what went wrong
        detail = str(err).strip().splitlines()[0] if str(err).strip() else ""
        what = f"{type(err).__name__}: {detail}" if detail else type(err).__name__
        return _report(model, inv, None, None, error=f"the forward on the example input failed ({what})")
    flops = FlopCount(counter.get_total_flops(), None, per_module_flops(counter))
    return _report(model, inv, call_counter.calls, flops, tracer.trace)


@dataclass(frozen=True)
class _ModuleTable:
    """Plain-data columns of the per-module table; :meth:`rows` builds the :class:`ModuleRow` list."""

    module_names: list[str]
    module_types: list[str]
    module_keys: list[int]  # one key per module object (its id at analysis time)
    entry_names: list[str]
    columns: list[list[int]]  # the 8 subtotals of ModuleRow, one list per field, one value per module
    bounds: list[list[int]]  # p_lo, p_hi, b_lo, b_hi: each module's direct entries
    in_group: dict[int, list[int]]  # module index -> groups its direct tensors belong to
    group_names: list[list[str]]
    runtime: dict[int, tuple[int | None, int | None, float | None]]  # module key -> calls, flops, reuse

    def rows(self) -> list[ModuleRow]:
        names = self.entry_names
        keys = self.module_keys
        aliases: dict[int, list[str]] = {}
        if len(set(keys)) < len(keys):
            for mi, key in enumerate(keys):
                aliases.setdefault(key, []).append(self.module_names[mi])
        c0, c1, c2, c3, c4, c5, c6, c7 = self.columns
        p_lo, p_hi, b_lo, b_hi = self.bounds
        none3 = (None, None, None)
        rows = []
        for mi, mname in enumerate(self.module_names):
            own_p = tuple(names[p_lo[mi] : p_hi[mi]])
            own_b = tuple(names[b_lo[mi] : b_hi[mi]])
            shared_with: tuple[str, ...] = ()
            if mi in self.in_group:
                mine = set(own_p + own_b)
                shared_with = tuple(
                    sorted({n for g in self.in_group[mi] for n in self.group_names[g] if n not in mine})
                )
            alias = aliases.get(keys[mi])
            calls, flops, reuse = self.runtime.get(keys[mi], none3)
            rows.append(
                ModuleRow(
                    mname,
                    self.module_types[mi],
                    mname.count(".") + 1 if mname else 0,
                    tuple(n for n in alias if n != mname) if alias else (),
                    own_p,
                    own_b,
                    shared_with,
                    c0[mi],
                    c1[mi],
                    c2[mi],
                    c3[mi],
                    c4[mi],
                    c5[mi],
                    c6[mi],
                    c7[mi],
                    calls,
                    flops,
                    None if flops is None else flops // 2,
                    reuse,
                )
            )
        return rows


def _report(
    model: nn.Module,
    inv: Inventory,
    calls: dict[str, int] | None,
    flops: FlopCount | None,
    trace: UseTrace | None = None,
    error: str | None = None,
) -> SharingReport:
    n_modules = len(inv.module_names)
    n_params = inv.n_params
    names = inv.entry_names
    itemsize = inv.tensor_itemsize
    # Per-entry arrays; parameter entries [0, n_params), then buffers, each in walk order.
    et = np.asarray(inv.entry_tensor, dtype=np.int64)
    em = np.asarray(inv.entry_module, dtype=np.int64)
    e_isz = np.asarray(itemsize, dtype=np.int64)[et]
    e_numel = np.asarray(inv.tensor_numel, dtype=np.int64)[et]
    e_ubytes = np.asarray(inv.entry_unique_bytes, dtype=np.int64)
    e_uelems = e_ubytes // e_isz
    e_nbytes = e_numel * e_isz
    ps, bs = slice(0, n_params), slice(n_params, None)
    per_entry = [e_numel, e_uelems, e_nbytes, e_ubytes]
    # Module subtotals: bincount sums in float64, exact below 2**53.
    columns = [
        np.bincount(em[part], weights=values[part], minlength=n_modules).astype(np.int64).tolist()
        for part in (ps, bs)
        for values in per_entry
    ]
    totals = [int(values[part].sum()) for part in (ps, bs) for values in per_entry]

    trainable_mask = np.asarray(inv.tensor_trainable, dtype=bool)[et[ps]]
    dtype_codes: dict[torch.dtype, int] = {}
    codes = np.asarray([dtype_codes.setdefault(d, len(dtype_codes)) for d in inv.tensor_dtype], dtype=np.int64)
    e_codes = codes[et[ps]]
    by_dtype = {
        _dtype_name(d): {
            "naive": int(e_nbytes[ps][e_codes == c].sum()),
            "unique": int(e_ubytes[ps][e_codes == c].sum()),
        }
        for d, c in dtype_codes.items()
        if (e_codes == c).any()
    }

    groups = []
    group_names: list[list[str]] = []
    in_group: dict[int, list[int]] = {}
    for g, (entries, covered, kind) in enumerate(inv.groups):
        k0 = inv.entry_tensor[entries[0]]
        gnames = sorted(names[e] for e in entries)
        group_names.append(gnames)
        for e in entries:
            in_group.setdefault(inv.entry_module[e], []).append(g)
        groups.append(
            SharedGroup(
                names=gnames,
                numel=covered // itemsize[k0],
                kind=kind,
                naive_numel=sum(inv.tensor_numel[inv.entry_tensor[e]] for e in entries),
                nbytes=covered,
                dtype=_dtype_name(inv.tensor_dtype[k0]),
                buffers=sorted(names[e] for e in entries if e >= n_params),
            )
        )

    if trace is not None:
        groups += _functional_groups(inv, trace)

    # Each module's direct entries are one contiguous run of the parameter part and of the buffer part.
    mods = np.arange(n_modules)
    bounds = [
        (np.searchsorted(em[part], mods, side) + offset).tolist()
        for part, offset in ((ps, 0), (bs, n_params))
        for side in ("left", "right")
    ]
    table = _ModuleTable(
        module_names=inv.module_names,
        module_types=[type(m).__name__ for m in inv.modules],
        module_keys=[id(m) for m in inv.modules],
        entry_names=names,
        columns=columns,
        bounds=[bounds[0], bounds[1], bounds[2], bounds[3]],
        in_group=in_group,
        group_names=group_names,
        runtime=_runtime_per_object(model, inv, calls, flops),
    )
    unique_params = totals[1]
    trainable = int(e_uelems[ps][trainable_mask].sum())
    return SharingReport(
        naive_params=totals[0],
        unique_params=unique_params,
        naive_trainable_params=int(e_numel[ps][trainable_mask].sum()),
        trainable_params=trainable,
        frozen_params=unique_params - trainable,
        naive_bytes=totals[2],
        unique_bytes=totals[3],
        bytes_by_dtype=by_dtype,
        naive_buffers=totals[4],
        unique_buffers=totals[5],
        naive_buffer_bytes=totals[6],
        unique_buffer_bytes=totals[7],
        num_param_names=n_params,
        num_param_tensors=len(set(inv.entry_tensor[:n_params])),
        groups=groups,
        calls=calls,
        flops=flops,
        reuse=flops.macs / unique_params if flops is not None and unique_params else None,
        uses=None if trace is None else trace.uses,
        used_in=None if trace is None else {k: tuple(v) for k, v in trace.used_in.items()},
        applications={} if trace is None else trace.applications,
        applied_over={} if trace is None else trace.applied_over,
        forward_error=error,
        _table=table,
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
        if aliased:  # exact distinct elements when views may overlap
            elems = distinct_bytes(params) // params[0].element_size() if params else 0
        else:
            elems = sum(p.numel() for p in params)
        reuse = (f // 2) / elems if elems else None
        out[id(module)] = (calls.get(name, 0), f, reuse)
    return out


def _functional_groups(inv: Inventory, trace: UseTrace) -> list[SharedGroup]:
    """One ``"functional"`` group per parameter a module reads without holding it (see :func:`borrows`)."""
    module_key = [id(m) for m in inv.modules]
    canonical: dict[int, str] = {}  # module object -> first name: what the trace calls it
    for key, mname in zip(module_key, inv.module_names, strict=True):
        canonical.setdefault(key, mname)
    names: dict[int, list[str]] = {}  # distinct tensor -> its parameter names
    holders: dict[int, list[str]] = {}
    for e in range(inv.n_params):
        k = inv.entry_tensor[e]
        names.setdefault(k, []).append(inv.entry_names[e])
        holder = canonical[module_key[inv.entry_module[e]]]
        if holder not in holders.setdefault(k, []):
            holders[k].append(holder)
    tensor_of = {ns[0]: k for k, ns in names.items()}  # canonical name -> tensor
    found = borrows(trace.used_in, {name: tuple(holders[k]) for name, k in tensor_of.items()})
    groups = []
    for b in found:
        k = tensor_of[b.name]
        groups.append(
            SharedGroup(
                names=sorted(names[k]),
                numel=inv.tensor_numel[k],
                kind="functional",
                naive_numel=inv.tensor_numel[k],
                nbytes=inv.tensor_numel[k] * inv.tensor_itemsize[k],
                dtype=_dtype_name(inv.tensor_dtype[k]),
                holders=list(b.holders),
                borrowers=list(b.borrowers),
            )
        )
    return groups


def _module(name: str) -> str:
    return name or "(root)"


def uses_sentence(report: SharingReport, limit: int = 3) -> str:
    """What one forward's uses say, in one sentence: reuse, borrowing, applications inside a call.

    ``""`` without an example input. Counts come from ``report.uses``,
    ``report.borrowed`` and ``report.applications`` only.
    """
    if report.uses is None:
        return ""
    reused = sorted(report.reused.items(), key=lambda kv: -kv[1])
    n = len(report.uses)
    if reused:
        listed = ", ".join(f"{name} {k}×" for name, k in reused[:limit])
        more = f", … and {len(reused) - limit} more" if len(reused) > limit else ""
        parts = [f"one forward uses {len(reused):,} of {plural(n, 'parameter')} more than once ({listed}{more})"]
    else:
        parts = [f"one forward uses each of its {plural(n, 'parameter')} at most once"]
    borrowed = report.borrowed
    if borrowed:
        listed = "; ".join(
            f"{g.names[0]} held by {', '.join(map(_module, g.holders))}, read by {', '.join(map(_module, g.borrowers))}"
            for g in borrowed[:limit]
        )
        more = f"; … and {len(borrowed) - limit} more" if len(borrowed) > limit else ""
        parts.append(f"{plural(len(borrowed), 'tensor')} read by a module that does not hold it ({listed}{more})")
    if report.applications:
        items = list(report.applications.items())
        listed = ", ".join(
            f"{name}: {plural(report.uses[name], 'call')}, applied at {k:,} {report.applied_over[name]}"
            for name, k in items[:limit]
        )
        more = f", … and {len(items) - limit} more" if len(items) > limit else ""
        parts.append(f"inside one call, a fused op applies a weight many times ({listed}{more})")
    return "; ".join(parts)
