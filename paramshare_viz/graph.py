"""The sharing graph: which modules hold and reuse which tensors.

Module nodes are the model's module names; tensor nodes are distinct
storages (a tensor reached under several names, or several views of one
storage, is *one* node carrying every name); an edge joins a module to each
tensor it holds directly. With an example input, a *borrow* joins a module to
a tensor it reads without holding it (``F.linear(h, self.emb.weight)`` in
another module's forward: the report's ``"functional"`` groups), and each
tensor node carries its uses in one forward. Everything comes from
:func:`analyze`'s report (groups, module rows, calls, uses): nothing is
re-detected here.

With ``collapse=True`` repeated structure is folded: siblings named ``0, 1, …``
with identical sub-trees (types, tensor names, shapes, dtypes) become one
node, ``h.[0-11]`` with ``copies=12``. Tensors private to one layer fold with
their layer (``h.[0-11].attn.c_attn.weight``, ``copies=12``); tensors reached
by two or more names never fold, so a tensor shared across the range stays one
node with an edge to the folded module.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from paramshare_viz.analysis.report import SharingReport, analyze
from paramshare_viz.analysis.runtime import ModelInput
from paramshare_viz.display import natural_sorted
from paramshare_viz.graph_page import graph_payload, page_html
from paramshare_viz.graph_svg import graph_svg


@dataclass(slots=True)
class ModuleNode:
    """One module of the graph (or a folded run of identical ones).

    Attributes:
        name: qualified name (root ``""``); a folded run reads ``h.[0-11]``.
        type: class name, e.g. ``"Block"``.
        depth: nesting depth (root 0).
        parent: the parent node's name (``None`` for the root).
        copies: module names folded into this node (1 when not folded).
        objects: distinct module objects behind those names (``ModuleList([b] * 5)``: 1).
        calls: forward calls of those objects together; ``None`` without an example input.
        tensors: direct parameters and buffers, as folded names.
        aliases: other names of the same module object (not folded into this node).
    """

    name: str
    type: str
    depth: int
    parent: str | None
    copies: int = 1
    objects: int = 1
    calls: int | None = None
    tensors: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def runs(self) -> int | None:
        """Forward calls per module object (ALBERT's block: 12); ``None`` without an input."""
        return None if self.calls is None else self.calls // max(self.objects, 1)


@dataclass(slots=True)
class TensorNode:
    """One distinct storage (or, folded, one per-layer tensor of a run of layers).

    Attributes:
        index: position in ``graph.tensors`` (what edges point at).
        label: the name to print: the first name, or the folded name ``h.[0-11].ln_1.weight``.
        names: every qualified name that reaches it (all copies when folded).
        shape: shape under the first name.
        dtype: e.g. ``"float32"``.
        numel: distinct elements held (summed over copies when folded).
        bytes: distinct bytes held (the same way).
        shared: reached by two or more names, held by a module that runs more than once,
            or read by a module that does not hold it (a borrow).
        group: index into ``report.groups`` when two or more names reach it, else ``None``.
        buffer: ``True`` for buffers.
        copies: distinct tensors folded into this node (1 when not folded).
        uses: calls that read it in one forward (``report.uses``, summed over copies);
            ``None`` without an example input, and for buffers.
        applications: how often fused calls applied it (``report.applications``: RNN steps,
            conv positions), else ``None``.
        applied_over: ``"steps"`` or ``"positions"`` with ``applications``, else ``""``.
    """

    index: int
    label: str
    names: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    numel: int
    bytes: int
    shared: bool
    group: int | None = None
    buffer: bool = False
    copies: int = 1
    uses: int | None = None
    applications: int | None = None
    applied_over: str = ""


@dataclass(frozen=True)
class HeadMap:
    """Which query heads read which K/V head in grouped-query attention modules of one shape.

    Sharing that names and calls cannot show: each K/V head's weights are read by
    ``num_heads / kv_heads`` query heads, inside one call.

    Attributes:
        modules: names of the attention modules with this map (one per module object).
        num_heads: query heads.
        kv_heads: key/value heads (``1``: multi-query attention).
    """

    modules: tuple[str, ...]
    num_heads: int
    kv_heads: int

    @property
    def readers(self) -> tuple[tuple[int, ...], ...]:
        """Query heads per K/V head: query head ``i`` reads K/V head ``i // (num_heads / kv_heads)``."""
        per = self.num_heads // self.kv_heads
        return tuple(tuple(range(k * per, (k + 1) * per)) for k in range(self.kv_heads))

    def to_dict(self) -> dict[str, Any]:
        return {"modules": list(self.modules), "num_heads": self.num_heads, "kv_heads": self.kv_heads,
                "readers": [list(r) for r in self.readers]}


@dataclass
class SharingGraph:
    """Modules, tensors and holder edges of one model (see the module docstring).

    Attributes:
        modules: module nodes, pre-order (root first).
        tensors: tensor nodes, in order of their first holder.
        edges: ``(module name, tensor index)``, one per module that holds the tensor.
        collapsed: whether repeated structure was folded.
        model_type: class name of the model.
        head_maps: grouped-query attention's K/V heads and the query heads that read each
            (:func:`head_maps`); empty when no attention module groups its heads.
        frozen_params: unique parameter elements with ``requires_grad=False`` (LoRA's base).
        trainable_params: unique parameter elements with ``requires_grad=True``.
        borrows: ``(module name, tensor index)``, one per module that reads the tensor
            without holding it (the report's ``"functional"`` groups; empty without an input).
    """

    modules: list[ModuleNode]
    tensors: list[TensorNode]
    edges: list[tuple[str, int]]
    collapsed: bool = True
    model_type: str = ""
    head_maps: list[HeadMap] = field(default_factory=list)
    frozen_params: int = 0
    trainable_params: int = 0
    borrows: list[tuple[str, int]] = field(default_factory=list)
    _holders: dict[int, list[str]] = field(default_factory=dict, repr=False, compare=False)

    def holders(self, tensor: int) -> list[str]:
        """Names of the module nodes that hold tensor ``tensor``, in edge order."""
        if not self._holders:
            for m, t in self.edges:
                self._holders.setdefault(t, []).append(m)
        return self._holders.get(tensor, [])

    def borrowers(self, tensor: int) -> list[str]:
        """Names of the module nodes that read tensor ``tensor`` without holding it."""
        return [m for m, t in self.borrows if t == tensor]

    def held_by(self, module: str) -> list[int]:
        """Tensor indices held by module node ``module``."""
        return [t for m, t in self.edges if m == module]

    @property
    def shared_tensors(self) -> list[TensorNode]:
        return [t for t in self.tensors if t.shared]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict: ``json.dumps(graph.to_dict())`` works."""
        modules = []
        for m in self.modules:
            d = asdict(m)
            d["tensors"] = list(m.tensors)
            modules.append(d)
        tensors = []
        for t in self.tensors:
            d = asdict(t)
            d["names"], d["shape"] = list(t.names), list(t.shape)
            tensors.append(d)
        return {
            "model_type": self.model_type,
            "collapsed": self.collapsed,
            "modules": modules,
            "tensors": tensors,
            "edges": [[m, t] for m, t in self.edges],
            "head_maps": [h.to_dict() for h in self.head_maps],
            "frozen_params": self.frozen_params,
            "trainable_params": self.trainable_params,
            "borrows": [[m, t] for m, t in self.borrows],
        }

    def to_html(self, path: str | Path, *, title: str | None = None) -> Path:
        """Write the graph as one standalone HTML page: the package's graph front end inlined, no kernel,
        no network. Click, unfold, hover and "Save SVG" work as in the dashboard.

        The page also embeds ``to_dict()`` as JSON in ``<script id="psv-graph-data">``.
        """
        payload = graph_payload(self)
        page = page_html({"shared": payload, "twin": None}, self.to_dict(),
                         title=title or f"{self.model_type}: sharing graph")
        out = Path(path)
        out.write_text(page, encoding="utf-8")
        return out

    def to_svg(self, path: str | Path | None = None) -> str:
        """The whole graph as one SVG document, as the page's "Save SVG" writes it for its first view
        (folded rows as drawn, nothing lit); no browser needed. Written to ``path`` when one is given.
        """
        svg = graph_svg(graph_payload(self))
        if path is not None:
            Path(path).write_text(svg, encoding="utf-8")
        return svg


def sharing_graph(
    model: nn.Module,
    example_input: ModelInput | None = None,
    *,
    collapse: bool = True,
    report: SharingReport | None = None,
) -> SharingGraph:
    """The sharing graph of ``model``: modules, the tensors they hold, and who shares what.

    Args:
        model: any ``nn.Module``, on any device (``meta`` included: only shapes are read).
        example_input: run once to count forward calls (see :func:`analyze`); ``None``
            for a static graph.
        collapse: fold runs of identical sibling modules (``h.0 … h.11`` -> ``h.[0-11]``).
        report: ``analyze(model, example_input)`` when already at hand (it is not recomputed).

    Returns:
        A :class:`SharingGraph`.

    Sharing:
        Every group of names in ``report.groups`` is exactly one tensor node, with
        an edge to each module that holds one of its names; tensors of modules that
        run more than once are marked ``shared`` too. A ``"functional"`` group is a
        borrow: an entry of ``graph.borrows`` from each borrowing module to the tensor.

    Example:
        >>> lm = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
        >>> lm[1].weight = lm[0].weight  # tied embeddings
        >>> g = sharing_graph(lm)
        >>> [t.names for t in g.shared_tensors], g.edges
        ([('0.weight', '1.weight')], [('0', 0), ('1', 0)])
    """
    if report is None:
        report = analyze(model, example_input)
    flat = _flat_graph(model, report)
    _add_uses(flat, report)
    graph = _collapse(flat) if collapse else flat
    _add_unnamed_sharing(graph, model, report)
    return graph


def _add_unnamed_sharing(graph: SharingGraph, model: nn.Module, report: SharingReport) -> None:
    """Sharing that neither names nor calls show: grouped K/V heads, a frozen base beside trainable parts."""
    graph.head_maps = head_maps(model)
    graph.frozen_params = report.frozen_params
    graph.trainable_params = report.unique_params - report.frozen_params


def _heads(module: nn.Module) -> tuple[int, int] | None:
    """``(query heads, K/V heads)`` of an attention module: the zoo's ``num_heads``/``num_kv_heads``,
    or Hugging Face's ``config.num_attention_heads``/``num_key_value_heads`` on a module that groups."""
    if isinstance(getattr(module, "num_kv_heads", None), int) and isinstance(getattr(module, "num_heads", None), int):
        return module.num_heads, module.num_kv_heads  # type: ignore[return-value]
    config = getattr(module, "config", None)
    if hasattr(module, "num_key_value_groups") and config is not None:
        heads, kv = getattr(config, "num_attention_heads", None), getattr(config, "num_key_value_heads", None)
        if isinstance(heads, int) and isinstance(kv, int):
            return heads, kv
    return None


def head_maps(model: nn.Module) -> list[HeadMap]:
    """The :class:`HeadMap` of each shape of grouped-query attention in ``model`` (K/V heads fewer
    than query heads), from the modules' own head counts; each module object once."""
    found: dict[tuple[int, int], list[str]] = {}
    for name, module in model.named_modules():  # each object once
        heads = _heads(module)
        if heads is not None and 0 < heads[1] < heads[0] and heads[0] % heads[1] == 0:
            found.setdefault(heads, []).append(name)
    return [HeadMap(tuple(names), h, kv) for (h, kv), names in found.items()]


def _flat_graph(model: nn.Module, report: SharingReport) -> SharingGraph:
    """One node per module name and per distinct storage, no folding."""
    params, buffers = _named_tensors(model)
    group_of = {n: g for g, grp in enumerate(report.groups) for n in grp.names if grp.kind != "functional"}
    rows = report.modules
    modules: list[ModuleNode] = []
    tensors: list[TensorNode] = []
    edges: list[tuple[str, int]] = []
    node_of_group: dict[int, int] = {}
    dtypes: dict[Any, tuple[str, int]] = {}  # torch dtype -> (name, itemsize): a few, looked up 10,000s of times
    for row in rows:
        parent = None if not row.name else row.name.rpartition(".")[0]
        direct = row.params + row.buffers
        modules.append(ModuleNode(row.name, row.type, row.depth, parent, 1, 1, row.calls, direct, row.aliases))
        reused = (row.calls or 0) > 1
        held: list[int] = []
        for name in direct:
            g = group_of.get(name)
            if g is not None and g in node_of_group:
                k = node_of_group[g]
            else:
                t = params.get(name)
                is_buffer = t is None
                if t is None:
                    t = buffers[name]
                k = len(tensors)
                if g is not None:
                    grp = report.groups[g]
                    node_of_group[g] = k
                    node = TensorNode(
                        k, name, tuple(natural_sorted(grp.names)), tuple(t.shape), grp.dtype, grp.numel,
                        grp.nbytes, True, g, set(grp.buffers) == set(grp.names),
                    )
                else:
                    n = t.numel()
                    dtype = dtypes.get(t.dtype)
                    if dtype is None:
                        dtype = dtypes[t.dtype] = (str(t.dtype).removeprefix("torch."), t.element_size())
                    node = TensorNode(
                        k, name, (name,), tuple(t.shape), dtype[0], n, n * dtype[1], reused, None, is_buffer
                    )
                tensors.append(node)
            if not held or k not in held:
                held.append(k)
                edges.append((row.name, k))
    return SharingGraph(modules, tensors, edges, collapsed=False, model_type=type(model).__name__)


def _named_tensors(model: nn.Module) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every parameter and buffer name (aliases included): one explicit-stack walk, no generators."""
    params: dict[str, Any] = {}
    buffers: dict[str, Any] = {}
    stack: list[tuple[str, nn.Module]] = [("", model)]
    while stack:
        name, module = stack.pop()
        prefix = name + "." if name else ""
        for key, p in module._parameters.items():
            if p is not None:
                params[prefix + key] = p
        for key, b in module._buffers.items():
            if b is not None:
                buffers[prefix + key] = b
        stack.extend((prefix + key, c) for key, c in module._modules.items() if c is not None)
    return params, buffers


def _add_uses(graph: SharingGraph, report: SharingReport) -> None:
    """Uses and applications on the tensor nodes, and a borrow per functional group's borrower (in place)."""
    if report.uses is None:
        return
    node_of = {n: t.index for t in graph.tensors for n in t.names}
    for name, n in report.uses.items():
        t = graph.tensors[node_of[name]]
        t.uses = n
        if name in report.applications:
            t.applications, t.applied_over = report.applications[name], report.applied_over[name]
    for g in report.borrowed:
        k = node_of[g.names[0]]
        graph.tensors[k].shared = True
        graph.borrows += [(m, k) for m in g.borrowers if (m, k) not in graph.borrows]


def _fold_uses(flat: SharingGraph, tensors: list[TensorNode], new_index: dict[int, int]) -> None:
    """Uses and applications of the folded nodes: summed over the copies folded into each."""
    for t in flat.tensors:
        node = tensors[new_index[t.index]]
        if node.names == t.names:  # not folded: copied as is
            node.uses, node.applications, node.applied_over = t.uses, t.applications, t.applied_over
            continue
        if t.uses is not None:
            node.uses = (node.uses or 0) + t.uses
        if t.applications is not None:
            node.applications = (node.applications or 0) + t.applications
            node.applied_over = t.applied_over
        node.shared = node.shared or t.shared


_INDEX = re.compile(r"\d+")


def _collapse(flat: SharingGraph) -> SharingGraph:
    """Fold runs of identical numbered siblings (see the module docstring)."""
    shape_of = {n: (t.shape, t.dtype) for t in flat.tensors for n in t.names}
    folded = _folded_names(flat.modules, shape_of)

    # Module nodes: one per folded name, in first-occurrence order.
    merged: dict[str, list[ModuleNode]] = {}
    for m in flat.modules:
        merged.setdefault(folded[m.name], []).append(m)
    modules: list[ModuleNode] = []
    for name, members in merged.items():
        first = members[0]
        cut = len(first.name) + 1 if first.name else 0
        own = tuple(f"{name}.{n[cut:]}" if name else n[cut:] for n in first.tensors)
        # Aliased names of one object report its one call count: count each object once.
        per_object = {tuple(sorted((m.name, *m.aliases))): m.calls or 0 for m in members}
        calls = None if first.calls is None else sum(per_object.values())
        parent = None if first.parent is None else folded[first.parent]
        aliases = tuple(dict.fromkeys(a for a in (folded.get(a, a) for a in first.aliases) if a != name))
        modules.append(
            ModuleNode(name, first.type, first.depth, parent, len(members), len(per_object), calls, own, aliases)
        )

    # Tensors: single-name tensors of folded modules merge by folded name; the rest stay as they are.
    first_holder: dict[int, str] = {}
    for mname, k in flat.edges:
        first_holder.setdefault(k, mname)
    tensors: list[TensorNode] = []
    new_index: dict[int, int] = {}
    by_label: dict[str, TensorNode] = {}
    names: dict[int, list[str]] = {}  # merged node -> names of its copies
    for t in flat.tensors:
        holder = first_holder[t.index]
        fholder = folded[holder]
        if t.group is None and fholder != holder:
            fname = fholder + t.names[0][len(holder) :]
            node = by_label.get(fname)
            if node is None:
                node = by_label[fname] = TensorNode(
                    len(tensors), fname, (), t.shape, t.dtype, 0, 0, False, None, t.buffer, 0
                )
                tensors.append(node)
                names[node.index] = []
            names[node.index].extend(t.names)
            node.numel += t.numel
            node.bytes += t.bytes
            node.shared = node.shared or t.shared
            node.copies += 1
            new_index[t.index] = node.index
        else:
            k = new_index[t.index] = len(tensors)
            tensors.append(
                TensorNode(k, t.label, t.names, t.shape, t.dtype, t.numel, t.bytes, t.shared, t.group, t.buffer)
            )
    for k, ns in names.items():
        tensors[k].names = tuple(ns)
    edges = list(dict.fromkeys((folded[mname], new_index[k]) for mname, k in flat.edges))
    borrows = list(dict.fromkeys((folded[mname], new_index[k]) for mname, k in flat.borrows))
    _fold_uses(flat, tensors, new_index)
    return SharingGraph(modules, tensors, edges, collapsed=True, model_type=flat.model_type, borrows=borrows)


def _folded_names(modules: list[ModuleNode], shape_of: dict[str, tuple[Any, ...]]) -> dict[str, str]:
    """``{module name: folded name}``: runs of consecutive integer keys with one structure -> ``[i-j]``."""
    children: dict[str, list[str]] = {}
    for m in modules:
        if m.parent is not None:
            children.setdefault(m.parent, []).append(m.name)
    # Structural signature of every sub-tree, bottom-up (reverse pre-order): type, tensor keys, children.
    sig: dict[str, int] = {}
    sig_ids: dict[tuple[Any, ...], int] = {}
    for m in reversed(modules):
        cut = len(m.name) + 1 if m.name else 0
        own = tuple((n[cut:], shape_of[n]) for n in m.tensors)
        sub = tuple((c[cut:], sig[c]) for c in children.get(m.name, ()))
        sig[m.name] = sig_ids.setdefault((m.type, own, sub), len(sig_ids))
    label: dict[str, str] = {}
    for parent, kids in children.items():
        cut = len(parent) + 1 if parent else 0
        run: list[str] = []
        for child in [*kids, None]:
            key = "" if child is None else child[cut:]
            numbered = _INDEX.fullmatch(key) is not None
            if child is not None and run and numbered and int(key) == int(run[-1][cut:]) + 1 and (
                sig[child] == sig[run[-1]]
            ):
                run.append(child)
                continue
            if len(run) > 1:
                tag = f"[{run[0][cut:]}-{run[-1][cut:]}]"
                for r in run:
                    label[r] = tag
            run = [child] if child is not None and numbered else []
    folded: dict[str, str] = {"": ""}
    for m in modules:
        if m.name:
            head = folded[m.parent or ""]
            key = label.get(m.name, m.name[len(m.parent) + 1 :] if m.parent else m.name)
            folded[m.name] = f"{head}.{key}" if head else key
    return folded
