"""The sharing graph's front end, Python side: the data it draws, its title, and the standalone page.

One JavaScript front end (``app/static/graph.js``) draws every sharing graph: in
the dashboard and ``psv.show`` (an anywidget) and in the HTML export (the same
file inlined in a page that needs no kernel and no network). What it draws is
:func:`graph_payload`, a plain JSON-ready dict computed here, so the page, the
widget and the tests read one thing.

The payload lists *rows* (the modules drawn, pre-order, each with the tensors it
holds and borrows) and *tensors* (each once). A folded run (``h.[0-11]``) is one
row whose ``fold`` gives its first and last index: the front end unfolds it into
``h.0 … h.11`` by renaming, and splits each folded tensor (``copies > 1``) into the
copies whose names start with a member's name; a tensor shared by every member
(ALBERT's block) stays one node joined to each member row.

This module reads :class:`~paramshare_viz.graph.SharingGraph` objects without
importing ``graph.py`` at run time (``graph.to_html`` imports this one).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paramshare_viz.plots import theme

if TYPE_CHECKING:
    from paramshare_viz.graph import ModuleNode, SharingGraph

STATIC = Path(__file__).parent / "app" / "static"
CONTAINERS = {"ModuleList", "ModuleDict"}  # drawn only when they hold a tensor themselves
_FOLD = re.compile(r"\[(\d+)-(\d+)\]")

#: Modules whose one forward call reuses the same weights many times (invisible in names and calls).
_CONV = {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"}
_RECURRENT = {"RNN", "LSTM", "GRU"}

#: Colours the front end uses (one constants module: plots/theme.py).
PALETTE = {
    "groups": theme.GROUP_COLOURS, "in_row": theme.SHARED_IN_ROW, "reused": theme.REUSED,
    "borrowed": theme.BORROWED, "plain": theme.PLAIN_TENSOR, "module": theme.MODULE,
}


def inside_call_note(m: ModuleNode) -> str:
    """``"one kernel at every position"`` for convolutions, ``"same weights at every step"`` for RNNs."""
    if m.type in _CONV:
        return "one kernel at every position"
    if m.type in _RECURRENT:
        return "same weights at every step"
    return ""


def summary(graph: SharingGraph, *, inside: bool = True) -> str:
    """What the graph shows, in one line of plain text; ``inside=False`` leaves out reuse inside a
    call, head maps and the frozen split (a note beside the graph says them)."""
    shared = [t for t in graph.tensors if t.group is not None]
    borrowed = {t for _, t in graph.borrows}
    reused = [t for t in graph.tensors if t.shared and t.group is None and t.index not in borrowed]
    parts = []
    if shared:
        parts.append(f"{len(shared)} tensor{'s' if len(shared) > 1 else ''} under several names")
    if reused:
        parts.append(f"{len(reused)} tensor{'s' if len(reused) > 1 else ''} reused at run time")
    types = sorted({m.type for m in graph.modules if inside_call_note(m)}) if inside else []
    if types:
        parts.append(f"{', '.join(types)} reuse{'s' if len(types) == 1 else ''} weights inside each call")
    if inside:
        parts += [f"each K/V head read by {hm.num_heads // hm.kv_heads} query heads" for hm in graph.head_maps]
        if graph.frozen_params:
            parts.append(f"{graph.frozen_params:,} of {graph.frozen_params + graph.trainable_params:,} parameters frozen")
    if borrowed:
        n = len(borrowed)
        parts.append(f"{n} tensor{'s' if n > 1 else ''} read by a module that does not hold it")
    return "; ".join(parts) or "no tensor under two names, none reused across calls"


def _shown(graph: SharingGraph) -> list[ModuleNode]:
    """The modules drawn: the root, and every module holding or borrowing a tensor in its sub-tree,
    less containers (``ModuleList``) that hold nothing themselves."""
    holds = {m for m, _ in graph.edges} | {m for m, _ in graph.borrows}
    keep: set[str] = set()
    for m in reversed(graph.modules):  # children come after parents in pre-order
        if m.name in holds or m.name in keep:
            keep.add(m.name)
            if m.parent is not None:
                keep.add(m.parent)
    return [m for m in graph.modules if m.parent is None or (
        m.name in keep and not (m.type in CONTAINERS and m.name not in holds))]


def graph_payload(graph: SharingGraph, *, note: str = "", twin: bool = False) -> dict[str, Any]:
    """What the front end draws for ``graph`` (see the module docstring); JSON-ready.

    Args:
        graph: a :class:`~paramshare_viz.graph.SharingGraph`, collapsed or not.
        note: a line said beside the title (Explore's reuse note); it replaces what
            ``summary(graph)`` would say about reuse inside calls.
        twin: the graph is the unshared twin (the title says so).

    Returns:
        ``{"model_type", "summary", "note", "twin", "rows", "tensors", "head_maps",
        "frozen_params", "trainable_params", "palette"}``. Each row: ``name``, ``type``,
        ``parent`` (index of the drawn parent row, ``-1`` for the root), ``copies``,
        ``objects``, ``calls``, ``runs``, ``note``, ``aliases``, ``fold`` (``[first, last]`` of a
        folded run's own key ``[i-j]``, else ``None``), ``holds`` and ``borrows`` (tensor indices).
        Each tensor: ``label`` (its canonical name: the name under its first holder, or the
        folded name), ``names``, ``shape``, ``dtype``, ``numel``, ``bytes`` (over all copies),
        ``copies``, ``kind`` (``"group"`` under several names, ``"borrowed"``, ``"reused"`` by a
        module run more than once or inside one call, ``"plain"``), ``buffer``, ``uses``,
        ``applications``, ``applied_over``.
    """
    rows = _shown(graph)
    index = {m.name: i for i, m in enumerate(rows)}

    parents = {m.name: m.parent for m in graph.modules}
    notes = {m.name: inside_call_note(m) for m in graph.modules}
    holds: dict[str, list[int]] = {}
    borrows: dict[str, list[int]] = {}
    for name, k in graph.edges:
        holds.setdefault(_nearest(name, index, parents), []).append(k)
    for name, k in graph.borrows:
        borrows.setdefault(_nearest(name, index, parents), []).append(k)
    borrowed = {k for _, k in graph.borrows}
    inside = {k for name, k in graph.edges if notes[name]}
    out_rows = []
    for m in rows:
        parent_name = m.parent or ""
        key = m.name[len(parent_name) + 1 :] if parent_name else m.name
        fold = _FOLD.fullmatch(key)
        out_rows.append({
            "name": m.name, "type": m.type, "parent": -1 if m.parent is None else index[_nearest(m.parent, index, parents)],
            "copies": m.copies, "objects": m.objects, "calls": m.calls, "runs": m.runs,
            "note": notes[m.name], "aliases": list(m.aliases),
            "fold": [int(fold[1]), int(fold[2])] if fold else None,
            "holds": list(dict.fromkeys(holds.get(m.name, []))), "borrows": list(dict.fromkeys(borrows.get(m.name, []))),
        })
    tensors = []
    for t in graph.tensors:
        kind = ("group" if t.group is not None else "borrowed" if t.index in borrowed
                else "reused" if t.shared or t.index in inside else "plain")
        tensors.append({
            "label": t.label, "names": list(t.names), "shape": list(t.shape), "dtype": t.dtype,
            "numel": t.numel, "bytes": t.bytes, "copies": t.copies, "kind": kind, "buffer": t.buffer,
            "uses": t.uses, "applications": t.applications, "applied_over": t.applied_over,
        })
    return {
        "model_type": graph.model_type, "summary": summary(graph, inside=not note), "note": note, "twin": twin,
        "rows": out_rows, "tensors": tensors, "head_maps": [h.to_dict() for h in graph.head_maps],
        "frozen_params": graph.frozen_params, "trainable_params": graph.trainable_params, "palette": PALETTE,
    }


def _nearest(name: str, index: dict[str, int], parents: dict[str, str | None]) -> str:
    """``name`` if it is drawn, else its nearest drawn ancestor (a container holding nothing is skipped)."""
    p: str | None = name
    while p is not None and p not in index:
        p = parents.get(p)
    return "" if p is None else p


def front_end() -> tuple[str, str]:
    """The front end's JavaScript (an ES module exporting ``render``) and its CSS, as shipped."""
    return (STATIC / "graph.js").read_text(encoding="utf-8"), (STATIC / "graph.css").read_text(encoding="utf-8")


def page_html(payloads: dict[str, Any], data: dict[str, Any], *, title: str) -> str:
    """One standalone HTML page: the front end inlined, ``payloads`` drawn, no kernel, no network.

    ``data`` (``graph.to_dict()``) is embedded as JSON in ``<script id="psv-graph-data">`` for tools.
    """
    js, css = front_end()
    module = js.replace("export default { render };", "")
    if module == js:
        raise RuntimeError("graph.js no longer ends with 'export default { render };'")

    def script_json(obj: Any) -> str:
        return json.dumps(obj).replace("</", "<\\/")

    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{css}\nbody{{margin:16px}}</style></head><body>\n"
        "<div id='psv-root'></div>\n"
        f"<script type='application/json' id='psv-graph-payload'>{script_json({'payloads': payloads, 'side': 'shared'})}</script>\n"
        f"<script type='application/json' id='psv-graph-data'>{script_json(data)}</script>\n"
        f"<script type='module'>{module}\n"
        "const state = JSON.parse(document.getElementById('psv-graph-payload').textContent);\n"
        "render({ model: standaloneModel(state), el: document.getElementById('psv-root') });\n"
        "</script></body></html>\n"
    )
