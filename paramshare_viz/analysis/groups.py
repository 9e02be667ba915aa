"""Sharing detection: which parameter/buffer names reach the same memory.

Two names share when their tensors hold at least one common storage element:

* **same tensor** — one ``Parameter`` registered under several names
  (``lm_head.weight = wte.weight``), or one module registered in several places
  (``nn.ModuleList([blk] * 4)``); found by object identity over
  ``named_modules(remove_duplicate=False)``.
* **aliased storage** — different tensor objects viewing one storage (slices,
  ``view``/``reshape``, transposes); found by byte ranges. On real devices a
  tensor covers absolute addresses ``[data_ptr, data_ptr + extent * itemsize)``
  of its device, so even two storages built over one buffer are caught; on the
  meta device every ``data_ptr`` is 0, so the storage object itself
  (``untyped_storage()._cdata``, the ``StorageImpl`` address, which views share)
  keys the domain and offsets are relative to it.

Spans (first to last byte) are compared first; only tensors whose spans
overlap get their exact element sets built (contiguous runs, vectorised with
numpy), so a strided slice ``w[:, :2]`` and its complement ``w[:, 2:]`` share a
span but no element, and are *not* a group. Names are then joined into
connected components of "shares an element".

Every distinct byte is attributed to the first name that holds it, parameters
before buffers, each in ``named_modules(remove_duplicate=False)`` order — the
order of ``named_parameters(remove_duplicate=False)``. That makes per-name
"unique" subtotals add up exactly to the model's distinct totals.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from torch import nn
from torch.nn.parameter import is_lazy

#: Above this many contiguous runs per tensor, coverage is approximated by the
#: tensor's span (first to last byte); exact below it.
MAX_RUNS = 1 << 22


@dataclass
class Inventory:
    """Every parameter and buffer name of a model, with sharing resolved.

    Entries (one per name) come parameters first, then buffers, each in
    ``named_modules(remove_duplicate=False)`` order. Tensors are the distinct
    tensor objects behind them.

    Attributes:
        modules: module object per module name (a module registered twice appears twice).
        module_names: qualified module names in traversal order (root ``""``).
        entry_names: qualified tensor name per entry.
        entry_module: index into ``module_names`` of the entry's owner.
        n_params: entries ``[0, n_params)`` are parameters, the rest buffers.
        entry_tensor: index of the entry's distinct tensor.
        entry_unique_bytes: bytes first held by this entry (see module docstring).
        tensors: the distinct tensor objects.
        tensor_numel, tensor_itemsize, tensor_dtype, tensor_trainable: per tensor.
        groups: ``(entry indices, covered bytes, kind)`` for every component of
            >= 2 names; kind is ``"same-tensor"`` or ``"aliased-storage"``.
        tensor_group: group index per distinct tensor, ``-1`` when not shared.
    """

    modules: list[nn.Module]
    module_names: list[str]
    entry_names: list[str]
    entry_module: list[int]
    n_params: int
    entry_tensor: list[int]
    entry_unique_bytes: list[int]
    tensors: list[torch.Tensor]
    tensor_numel: list[int]
    tensor_itemsize: list[int]
    tensor_dtype: list[torch.dtype]
    tensor_trainable: list[bool]
    groups: list[tuple[list[int], int, str]]
    tensor_group: list[int]


def inventory(model: nn.Module) -> Inventory:
    """Walk ``model`` once and resolve which names share memory (see module docstring)."""
    # One pre-order walk, the order of named_modules(remove_duplicate=False)
    # (an explicit stack instead of nested generators: this loop is the hot path).
    modules: list[nn.Module] = []
    module_names: list[str] = []
    p_names: list[str] = []
    p_mod: list[int] = []
    b_names: list[str] = []
    b_mod: list[int] = []
    b_obj: list[torch.Tensor] = []
    index: dict[int, int] = {}  # id(tensor) -> distinct tensor index
    tensors: list[torch.Tensor] = []
    first_entry: list[int] = []
    entry_tensor: list[int] = []
    stack: list[tuple[str, nn.Module]] = [("", model)]
    while stack:
        mname, module = stack.pop()
        mi = len(modules)
        modules.append(module)
        module_names.append(mname)
        prefix = mname + "." if mname else ""
        params = module._parameters
        if params:
            for key, p in params.items():
                if p is None:
                    continue
                k = index.get(id(p))
                if k is None:
                    k = index[id(p)] = len(tensors)
                    tensors.append(p)
                    first_entry.append(len(p_names))
                entry_tensor.append(k)
                p_names.append(prefix + key)
                p_mod.append(mi)
        buffers = module._buffers
        if buffers:
            for key, b in buffers.items():
                if b is not None:
                    b_names.append(prefix + key)
                    b_mod.append(mi)
                    b_obj.append(b)
        children = module._modules
        if children:
            stack.extend(reversed([(prefix + key, c) for key, c in children.items() if c is not None]))
    n_params = len(p_names)
    for e, b in enumerate(b_obj, start=n_params):
        k = index.get(id(b))
        if k is None:
            k = index[id(b)] = len(tensors)
            tensors.append(b)
            first_entry.append(e)
        entry_tensor.append(k)
    n_entries = len(entry_tensor)

    # Per distinct tensor: size, and span [start, end) in bytes within its memory domain.
    numel: list[int] = []
    itemsize: list[int] = []
    dtype: list[torch.dtype] = []
    trainable: list[bool] = []
    own_bytes: list[int] = []  # bytes the tensor covers on its own
    domains: dict[object, list[tuple[int, int, int]]] = {}
    for k, t in enumerate(tensors):
        if is_lazy(t):  # an UninitializedParameter or UninitializedBuffer
            name = (p_names + b_names)[first_entry[k]]
            raise ValueError(f"{name} is an uninitialized lazy tensor; run one forward pass before analysing")
        n = t.numel()
        isz = t.element_size()
        numel.append(n)
        itemsize.append(isz)
        dtype.append(t.dtype)
        trainable.append(t.requires_grad)
        own_bytes.append(n * isz)
        if n == 0:
            continue
        try:
            storage = t.untyped_storage()
            ptr = storage.data_ptr()
        except (RuntimeError, NotImplementedError, TypeError):  # tensor subclasses without storage
            domains[("object", id(t))] = [(0, n * isz, k)]
            continue
        if ptr:
            dom: object = t.device
            start = t.data_ptr()
        else:  # meta (every data_ptr is 0): the StorageImpl, shared by views, keys the domain
            dom = storage._cdata
            start = cast(int, t.storage_offset()) * isz  # SymInt only under tracing
        if t.is_contiguous():
            end = start + n * isz
        else:
            shape, stride = tuple(t.shape), t.stride()
            end = start + (1 + sum((sz - 1) * st for sz, st in zip(shape, stride, strict=True))) * isz
            if _self_overlaps(shape, stride):
                own_bytes[k] = _covered(_runs(t, 0))
        bucket = domains.get(dom)
        if bucket is None:
            domains[dom] = [(start, end, k)]
        else:
            bucket.append((start, end, k))

    entry_unique = [0] * n_entries
    for k, e in enumerate(first_entry):
        entry_unique[e] = own_bytes[k]

    parent = list(range(len(tensors)))  # union-find over tensors sharing an element
    joined: list[int] = []  # tensors in clusters of overlapping spans
    for bucket in domains.values():
        if len(bucket) < 2:
            continue
        bucket.sort()
        cluster = [bucket[0]]
        reach = bucket[0][1]
        for item in bucket[1:]:
            if item[0] < reach:
                cluster.append(item)
                reach = max(reach, item[1])
                continue
            if len(cluster) > 1:
                _resolve_cluster(cluster, tensors, first_entry, entry_unique, parent)
                joined.extend(k for _, _, k in cluster)
            cluster = [item]
            reach = item[1]
        if len(cluster) > 1:
            _resolve_cluster(cluster, tensors, first_entry, entry_unique, parent)
            joined.extend(k for _, _, k in cluster)

    # Components: tensors joined by storage, names joined by tensor. Only tensors
    # with several names or joined to another tensor can be in a group.
    candidates = set(joined)
    if n_entries > len(tensors):
        candidates.update(k for k, c in Counter(entry_tensor).items() if c > 1)
    members: dict[int, list[int]] = {}
    if candidates:
        for e, k in enumerate(entry_tensor):
            if k in candidates:
                members.setdefault(_find(parent, k), []).append(e)
    tensor_group = [-1] * len(tensors)
    groups: list[tuple[list[int], int, str]] = []
    for entries in members.values():
        if len(entries) < 2:
            continue
        ks = sorted({entry_tensor[e] for e in entries})
        covered = sum(entry_unique[e] for e in entries)
        kind = "same-tensor" if len(ks) == 1 else "aliased-storage"
        for k in ks:
            tensor_group[k] = len(groups)
        groups.append((entries, covered, kind))

    return Inventory(
        modules=modules,
        module_names=module_names,
        entry_names=p_names + b_names,
        entry_module=p_mod + b_mod,
        n_params=n_params,
        entry_tensor=entry_tensor,
        entry_unique_bytes=entry_unique,
        tensors=tensors,
        tensor_numel=numel,
        tensor_itemsize=itemsize,
        tensor_dtype=dtype,
        tensor_trainable=trainable,
        groups=groups,
        tensor_group=tensor_group,
    )


def _find(parent: list[int], k: int) -> int:
    while parent[k] != k:
        parent[k] = parent[parent[k]]
        k = parent[k]
    return k


def _resolve_cluster(
    cluster: list[tuple[int, int, int]],
    tensors: list[torch.Tensor],
    first_entry: list[int],
    entry_unique: list[int],
    parent: list[int],
) -> None:
    """Exact sharing inside one cluster of tensors whose spans overlap.

    Joins (union-find) tensors that share an element, and re-attributes bytes:
    each tensor, in order of its first name, keeps only the bytes no earlier
    tensor of the cluster holds.
    """
    items = sorted(cluster, key=lambda item: first_entry[item[2]])
    ks = [k for _, _, k in items]
    runs = [_runs(tensors[k], start) for start, _, k in items]
    # Connectivity: sort every run of every tensor, sweep, join tensors whose runs overlap.
    starts = np.concatenate([r[:, 0] for r in runs])
    ends = np.concatenate([r[:, 1] for r in runs])
    owner = np.concatenate([np.full(len(r), i) for i, r in enumerate(runs)])
    order = np.argsort(starts, kind="stable")
    starts, ends, owner = starts[order], ends[order], owner[order]
    reach = np.maximum.accumulate(ends)
    new_segment = np.ones(len(starts), dtype=bool)
    new_segment[1:] = starts[1:] >= reach[:-1]
    segment = np.cumsum(new_segment)
    pairs = np.unique(np.stack([segment, owner], axis=1), axis=0)
    for seg in np.unique(pairs[:, 0]):
        owners = pairs[pairs[:, 0] == seg, 1]
        a = _find(parent, ks[int(owners[0])])
        for o in owners[1:]:
            b = _find(parent, ks[int(o)])
            if a != b:
                parent[b] = a
    # Attribution: bytes new to each tensor, in first-name order.
    seen = np.empty((0, 2), dtype=np.int64)
    before = 0
    for i, k in enumerate(ks):
        seen = _merge(np.concatenate([seen, runs[i]]))
        after = _covered(seen)
        entry_unique[first_entry[k]] = after - before
        before = after


def _self_overlaps(shape: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    """Whether some element of a tensor with this shape/stride is reached by two indices."""
    dims = sorted((st, sz) for sz, st in zip(shape, stride, strict=True) if sz > 1)
    reach = 1
    for st, sz in dims:
        if st < reach:
            return True
        reach = st * (sz - 1) + reach
    return False


@functools.lru_cache(maxsize=512)
def _relative_runs(shape: tuple[int, ...], stride: tuple[int, ...]) -> np.ndarray:
    """Merged ``[start, end)`` element runs covered by a tensor at offset 0 (pure, cached)."""
    dims = sorted((st, sz) for sz, st in zip(shape, stride, strict=True) if sz > 1 and st != 0)
    run = 1
    i = 0
    while i < len(dims) and dims[i][0] == run:
        run *= dims[i][1]
        i += 1
    outer = dims[i:]
    count = 1
    for _, sz in outer:
        count *= sz
    if count > MAX_RUNS:  # too many runs to list: approximate by the span
        span = 1 + sum(st * (sz - 1) for st, sz in dims)
        out = np.array([[0, span]], dtype=np.int64)
    else:
        starts = np.zeros(1, dtype=np.int64)
        for st, sz in outer:
            starts = (starts[:, None] + np.arange(sz, dtype=np.int64) * st).ravel()
        out = _merge(np.stack([starts, starts + run], axis=1))
    out.setflags(write=False)
    return out


def _runs(t: torch.Tensor, base: int) -> np.ndarray:
    """Merged ``[start, end)`` byte runs of ``t``, shifted so that its first byte is at ``base``.

    ``base`` is the tensor's start in its memory domain (absolute address or
    storage-relative offset, as computed in :func:`inventory`).
    """
    isz = t.element_size()
    rel = _relative_runs(tuple(t.shape), tuple(t.stride()))
    return rel * isz + base


def _merge(runs: np.ndarray) -> np.ndarray:
    """Union of ``[start, end)`` intervals as sorted disjoint intervals."""
    if len(runs) < 2:
        return runs.astype(np.int64, copy=False)
    runs = runs[np.argsort(runs[:, 0], kind="stable")]
    reach = np.maximum.accumulate(runs[:, 1])
    new = np.ones(len(runs), dtype=bool)
    new[1:] = runs[1:, 0] > reach[:-1]
    idx = np.flatnonzero(new)
    starts = runs[idx, 0]
    ends = np.append(reach[idx[1:] - 1], reach[-1])
    return np.stack([starts, ends], axis=1)


def _covered(runs: np.ndarray) -> int:
    """Bytes covered by merged runs."""
    return int((runs[:, 1] - runs[:, 0]).sum()) if len(runs) else 0


def distinct_bytes(tensors: list[torch.Tensor]) -> int:
    """Distinct storage bytes held by ``tensors`` (views and repeats counted once)."""
    model = nn.Module()
    for i, t in enumerate(tensors):
        model.register_buffer(f"t{i}", t)
    inv = inventory(model)
    return sum(inv.entry_unique_bytes)
