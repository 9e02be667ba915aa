"""The sharing graph as one SVG document, computed in Python from the front end's payload.

:func:`graph_svg` writes the document that the page's "Save SVG" button writes (``toSVG`` in
``app/static/graph.js``) for the page's first view: every row as drawn (folded runs stay folded, no
row hidden by scrolling), nothing lit, the side the payload is. The layout is a port of graph.js's
``buildView`` (same constants, same order of arithmetic, numbers printed as JavaScript prints them);
keep the two in step: ``tests/test_browser_graph.py`` compares them byte for byte in Chromium.

One input cannot be ported: the page measures a row's text on a canvas in whatever font the browser
resolves. Here a row's text is measured with Helvetica's advance widths (Adobe's AFM metrics, which
Arial and Liberation Sans share): the usual face behind the ``sans-serif`` that the SVG names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

ROW = 24  # px per row
INDENT = 16  # px per depth level
SLOT = 215  # px per tensor slot
MAX_SLOTS = 4  # tensors drawn per row before "+N more"
LANE = 12  # px between lanes
LANE_SPAN = 288  # px all lanes together take at most
TOP = 40  # px above the rows for the title
FONT_SIZE = 12  # px, the page's and the SVG's
SVGNS = "http://www.w3.org/2000/svg"

#: Helvetica advance widths (1/1000 em) of " " through "~" (Adobe's AFM; U+0027 is quotesingle).
_ASCII_WIDTHS = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
)  # fmt: skip
#: Character -> advance width in 1/1000 em: ASCII and the few other characters rows say.
CHAR_WIDTHS: dict[str, int] = {
    **{chr(32 + i): w for i, w in enumerate(_ASCII_WIDTHS)},
    "×": 584, "…": 1000, "·": 278, "–": 556, "—": 1000,
}
#: Any other character counts one em, so that an unknown glyph never runs into the lines.
DEFAULT_WIDTH = 1000


def text_width(text: str) -> float:
    """Width in px of ``text`` at 12 px in Helvetica's metrics (no kerning)."""
    units = sum(CHAR_WIDTHS.get(c, DEFAULT_WIDTH) for c in text)
    return units * FONT_SIZE / 1000


def graph_svg(payload: dict[str, Any]) -> str:
    """The whole sharing graph of ``payload`` as one SVG document (every row, nothing lit).

    Args:
        payload: :func:`paramshare_viz.graph_page.graph_payload` of a graph (JSON-ready dict).

    Returns:
        The SVG markup, as graph.js's ``toSVG`` writes it for the page's first view.
    """
    return _to_svg(_build_view(payload))


@dataclass
class _Row:
    name: str
    type: str
    depth: int
    parent: _Row | None
    copies: int
    objects: int
    calls: int | None
    runs: int | None
    note: str
    fold: list[int] | None
    holds: list[str]
    borrows: list[str]
    index: int
    label: str = ""
    copies_badge: str = ""
    runs_badge: str = ""
    x: int = 0
    end: float = 0.0
    more: int = 0


@dataclass
class _Place:
    row: int
    slot: int
    hidden: bool


@dataclass
class _View:
    payload: dict[str, Any]
    rows: list[_Row]
    tensors: dict[str, dict[str, Any]]
    holders: dict[str, list[int]] = field(default_factory=dict)
    borrowers: dict[str, list[int]] = field(default_factory=dict)
    place: dict[str, _Place] = field(default_factory=dict)
    per_row: list[list[str]] = field(default_factory=list)
    lanes: dict[str, int] = field(default_factory=dict)
    gap: float = 0
    x_port: float = 0
    x_tensor: float = 0
    width: float = 0
    height: int = 0


def _js_round(x: float) -> int:
    """JavaScript's ``Math.round``: halves go up (Python's ``round`` sends them to even)."""
    f = math.floor(x)
    return f + 1 if x - f >= 0.5 else f


def _num(x: float) -> str:
    """``x`` as JavaScript writes a number into a string: ``5`` for 5.0; else the shortest digits that
    read back as ``x`` (the same digits in both languages; coordinates here never need an exponent)."""
    return str(int(x)) if x == int(x) else repr(x)


def _esc(s: object) -> str:
    """graph.js's ``esc``: ``& < > " '`` as numeric character references."""
    return "".join(f"&#{ord(c)};" if c in "&<>\"'" else c for c in str(s))


def _build_view(P: dict[str, Any]) -> _View:
    """graph.js's ``buildView(P, unfolded = {}, expanded = {}, measure)``: the rows and tensors on show."""
    children: list[list[int]] = [[] for _ in P["rows"]]
    for i, r in enumerate(P["rows"]):
        if r["parent"] >= 0:
            children[r["parent"]].append(i)
    rows: list[_Row] = []
    tensors: dict[str, dict[str, Any]] = {}  # key (the label) -> tensor on show, first wins

    def keys(ks: list[int]) -> list[str]:
        out = []
        for k in ks:
            T = P["tensors"][k]
            tensors.setdefault(T["label"], T)
            out.append(T["label"])
        return out

    def visit(i: int, depth: int, parent: _Row | None) -> None:
        t = P["rows"][i]
        objects = max(1, _js_round(t["objects"]))
        calls = None if t["calls"] is None else _js_round(t["calls"] * objects / t["objects"])
        holds, borrows = keys(t["holds"]), keys(t["borrows"])
        row = _Row(name=t["name"], type=t["type"], depth=depth, parent=parent, copies=t["copies"],
                   objects=objects, calls=calls, runs=None if calls is None else _js_round(calls / objects),
                   note=t["note"], fold=t["fold"], holds=holds, borrows=borrows, index=len(rows))
        rows.append(row)
        for c in children[i]:
            visit(c, depth + 1, row)

    if P["rows"]:
        visit(0, 0, None)
    view = _View(P, rows, tensors, per_row=[[] for _ in rows])

    # Each tensor once, on its first holder's row; a lane when other rows hold it too.
    for r in rows:
        for k in r.holds:
            hs = view.holders.setdefault(k, [])
            if not hs or hs[-1] != r.index:
                hs.append(r.index)
        for k in r.borrows:
            view.borrowers.setdefault(k, []).append(r.index)
    for k, hs in view.holders.items():
        if len(hs) > 1:
            view.lanes[k] = len(view.lanes)
        view.per_row[hs[0]].append(k)
    for k, bs in view.borrowers.items():
        if k not in view.holders:
            view.holders[k] = []
            view.per_row[bs[0]].append(k)
    slots_used, more = 0, False
    for r, ks in enumerate(view.per_row):
        ks.sort(key=lambda k: k not in view.lanes)  # lanes first, else in order (a stable sort, as JS)
        for slot, k in enumerate(ks):
            view.place[k] = _Place(r, min(slot, MAX_SLOTS), slot >= MAX_SLOTS)
        rows[r].more = max(0, len(ks) - MAX_SLOTS)
        more = more or rows[r].more > 0
        slots_used = max(slots_used, min(len(ks), MAX_SLOTS))
    # Horizontal layout: labels, then the ports, then the lanes, then the tensors.
    label_max: float = 0
    for r in rows:
        above = r.parent
        r.label = (r.name or "(model)") if above is None else r.name[len(above.name) + 1 if above.name else 0 :]
        r.copies_badge, r.runs_badge = _badges(r)
        text = "  ".join(s for s in (r.label, r.copies_badge, r.type, r.runs_badge, r.note) if s)
        r.x = r.depth * INDENT
        r.end = r.x + 14 + text_width(text) + (26 if r.fold else 0)
        label_max = max(label_max, r.end)
    view.x_port = label_max + 14
    view.gap = min(LANE, LANE_SPAN / len(view.lanes)) if view.lanes else 0
    view.x_tensor = view.x_port + 18 + len(view.lanes) * view.gap
    view.width = view.x_tensor + max(slots_used, 1) * SLOT + (90 if more else 0)
    view.height = len(rows) * ROW + 8
    return view


def _badges(r: _Row) -> tuple[str, str]:
    """graph.js's ``badges``: ``×12`` / ``1 module under 12 names``, ``runs 5×``; blank where the parent
    row already says it."""
    p = r.parent
    copies = runs = ""
    if r.copies > 1 and not (p is not None and p.copies == r.copies and p.objects == r.objects):
        if r.objects == 1:
            copies = f"1 module under {r.copies} names"
        elif r.objects == r.copies:
            copies = f"×{r.copies}"
        else:
            copies = f"×{r.copies} ({r.objects} modules)"
    if (r.runs or 0) > 1 and not (p is not None and p.runs == r.runs):
        runs = f"runs {r.runs}×"
    return copies, runs


def _colour(view: _View, k: str) -> str:
    t, pal = view.tensors[k], view.payload["palette"]
    if t["kind"] == "group":
        return pal["groups"][view.lanes[k] % len(pal["groups"])] if k in view.lanes else pal["in_row"]
    if t["kind"] in ("borrowed", "reused"):
        return pal["reused"]
    return pal["plain"]


def _row_y(r: int) -> int:
    return r * ROW + ROW // 2


def _lane_x(view: _View, k: str) -> float:
    return view.x_port + 10 + view.lanes[k] * view.gap


def _tensor_x(view: _View, k: str) -> float:
    p = view.place[k]
    return view.x_tensor + MAX_SLOTS * SLOT + 4 if p.hidden else view.x_tensor + p.slot * SLOT


def _lines(view: _View) -> str:
    """graph.js's ``linesSVG`` over every row, nothing lit: tree elbows, ports, lanes, borrows."""
    out = []

    def line(x1: float, y1: float, x2: float, y2: float, cls: str, colour: str | None = None) -> None:
        stroke = f' stroke="{colour}"' if colour else ""
        out.append(f'<path class="{cls}" d="M{_num(x1)} {_num(y1)}L{_num(x2)} {_num(y2)}"{stroke}/>')

    for r, row in enumerate(view.rows):
        y = _row_y(r)
        if row.parent is not None:
            px = row.parent.x + 5
            out.append(f'<path class="psv-tree" d="M{px} {_row_y(row.parent.index)}V{y}H{row.x + 1}"/>')
        if view.per_row[r] or row.borrows:
            line(row.end + 4, y, view.x_port, y, "psv-guide")
        first = view.per_row[r][0] if view.per_row[r] else None
        if first is not None and first not in view.lanes:
            line(view.x_port, y, _tensor_x(view, first) - 2, y, "psv-edge")
    for k in view.lanes:
        hs = view.holders[k]
        x, colour = _lane_x(view, k), _colour(view, k)
        line(x, _row_y(hs[0]), x, _row_y(hs[-1]), "psv-lane", colour)
        for r in hs:
            line(view.x_port, _row_y(r), x, _row_y(r), "psv-lane", colour)
        p = view.place[k]
        line(x, _row_y(p.row), _tensor_x(view, k) - 2, _row_y(p.row), "psv-lane", colour)
    for k, bs in view.borrowers.items():
        p = view.place[k]
        for r in bs:
            line(view.rows[r].end + 4, _row_y(r), _tensor_x(view, k) - 4, _row_y(p.row), "psv-borrow")
    return "".join(out)


def _shape_text(shape: list[int]) -> str:
    return "×".join(str(n) for n in shape) if shape else "scalar"


def _js_len(s: str) -> int:
    """A JavaScript string's length: UTF-16 code units (a character beyond U+FFFF counts two)."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def _chip_text(t: dict[str, Any], lane: bool) -> str:
    """graph.js's ``chipText``: the tensor's last name part and shape, cut at 22 characters."""
    text = f"{t['label'].split('.')[-1]} {_shape_text(t['shape'])}"
    if _js_len(text) > 22:
        text = text.encode("utf-16-le", "surrogatepass")[: 2 * 21].decode("utf-16-le", "replace") + "…"
    if t["copies"] > 1:
        text += f" ×{t['copies']}"
    if t["kind"] == "group" and lane:
        text += f" · {len(t['names'])} names"
    return text


def _to_svg(view: _View) -> str:
    """graph.js's ``toSVG``: the whole graph (every row) as one SVG document."""
    P, pal = view.payload, view.payload["palette"]
    w, h = math.ceil(view.width + 20), math.ceil(view.height + TOP + 10)
    parts = [
        f'<svg xmlns="{SVGNS}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">',
        "<style>path{fill:none;stroke-width:1.5}.psv-tree{stroke:#d1d5db}.psv-guide{stroke:#e5e7eb;stroke-dasharray:2 3}"
        f".psv-edge{{stroke:#9ca3af}}.psv-lane{{stroke-width:2.5}}.psv-borrow{{stroke:{pal['borrowed']};stroke-dasharray:5 4}}"
        ".psv-lit{stroke:#111827;stroke-width:3}</style>",
        f'<text x="10" y="20" font-size="14"><tspan font-weight="bold">{_esc(P["model_type"])}</tspan>: '
        f"{_esc(P['summary'])}</text>",
        f'<g transform="translate(10 {TOP})">',
        _lines(view),
    ]
    for r in view.rows:
        y = _row_y(r.index)
        fill = pal["reused"] if (r.runs or 0) > 1 else pal["module"]
        copies = f' <tspan font-weight="bold">{_esc(r.copies_badge)}</tspan>' if r.copies_badge else ""
        runs = f' <tspan fill="{pal["reused"]}">{_esc(r.runs_badge)}</tspan>' if r.runs_badge else ""
        parts += [f'<circle cx="{r.x + 5}" cy="{y}" r="4" fill="{fill}"/>',
                  f'<text x="{r.x + 14}" y="{y + 4}">{_esc(r.label)}{copies} <tspan fill="#6b7280">{_esc(r.type)}</tspan>'
                  f"{runs}</text>"]
        if r.more:
            parts.append(f'<text x="{_num(view.x_tensor + MAX_SLOTS * SLOT + 4)}" y="{y + 4}" fill="#6b7280">'
                         f"+{r.more} more</text>")
    for k, p in view.place.items():
        if p.hidden:
            continue
        x, y = _tensor_x(view, k), _row_y(p.row)
        parts += [f'<rect x="{_num(x)}" y="{y - 6}" width="12" height="12" rx="2" fill="{_colour(view, k)}" stroke="#6b7280"/>',
                  f'<text x="{_num(x + 17)}" y="{y + 4}">{_esc(_chip_text(view.tensors[k], k in view.lanes))}</text>']
    parts.append("</g></svg>")
    return "".join(parts)
