"""The sharing graph as a figure: modules as an indented tree, the tensors they hold beside them.

Layout (hand-written: a module hierarchy is a tree, and a row per module keeps
long names readable):

* one row per module, top to bottom in definition order, indented by depth;
  modules holding no tensor and plain containers (``ModuleList``) are skipped;
* each tensor sits once, right of the first row that holds it;
* a tensor held by modules on other rows is joined to each of them through a
  vertical coloured lane: a lane touching several rows *is* the sharing;
* a module that reads a tensor it does not hold (a borrow, with an example
  input) is joined to it by a dashed amber line from its row.

Coordinates are pixels (the figure has a fixed size), so text widths can be
estimated and nothing overlaps. The trace list has a fixed length and order,
so a ``FigureWidget`` can take a new graph in place (:func:`update_sharing_graph_figure`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from paramshare_viz.graph import ModuleNode, SharingGraph, TensorNode
from paramshare_viz.plots import theme

ROW = 24  # px per row
CHAR = 7.0  # px per character at 12 px
INDENT = 18  # px per depth level
SLOT = 170  # px per tensor slot
LANE = 12  # px between lanes
MAX_SLOTS = 4  # tensors drawn per row; more are summarised as "+N more"
MAX_LABEL = 44  # characters of a module label
TOP = 174  # px above the first row (toolbar, title, caption and legend)
TOOLBAR = 34  # px at the top kept clear for plotly's toolbar, which would cover a title there
TITLE_LINE = 20  # px per line of the title (15 px font)
TITLE_CHAR = 8.0  # px per title character at 15 px
CONTAINERS = {"ModuleList", "ModuleDict"}

#: Trace order (fixed, so a FigureWidget can be updated trace by trace).
TRACES = ["guides", "tree", "edges", "inrow", *[f"group{i}" for i in range(len(theme.GROUP_COLOURS))],
          "reuse", "borrow", "highlight", "modules", "tensors", "more",
          "legend_module", "legend_folded", "legend_plain", "legend_group", "legend_inrow", "legend_reuse",
          "legend_borrow"]


@dataclass
class _Layout:
    rows: list[ModuleNode]
    anchors: list[ModuleNode | None]  # each row's drawn parent
    row_of: dict[str, int]  # module node name -> row, for shown rows and hidden ones (nearest shown ancestor)
    depth: dict[str, int]
    label_end: list[float]
    place: dict[int, tuple[int, int]]  # tensor index -> (row, slot)
    more: dict[int, int]  # row -> tensors not drawn
    lanes: dict[int, int]  # tensor index -> lane number (tensors with holders on other rows)
    colour: dict[int, str]
    x_port: float
    x_tensor: float


def tensor_colour(t: TensorNode, lane: int | None) -> str:
    """A colour per tensor shared across rows; one colour for names folded into one row; teal; grey."""
    if t.group is not None:
        return theme.SHARED_IN_ROW if lane is None else theme.GROUP_COLOURS[lane % len(theme.GROUP_COLOURS)]
    return theme.REUSED if t.shared else theme.PLAIN_TENSOR


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape) if shape else "scalar"


def module_label(m: ModuleNode, parent: str | None) -> str:
    """Name relative to the nearest drawn ancestor, with ``×12`` for folded copies."""
    name = m.name or "(model)"
    if parent and m.name.startswith(parent + "."):
        name = m.name[len(parent) + 1 :]
    if len(name) > MAX_LABEL:
        name = "…" + name[-MAX_LABEL + 1 :]
    return name


def _badges(m: ModuleNode, parent: ModuleNode | None) -> tuple[str, str]:
    """Copies and runs badges, empty where the drawn parent already says the same."""
    copies = runs = ""
    if m.copies > 1 and not (parent and (parent.copies, parent.objects) == (m.copies, m.objects)):
        if m.objects == 1:
            copies = f"1 module under {m.copies} names"
        elif m.objects == m.copies:
            copies = f"×{m.copies}"
        else:
            copies = f"×{m.copies} ({m.objects} modules)"
    if (m.runs or 0) > 1 and not (parent and parent.runs == m.runs):
        runs = f"runs {m.runs}×"
    return copies, runs


def _module_text(m: ModuleNode, label: str, parent: ModuleNode | None) -> str:
    copies, runs = _badges(m, parent)
    text = html.escape(label)
    if copies:
        text += f" <b>{copies}</b>"
    text += f' <span style="color:{theme.MUTED}">{html.escape(m.type)}</span>'
    if runs:
        text += f' <b style="color:{theme.REUSED}">{runs}</b>'
    note = inside_call_note(m)
    if note:
        text += f' <i style="color:{theme.REUSED}">{note}</i>'
    return text


def _module_width(m: ModuleNode, label: str, parent: ModuleNode | None) -> float:
    copies, runs = _badges(m, parent)
    chars = len(label) + 1 + len(m.type) + len(copies) + len(runs) + len(inside_call_note(m)) + 3
    return chars * CHAR


def _tensor_text(t: TensorNode, lane: bool) -> str:
    short = t.label.rpartition(".")[2]
    text = f"{short} {_shape(t.shape)}"
    if len(text) > 22:
        text = text[:21] + "…"
    if t.copies > 1:
        text += f" ×{t.copies}"
    if t.group is not None:  # on a lane, say how many names; in a folded row, the row says it
        return f"<b>{html.escape(text)}</b>" + (f" · {len(t.names)} names" if lane else "")
    return html.escape(text)


def _fmt_bytes(n: int) -> str:
    from paramshare_viz.bench.table import fmt_bytes

    return fmt_bytes(n)


def _names_html(names: tuple[str, ...], limit: int = 10) -> str:
    shown = "<br>".join(html.escape(n) for n in names[:limit])
    return shown + (f"<br>… and {len(names) - limit} more" if len(names) > limit else "")


def tensor_hover(t: TensorNode, holders: list[str], borrowers: list[str] | None = None) -> str:
    if t.group is not None:
        what = f"<b>one tensor under {len(t.names)} names</b>"
    elif borrowers:
        what = "<b>read by a module that does not hold it</b>"
    elif t.shared:
        what = "<b>reused: its module runs more than once per forward</b>"
    else:
        what = "held by one module"
    copies = f" (each of {t.copies} copies)" if t.copies > 1 else ""
    held = ", ".join(h or "(model)" for h in holders[:6]) + (" …" if len(holders) > 6 else "")
    return (
        f"{what}<br>{_names_html(t.names)}<br>shape {_shape(t.shape)}{copies} · {t.dtype}<br>"
        f"{t.numel:,} elements · {_fmt_bytes(t.bytes)}"
        + (" in total" if t.copies > 1 else "")
        + f"<br>held by: {html.escape(held)}"
        + uses_hover(t, borrowers or [])
    )


def uses_hover(t: TensorNode, borrowers: list[str]) -> str:
    """Hover lines on one forward's uses: calls that read the tensor, applications inside them, borrowers."""
    out = ""
    if borrowers:
        out += "<br>also read by (borrows it): " + html.escape(", ".join(b or "(model)" for b in borrowers[:6]))
    if t.uses is not None:
        each = " in all copies" if t.copies > 1 else ""
        out += f"<br>uses in one forward: {t.uses:,} call{'s' if t.uses != 1 else ''}{each}"
        if t.applications is not None:
            out += f", applied at {t.applications:,} {t.applied_over} inside them"
    return out


def module_hover(m: ModuleNode, n_tensors: int) -> str:
    lines = [f"<b>{html.escape(m.name or '(model)')}</b> · {html.escape(m.type)}"]
    if m.copies > 1:
        same = "one module object under" if m.objects == 1 else f"{m.objects} identical modules,"
        lines.append(f"{same} {m.copies} names")
    if m.calls is not None:
        lines.append(f"forward calls: {m.calls:,}" + (f" ({m.runs}× per module)" if m.objects > 1 else ""))
    if m.aliases:
        lines.append("also named: " + html.escape(", ".join(m.aliases[:4])))
    lines.append(f"tensors held directly: {n_tensors}")
    return "<br>".join(lines)


def layout_graph(graph: SharingGraph) -> _Layout:
    """Rows, slots and lanes (pure; see the module docstring)."""
    held: dict[str, list[int]] = {}
    for mname, k in graph.edges:
        held.setdefault(mname, []).append(k)
    has_tensors: set[str] = {mname for mname, _ in graph.borrows}  # a borrower gets a row, for its line
    for m in reversed(graph.modules):  # children come after parents in pre-order
        if held.get(m.name) or m.name in has_tensors:
            has_tensors.add(m.name)
            if m.parent is not None:
                has_tensors.add(m.parent)
    rows: list[ModuleNode] = []
    row_of: dict[str, int] = {}
    depth: dict[str, int] = {}
    shown_parent: dict[str, str | None] = {}
    for m in graph.modules:
        parent_row = None if m.parent is None else row_of.get(m.parent)
        show = m.parent is None or (
            m.name in has_tensors and not (m.type in CONTAINERS and not held.get(m.name))
        )
        anchor = None if m.parent is None else shown_parent.get(m.parent) if m.parent not in depth else m.parent
        if show:
            row_of[m.name] = len(rows)
            depth[m.name] = 0 if anchor is None else depth[anchor] + 1
            shown_parent[m.name] = m.name
            rows.append(m)
        else:
            if parent_row is not None:
                row_of[m.name] = parent_row
            shown_parent[m.name] = anchor
    label_end = []
    anchors: list[ModuleNode | None] = []
    for m in rows:
        anchor = None if m.parent is None else (m.parent if m.parent in depth else shown_parent.get(m.parent))
        node = None if anchor is None else rows[row_of[anchor]]
        anchors.append(node)
        label_end.append(depth[m.name] * INDENT + 10 + _module_width(m, module_label(m, anchor), node))
    # Tensors: once, on the first row that holds them; multi-row tensors first in their row, with a lane.
    holders: dict[int, list[int]] = {}
    for mname, k in graph.edges:
        r = row_of.get(mname)
        if r is not None and r not in holders.setdefault(k, []):
            holders[k].append(r)
    lanes: dict[int, int] = {}
    per_row: dict[int, list[int]] = {}
    for t in sorted(holders, key=lambda t: (holders[t][0], len(holders[t]) == 1, t)):
        per_row.setdefault(holders[t][0], []).append(t)
        if len(holders[t]) > 1:
            lanes[t] = len(lanes)
    place: dict[int, tuple[int, int]] = {}
    more: dict[int, int] = {}
    for r, ts in per_row.items():
        for slot, t in enumerate(ts[:MAX_SLOTS]):
            place[t] = (r, slot)
        if len(ts) > MAX_SLOTS:
            more[r] = len(ts) - MAX_SLOTS
    colour = {t.index: tensor_colour(t, lanes.get(t.index)) for t in graph.tensors}
    inside = {m.name for m in graph.modules if inside_call_note(m)}
    for mname, k in graph.edges:  # a kernel slid over every position is reused too
        if mname in inside and colour[k] == theme.PLAIN_TENSOR:
            colour[k] = theme.REUSED
    x_port = max(label_end, default=0) + 16
    n_lanes = min(len(lanes), 16)
    x_tensor = x_port + 20 + n_lanes * LANE
    return _Layout(rows, anchors, row_of, depth, label_end, place, more, lanes, colour, x_port, x_tensor)


def _y(row: int) -> float:
    return -row * ROW


def make_sharing_graph_figure(
    graph: SharingGraph, *, highlight: int | str | None = None, title: str | None = None
) -> go.Figure:
    """Draw ``graph``: modules top to bottom, each tensor once beside its holders.

    Args:
        graph: a :class:`~paramshare_viz.graph.SharingGraph`.
        highlight: a tensor index (its holders light up) or a module node name
            (its tensors light up); everything else is dimmed.
        title: figure title (default: the model type and its counts).

    Shared tensors are coloured by group and joined to every holder; tensors of
    modules that run more than once are teal and their modules say ``runs N×``;
    folded runs of identical modules say ``×N``.
    """
    lay = layout_graph(graph)
    tensor_by_index = {t.index: t for t in graph.tensors}
    holder_names: dict[int, list[str]] = {}
    for mname, k in graph.edges:
        holder_names.setdefault(k, []).append(mname)

    lit_tensors: set[int] = set()
    lit_rows: set[int] = set()
    if isinstance(highlight, int) and highlight in tensor_by_index:
        lit_tensors = {highlight}
        lit_rows = {lay.row_of[m] for m in [*holder_names.get(highlight, []), *graph.borrowers(highlight)]
                    if m in lay.row_of}  # holders and borrowers
    elif isinstance(highlight, str) and highlight in lay.row_of:
        lit_rows = {lay.row_of[highlight]}
        lit_tensors = {k for mname, k in [*graph.edges, *graph.borrows] if mname == highlight}
    dim = bool(lit_tensors or lit_rows)

    traces: dict[str, dict[str, Any]] = {}

    def lines(name: str, colour: str, width: float, dash: str = "solid") -> dict[str, Any]:
        return dict(type="scatter", mode="lines", x=[], y=[], hoverinfo="skip", showlegend=False,
                    line=dict(color=colour, width=width, dash=dash), name=name)

    guides = traces["guides"] = lines("guides", theme.GUIDE, 1, "dot")
    tree = traces["tree"] = lines("tree", theme.TREE, 1)
    plain = traces["edges"] = lines("edges", theme.PLAIN_EDGE, 1.5)
    inrow = traces["inrow"] = lines("inrow", theme.SHARED_IN_ROW, 2.5)
    group_traces = []
    for i, c in enumerate(theme.GROUP_COLOURS):
        group_traces.append(lines(f"group{i}", c, 2.5))
        traces[f"group{i}"] = group_traces[-1]
    reuse = traces["reuse"] = lines("reuse", theme.REUSED, 2.5)
    borrow = traces["borrow"] = lines("borrow", theme.BORROWED, 2, "dash")
    lit = traces["highlight"] = lines("highlight", theme.HIGHLIGHT, 3.5)

    # Tree: elbow from each drawn parent down to its drawn children.
    x_of = [lay.depth[m.name] * INDENT for m in lay.rows]
    for r, m in enumerate(lay.rows):
        if m.parent is None:
            continue
        p = lay.row_of.get(m.parent)
        if p is None or p == r:
            continue
        tree["x"] += [x_of[p], x_of[p], x_of[r], None]
        tree["y"] += [_y(p), _y(r), _y(r), None]

    # Guides: from each holding row's label to its port.
    holding_rows = {lay.row_of[mname] for mname, _ in [*graph.edges, *graph.borrows] if mname in lay.row_of}
    for r in sorted(holding_rows):
        guides["x"] += [lay.label_end[r] + 4, lay.x_port, None]
        guides["y"] += [_y(r), _y(r), None]

    def tensor_xy(t: int) -> tuple[float, float]:
        r, slot = lay.place[t]
        return lay.x_tensor + slot * SLOT, _y(r)

    colour_trace = {c: tr for c, tr in zip(theme.GROUP_COLOURS, group_traces, strict=True)}
    kind_trace = {theme.SHARED_IN_ROW: inrow, theme.REUSED: reuse, theme.PLAIN_TENSOR: plain}
    for t, names in holder_names.items():
        if t not in lay.place:
            continue
        tx, ty = tensor_xy(t)
        target = lit if t in lit_tensors else colour_trace.get(lay.colour[t]) or kind_trace[lay.colour[t]]
        if t in lay.lanes:
            rows = sorted({lay.row_of[m] for m in names if m in lay.row_of})
            lx = lay.x_port + 14 + (lay.lanes[t] % 16) * LANE
            target["x"] += [lx, lx, None, lx, tx, None]
            target["y"] += [_y(rows[0]), _y(rows[-1]), None, ty, ty, None]
            for r in rows:
                target["x"] += [lay.x_port, lx, None]
                target["y"] += [_y(r), _y(r), None]
        elif lay.place[t][1] == 0 or t in lit_tensors:  # one line per row, to its first tensor
            target["x"] += [lay.x_port, lay.x_tensor, None]
            target["y"] += [ty, ty, None]

    for mname, t in graph.borrows:  # dashed, from the borrower's label straight to the tensor
        if t in lay.place and mname in lay.row_of:
            tx, ty = tensor_xy(t)
            r = lay.row_of[mname]
            target = lit if t in lit_tensors and r in lit_rows else borrow
            target["x"] += [lay.label_end[r] + 4, tx - 7, None]
            target["y"] += [_y(r), ty, None]

    # Module markers and labels.
    n_held = {m.name: 0 for m in lay.rows}
    for mname, _ in graph.edges:
        if mname in n_held:
            n_held[mname] += 1
    mod_text, mod_hover, mod_size, mod_colour, mod_opacity, mod_line = [], [], [], [], [], []
    for r, m in enumerate(lay.rows):
        parent = lay.anchors[r]
        label = module_label(m, None if parent is None else parent.name)
        text = _module_text(m, label, parent)
        on = r in lit_rows
        mod_text.append(f"<b>{text}</b>" if on else text)
        mod_hover.append(module_hover(m, n_held[m.name]))
        mod_size.append(13 if on else (11 if m.copies > 1 else 8))
        mod_colour.append(theme.HIGHLIGHT if on else (theme.REUSED if (m.runs or 0) > 1 else theme.MODULE))
        mod_opacity.append(1.0 if on or not dim else 0.35)
        mod_line.append(2 if m.copies > 1 else 0)
    traces["modules"] = dict(
        type="scatter", mode="markers+text", name="modules", showlegend=False,
        x=x_of, y=[_y(r) for r in range(len(lay.rows))], text=mod_text, textposition="middle right",
        hovertext=mod_hover, hoverinfo="text", customdata=[m.name for m in lay.rows],
        marker=dict(size=mod_size, color=mod_colour, opacity=mod_opacity, symbol=[
            "diamond" if m.copies > 1 else "circle" for m in lay.rows],
            line=dict(width=mod_line, color="white")),
        textfont=dict(size=12, color=theme.TEXT),
    )

    ts = [tensor_by_index[t] for t in lay.place]
    xy = [tensor_xy(t.index) for t in ts]
    traces["tensors"] = dict(
        type="scatter", mode="markers+text", name="tensors", showlegend=False,
        x=[x for x, _ in xy], y=[y for _, y in xy], text=[_tensor_text(t, t.index in lay.lanes) for t in ts], textposition="middle right",
        hovertext=[tensor_hover(t, holder_names.get(t.index, []), graph.borrowers(t.index)) for t in ts],
        hoverinfo="text",
        customdata=[t.index for t in ts],
        marker=dict(
            symbol="square",
            size=[18 if t.index in lit_tensors else 10 if lay.colour[t.index] == theme.PLAIN_TENSOR else 13
                  for t in ts],
            color=[lay.colour[t.index] for t in ts],
            opacity=[1.0 if not dim or t.index in lit_tensors else 0.3 for t in ts],
            line=dict(width=[3 if t.index in lit_tensors else 1 for t in ts],
                      color=[theme.HIGHLIGHT if t.index in lit_tensors else theme.TENSOR_EDGE for t in ts]),
        ),
        textfont=dict(size=11, color=theme.TEXT),
    )
    more_rows = sorted(lay.more)
    traces["more"] = dict(
        type="scatter", mode="text", name="more", showlegend=False, hoverinfo="skip",
        x=[lay.x_tensor + MAX_SLOTS * SLOT for _ in more_rows], y=[_y(r) for r in more_rows],
        text=[f"+{lay.more[r]} more" for r in more_rows], textposition="middle right",
        textfont=dict(size=11, color=theme.MUTED),
    )

    def legend(name: str, text: str, symbol: str, colour: str, size: int) -> dict[str, Any]:
        return dict(type="scatter", mode="markers", x=[None], y=[None], name=text, showlegend=True,
                    marker=dict(symbol=symbol, color=colour, size=size, line=dict(width=1, color=theme.TENSOR_EDGE)))

    legend_items = [
        ("legend_module", "module", "circle", theme.MODULE, 9),
        ("legend_folded", "identical modules folded into one row (×N)", "diamond", theme.MODULE, 11),
        ("legend_plain", "tensor held by one module", "square", theme.PLAIN_TENSOR, 10),
        ("legend_group", "one tensor held by every module joined to it", "square", theme.GROUP_COLOURS[0], 13),
        ("legend_inrow", "one tensor under all the names folded into its row", "square", theme.SHARED_IN_ROW, 13),
        ("legend_reuse", "tensor reused in each forward (its module runs N×, or slides it)", "square",
         theme.REUSED, 13),
        ("legend_borrow", "dashed: a module reading a tensor it does not hold", "line-ew", theme.BORROWED, 13),
    ]
    present = {theme.MODULE: True, "folded": any(m.copies > 1 for m in lay.rows)}
    used = {lay.colour[t] for t in lay.place}
    for key, text, symbol, colour, size in legend_items:
        traces[key] = legend(key, text, symbol, colour, size)
        if key == "legend_folded":
            traces[key]["showlegend"] = present["folded"]
        elif key == "legend_group":
            traces[key]["showlegend"] = any(c in used for c in theme.GROUP_COLOURS)
        elif key == "legend_borrow":
            traces[key]["showlegend"] = bool(graph.borrows)
            traces[key]["marker"]["line"] = dict(width=2, color=theme.BORROWED)
        elif key != "legend_module":
            traces[key]["showlegend"] = colour in used

    n_rows = max(len(lay.rows), 1)
    width = lay.x_tensor + MAX_SLOTS * SLOT + (80 if lay.more else 0)
    used_slots = max((s for _, s in lay.place.values()), default=0) + 1
    width = min(width, lay.x_tensor + used_slots * SLOT + (80 if lay.more else 0))
    width = max(width, 720)  # room for the caption and the legend
    text = wrap_title(title or default_title(graph), int(width / TITLE_CHAR))
    top = TOP + TITLE_LINE * text.count("<br>")  # a wrapped title pushes the caption and rows down
    height = top + n_rows * ROW + 40
    layout = dict(
        title=dict(text=text, x=0.01, xanchor="left",
                   y=1, yref="container", yanchor="top", pad=dict(t=TOOLBAR), font=dict(size=15)),
        annotations=[dict(text=CAPTION, xref="paper", yref="paper", x=0, y=1, xanchor="left", yanchor="top",
                          yshift=TOP - 60, showarrow=False, align="left")],
        width=int(width + 40), height=int(height), margin=dict(l=20, r=20, t=top, b=20),
        xaxis=dict(visible=False, range=[-12, width], fixedrange=True),
        yaxis=dict(visible=False, range=[_y(n_rows - 1) - ROW, ROW], fixedrange=True),
        legend=dict(orientation="h", x=0, xanchor="left", y=1 + 6 / (height - top - 20), yanchor="bottom",
                    font=dict(size=11)),
        hoverlabel=dict(font=dict(size=12), align="left"), clickmode="event", dragmode=False,
        meta=dict(psv="sharing-graph"),
    )
    return theme.quick_figure([traces[name] for name in TRACES], layout)


CAPTION = (
    '<span style="font-size:12px;color:#4b5563">Rows are modules, indented inside their parent. '
    "Squares are tensors in memory, each drawn once;<br>a square joined to several modules is "
    "<b>one</b> tensor they all use. Hover for names, shapes and bytes.</span>"
)


def wrap_title(title: str, chars: int) -> str:
    """``title`` broken into lines of at most ``chars`` visible characters at its `` · `` and ``; ``
    breaks (plotly never wraps a title: a long one runs off the figure)."""
    pieces = re.split(r"(?<= · )|(?<=; )", title)
    lines = [""]
    for piece in pieces:
        if lines[-1] and len(re.sub(r"<[^>]+>", "", lines[-1] + piece).rstrip()) > chars:
            lines[-1] = lines[-1].rstrip()
            lines.append("")
        lines[-1] += piece
    return "<br>".join(lines)


def default_title(graph: SharingGraph, *, inside: bool = True) -> str:
    """What the graph shows, in one line; ``inside=False`` leaves out reuse inside a call (said elsewhere)."""
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
    what = "; ".join(parts) or "no tensor under two names, none reused across calls"
    return f"<b>{html.escape(graph.model_type)}</b>: {what}"


#: Modules whose one forward call reuses the same weights many times (invisible in names and calls).
_CONV = {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"}
_RECURRENT = {"RNN", "LSTM", "GRU"}


def inside_call_note(m: ModuleNode) -> str:
    """``"one kernel at every position"`` for convolutions, ``"one cell at every step"`` for RNNs."""
    if m.type in _CONV:
        return "one kernel at every position"
    if m.type in _RECURRENT:
        return "same weights at every step"
    return ""


def unnamed_sharing_html(graph: SharingGraph) -> str:
    """Sharing the drawing cannot show, under it: grouped-query attention's head map (which query
    heads read each K/V head) and the trainable / frozen split of the parameters; ``""`` if neither."""
    parts = []
    for hm in graph.head_maps:
        where = ", ".join(hm.modules[:2]) or "(model)"
        where += f" and {len(hm.modules) - 2} more" if len(hm.modules) > 2 else ""
        rows = "".join(
            f"<tr><td>{k}</td><td>{', '.join(map(str, readers))}</td></tr>"
            for k, readers in enumerate(hm.readers[:16])
        )
        more = f"<tr><td colspan='2'>… and {hm.kv_heads - 16} more K/V heads</td></tr>" if hm.kv_heads > 16 else ""
        parts.append(
            f"<div style='font-size:13px;margin:6px 0 2px'><b>Head map</b> of <code>{html.escape(where)}</code>: "
            f"{hm.num_heads} query heads read {hm.kv_heads} K/V head{'s' if hm.kv_heads > 1 else ''}, "
            f"{hm.num_heads // hm.kv_heads} each: one K/V weight slice serves every query head of its group, "
            "inside each call (no name or call count shows it).</div>"
            "<table class='psv-head-map' style='font-size:12px;border-collapse:collapse'>"
            "<tr><th style='text-align:left;padding:1px 10px 1px 0'>K/V head</th>"
            "<th style='text-align:left'>query heads that read it</th></tr>"
            + rows.replace("<td>", "<td style='padding:1px 10px 1px 0'>") + more + "</table>"
        )
    if graph.frozen_params:
        total = graph.frozen_params + graph.trainable_params
        parts.append(
            "<div class='psv-trainable' style='font-size:13px;margin:6px 0 2px'>"
            f"<b>Trainable {graph.trainable_params:,}</b> · <b>frozen {graph.frozen_params:,}</b> "
            f"(requires_grad=False) of {total:,} unique parameters: training updates, and keeps optimizer "
            "state for, the trainable ones only; the frozen ones are still read in every forward.</div>"
        )
    return "".join(parts)


def update_sharing_graph_figure(target: go.Figure, source: go.Figure) -> None:
    """Copy ``source`` into ``target`` trace by trace (call inside ``target.batch_update()``)."""
    for old, new in zip(target.data, source.data, strict=True):
        old.update(new.to_plotly_json(), overwrite=True)
    layout = source.layout
    target.update_layout(
        title=layout.title, width=layout.width, height=layout.height, margin=layout.margin,
        xaxis=layout.xaxis, yaxis=layout.yaxis, legend=layout.legend, annotations=layout.annotations,
    )
