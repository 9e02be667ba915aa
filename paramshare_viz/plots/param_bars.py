"""Parameter counts as plain HTML bars: a shared model, its twin, and reference points.

Pure HTML and CSS (no plotly), so the bars cost nothing at page load. The
scale follows the spread: linear while the largest count is at most
:data:`LOG_SPREAD` times the smallest (so a 3x difference looks 3x), log
beyond (so 156 and 122,304 both stay visible); every bar also states its
ratio to the first bar, which a log scale alone would hide.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

#: Largest max/min count ratio still drawn on a linear scale.
LOG_SPREAD = 100


@dataclass(frozen=True)
class Bar:
    key: str  # stable id: "shared", "unshared", "dense" (data-key="...")
    label: str
    count: int
    colour: str


def bar_scale(counts: list[int]) -> str:
    """``"linear"`` when ``max(counts) <= LOG_SPREAD * min(counts)``, else ``"log"``."""
    low, high = max(min(counts), 1), max(counts)
    return "linear" if high <= LOG_SPREAD * low else "log"


def bar_widths(counts: list[int], scale: str) -> list[float]:
    """Bar lengths in percent of the track: ``count / max`` (linear) or
    ``log10(count) / log10(max)``, measured from 1 parameter (log)."""
    high = max(max(counts), 1)
    if scale == "linear":
        return [100 * c / high for c in counts]
    top = math.log10(high)
    if top == 0:  # every count is 0 or 1
        return [100.0 * c for c in counts]
    return [100 * math.log10(max(c, 1)) / top for c in counts]


def times(ratio: float) -> str:
    """``1,024×`` for large ratios, ``2.5×`` for small ones."""
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:,.1f}×"


# JupyterLab's theme variables (with light fallbacks) keep the bars readable in Voila's dark theme.
STYLE = """
<style>
.psv-bars{margin:8px 0 6px;max-width:980px;color:var(--jp-ui-font-color0,#111827)}
.psv-bars-title{font-size:13px;font-weight:600;margin-bottom:6px}
.psv-bars-scale{font-weight:400;color:var(--jp-ui-font-color2,#6b7280)}
.psv-bar-row{display:grid;grid-template-columns:170px 1fr 130px 70px;gap:10px;align-items:center;margin:3px 0}
.psv-bar-label{font-size:13px;text-align:right;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.psv-bar-track{position:relative;height:22px;border-radius:4px;background:var(--jp-layout-color2,#f3f4f6)}
.psv-bar-fill{position:absolute;left:0;top:0;bottom:0;min-width:2px;border-radius:4px}
.psv-bar-grid{position:absolute;top:0;bottom:0;width:1px;background:var(--jp-border-color1,#d1d5db);opacity:.7}
.psv-bar-value{font-size:13px;font-variant-numeric:tabular-nums;text-align:right}
.psv-bar-ratio{font-size:13px;font-weight:600;font-variant-numeric:tabular-nums}
</style>
"""


def param_bars_html(bars: list[Bar], *, title: str = "Unique parameters") -> str:
    """One row per bar: label, bar, count and ratio to the first bar.

    The container carries ``data-scale`` (``linear`` or ``log``); each row
    ``data-key`` and ``data-count``; the count is in ``.psv-bar-value`` and
    the ratio in ``.psv-bar-ratio``. On the log scale a grid line marks every
    power of ten.
    """
    counts = [b.count for b in bars]
    scale = bar_scale(counts)
    widths = bar_widths(counts, scale)
    reference = bars[0]
    if scale == "linear":
        note = f"linear scale · × = ratio to {reference.label}"
        grid = ""
    else:
        note = f"log scale, a grid line per 10× · × = ratio to {reference.label}"
        decades = int(math.log10(max(counts)))
        grid = "".join(
            f'<div class="psv-bar-grid" style="left:{100 * k / math.log10(max(counts)):.2f}%"></div>'
            for k in range(1, decades + 1)
        )
    rows = []
    for bar, width in zip(bars, widths, strict=True):
        ratio = times(bar.count / max(reference.count, 1))
        rows.append(
            f'<div class="psv-bar-row" data-key="{html.escape(bar.key)}" data-count="{bar.count}">'
            f'<div class="psv-bar-label" title="{html.escape(bar.label)}">{html.escape(bar.label)}</div>'
            f'<div class="psv-bar-track">{grid}<div class="psv-bar-fill" data-width="{width:.2f}" '
            f'style="width:{width:.2f}%;background:{bar.colour}"></div></div>'
            f'<div class="psv-bar-value">{bar.count:,}</div>'
            f'<div class="psv-bar-ratio">{ratio}</div></div>'
        )
    return (
        STYLE
        + f'<div class="psv-bars" data-scale="{scale}">'
        + f'<div class="psv-bars-title">{html.escape(title)} <span class="psv-bars-scale">({html.escape(note)})</span></div>'
        + "".join(rows)
        + "</div>"
    )
