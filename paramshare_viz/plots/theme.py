"""Colours, fonts and sizes shared by every figure builder (one place to restyle)."""

import functools
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

SHARED = "#2563eb"  # blue: the model that shares
UNSHARED = "#f97316"  # orange: its unshared twin
DENSE = "#9ca3af"  # grey: the dense / third reference point
ACCENT = "#16a34a"  # green: savings, highlights
WARNING = "#dc2626"  # red: broken ties, refusals

FONT = "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
TEMPLATE = "plotly_white"
HEIGHT = 360
MARGIN = dict(l=60, r=20, t=50, b=50)


def base_layout(title: str = "", **extra) -> dict:
    """Layout keywords every figure starts from."""
    return dict(
        title=dict(text=title, x=0.01, xanchor="left"),
        template=TEMPLATE,
        font=dict(family=FONT, size=13),
        height=HEIGHT,
        margin=MARGIN,
        **extra,
    )


@functools.cache
def _template() -> dict:
    return pio.templates[TEMPLATE].to_plotly_json()


def quick_figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """A figure from plain trace and layout dicts (over :func:`base_layout`), built unvalidated.

    plotly validates every property it is given, and expands a named template on
    each figure: 50 ms of a 56 ms sharing graph, which Explore redraws on every
    edit. The builders that use this are validated by their tests instead
    (``go.Figure(fig.to_dict())`` raises on any unknown property or bad value).
    """
    layout = {**base_layout(), **layout, "template": _template()}
    return go.Figure(data=data, layout=layout, _validate=False)

# Sharing graph (graph_page.PALETTE, drawn by app/static/graph.js): one colour per tensor shared across rows, teal for run-time reuse.
GROUP_COLOURS = ["#db2777", "#7c3aed", "#2563eb", "#ea580c", "#16a34a", "#ca8a04", "#be123c", "#0891b2"]
SHARED_IN_ROW = "#6366f1"  # indigo: one tensor under the several names folded into one row
REUSED = "#0d9488"  # teal: a tensor whose module runs more than once per forward
BORROWED = "#b45309"  # amber, dashed: a module reading a tensor it does not hold (a tie written in code)
PLAIN_TENSOR = "#e5e7eb"  # light grey: held once, used once
MODULE = "#374151"
