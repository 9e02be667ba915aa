"""Small charts as inline SVG in HTML: heatmaps with a colour legend, laid side by side under a title.

Pure functions returning strings (well-formed XML, so tests can parse them), shown in an
``ipywidgets.HTML``: no plotly.js in the page. Every cell says what it is in an SVG
``<title>`` (the browser's hover text); a map with more than :data:`HOVER_CELLS` cells is
drawn as one pixel image instead (thousands of titled cells would make the page slow),
and its title says so.
"""

from __future__ import annotations

import base64
import functools
import html
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.colors

from paramshare_viz.plots import theme

#: Above this many cells (40x40) a map is one image with a single hover text: a titled cell is ~95 bytes,
#: so three 64x64 maps would send 1.2 MB per change, the image a few kB.
HOVER_CELLS = 1600
GAP = "#e5e7eb"  # cells with no value (NaN): the border not compared, inserted zeros
CELL_MAX, CELL_MIN = 28, 2  # px per cell
TEXT_MIN_CELL = 20  # px: below this a cell's number would not fit

Grid = Sequence[Sequence[float]]

# JupyterLab's theme variables (with light fallbacks) keep the text readable in Voila's dark theme.
STYLE = """<style>
.psv-chart{margin:6px 0 10px;color:var(--jp-ui-font-color0,#111827);font-family:system-ui,sans-serif;overflow-x:auto}
.psv-chart-title{font-size:13px;margin-bottom:2px}
.psv-chart-note{font-size:11px;color:var(--jp-ui-font-color2,#6b7280);margin-bottom:4px}
.psv-chart-panels{display:flex;gap:28px;align-items:flex-start}
.psv-hm-title{font-size:12px;margin:4px 0 2px}
.psv-chart svg text{fill:var(--jp-ui-font-color1,#374151);font-size:10px}
.psv-legend{display:flex;white-space:nowrap;align-items:center;gap:6px;font-size:11px;margin-top:2px;color:var(--jp-ui-font-color2,#6b7280)}
.psv-legend-bar{width:100px;height:10px;border:1px solid var(--jp-border-color1,#d1d5db)}
</style>"""


@dataclass(frozen=True)
class Scale:
    """A colour scale: a plotly named scale (``"RdBu_r"``, ``"Oranges"``) over ``[low, high]``."""

    name: str
    low: float
    high: float
    label: str  # what the colour shows, in the legend


@functools.cache
def _table(name: str) -> tuple[str, ...]:
    """256 colours of the named plotly scale, as ``#rrggbb``."""
    scale = plotly.colors.get_colorscale(name)
    rgb = plotly.colors.sample_colorscale(scale, [k / 255 for k in range(256)], colortype="tuple")
    return tuple("#" + "".join(f"{round(c * 255):02x}" for c in t) for t in rgb)


def colour(scale: Scale, value: float) -> str:
    """The colour of ``value`` on ``scale`` (clamped to its range); :data:`GAP` for NaN."""
    if math.isnan(value):
        return GAP
    span = scale.high - scale.low
    t = 0.5 if span <= 0 else min(max((value - scale.low) / span, 0.0), 1.0)
    return _table(scale.name)[round(t * 255)]


def _dark(hex_colour: str) -> bool:
    r, g, b = (int(hex_colour[k : k + 2], 16) for k in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b < 140


def _png(colours: list[list[str]]) -> str:
    """An RGB PNG, one pixel per cell, as a data URI (no image library needed)."""
    raw = b"".join(b"\0" + b"".join(bytes.fromhex(c[1:]) for c in row) for row in colours)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    head = struct.pack(">IIBBBBB", len(colours[0]), len(colours), 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _tick_step(cell: float) -> int:
    """Label every cell while cells are wide, else every 2, 5, 10, ... so labels stay 16 px apart."""
    return next(s for s in (1, 2, 5, 10, 20, 50, 100) if s * cell >= 16)


def legend(scale: Scale, digits: str = ".3g") -> str:
    """A colour bar stating the scale's range: ``label  low [bar] high`` (and 0 when it is diverging)."""
    stops = ", ".join(_table(scale.name)[round(k * 255 / 10)] for k in range(11))
    middle = scale.low < 0 < scale.high
    low, high = format(scale.low, digits).replace("-", "−"), format(scale.high, digits).replace("-", "−")
    note = " (white = 0)" if middle else ""
    return (f'<div class="psv-legend" data-low="{scale.low:.6g}" data-high="{scale.high:.6g}">'
            f"<span>{html.escape(scale.label)}</span><span>{low}</span>"
            f'<span class="psv-legend-bar" style="background:linear-gradient(to right, {stops})"></span>'
            f"<span>{high}</span>{html.escape(note)}</div>")


def heatmap(
    grid: Grid, *, title: str, scale: Scale, hover: str, gap: str = "no value", text: str | None = None,
    outline: tuple[int, int] | None = None, x_label: str = "column", y_label: str = "row",
    width: int = 300, height: int = 300, cell_max: int = CELL_MAX, show_legend: bool = True,
) -> str:
    """One map: title, grid of square cells (row 0 at the top), tick numbers, legend.

    Args:
        grid: rows of values; NaN is a gap (grey, hover ``"(r, c) " + gap``).
        hover: the hover text of a cell, a ``str.format`` template over ``r``, ``c``, ``v``.
        text: a template for the number written in each cell (when cells are big enough).
        outline: ``(row, col)`` of a cell to outline.
        width, height: the most pixels the cells may take; ``cell_max`` the most one cell may.
    """
    rows, cols = len(grid), len(grid[0])
    cell = max(CELL_MIN, min(cell_max, width // cols, height // rows))
    left, top, bottom = 26, 4, 30
    w, h = cols * cell, rows * cell
    fills = [[colour(scale, float(v)) for v in row] for row in grid]
    body: list[str] = []
    if rows * cols <= HOVER_CELLS:
        for r, row in enumerate(grid):
            for c, v in enumerate(row):
                v = float(v)
                tip = f"({r}, {c}) {gap}" if math.isnan(v) else hover.format(r=r, c=c, v=v)
                body.append(f'<rect x="{left + c * cell}" y="{top + r * cell}" width="{cell}" height="{cell}" '
                            f'fill="{fills[r][c]}"><title>{html.escape(tip)}</title></rect>')
        if text is not None and cell >= TEXT_MIN_CELL:
            for r, row in enumerate(grid):
                for c, v in enumerate(row):
                    if not math.isnan(float(v)):
                        ink = "#ffffff" if _dark(fills[r][c]) else "#111827"
                        said = text.format(r=r, c=c, v=float(v))
                        size = min(10.0, 1.7 * cell / len(said))  # "-9.54e-06" shrinks to fit its cell
                        body.append(f'<text class="psv-cell-text" x="{left + c * cell + cell / 2}" '
                                    f'y="{top + r * cell + cell / 2 + 3.5}" text-anchor="middle" '
                                    f'style="fill:{ink};font-size:{size:.1f}px;pointer-events:none">'
                                    f'{html.escape(said)}</text>')
    else:
        tip = f"{rows}×{cols} cells: too many to label one by one (hover text up to {HOVER_CELLS} cells)"
        body.append(f'<image x="{left}" y="{top}" width="{w}" height="{h}" preserveAspectRatio="none" '
                    f'style="image-rendering:pixelated" href="{_png(fills)}"><title>{html.escape(tip)}</title></image>')
    if outline is not None:
        r, c = outline
        body.append(f'<rect class="psv-outline" data-r="{r}" data-c="{c}" x="{left + c * cell}" y="{top + r * cell}" '
                    f'width="{cell}" height="{cell}" fill="none" stroke="{theme.ACCENT}" stroke-width="3"/>')
    step = _tick_step(cell)  # square cells: the same step across and down
    for c in range(0, cols, step):
        body.append(f'<text x="{left + c * cell + cell / 2}" y="{top + h + 11}" text-anchor="middle">{c}</text>')
    for r in range(0, rows, step):
        body.append(f'<text x="{left - 4}" y="{top + r * cell + cell / 2 + 3.5}" text-anchor="end">{r}</text>')
    body.append(f'<text x="{left + w / 2}" y="{top + h + 25}" text-anchor="middle">{html.escape(x_label)} →</text>')
    if h >= 6 * len(y_label) + 16:  # a one-row map has no room for it
        body.append(f'<text x="8" y="{top + h / 2}" text-anchor="middle" '
                    f'transform="rotate(-90 8 {top + h / 2})">{html.escape(y_label)} ↓</text>')
    svg = (f'<svg class="psv-hm" data-rows="{rows}" data-cols="{cols}" width="{left + w + 4}" '
           f'height="{top + h + bottom}" xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>')
    return (f'<div class="psv-hm-panel"><div class="psv-hm-title">{html.escape(title)}</div>{svg}'
            f'{legend(scale) if show_legend else ""}</div>')


def chart(title_lines: Sequence[str], panels: Sequence[str], *, note: str = "", css_class: str = "") -> str:
    """Panels side by side under a title (one ``<div>`` per line) and an optional small note."""
    title = "".join(f"<div>{html.escape(line)}</div>" for line in title_lines)
    small = f'<div class="psv-chart-note">{html.escape(note)}</div>' if note else ""
    return (f'<div class="psv-chart {css_class}">{STYLE}<div class="psv-chart-title">{title}</div>{small}'
            f'<div class="psv-chart-panels">{"".join(panels)}</div></div>')
