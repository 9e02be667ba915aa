"""Log-scale bars of parameter counts: a shared model, its twin, and reference points."""

from __future__ import annotations

import math
from dataclasses import dataclass

import plotly.graph_objects as go

from paramshare_viz.plots import theme


@dataclass(frozen=True)
class Bar:
    key: str  # stable id: "shared", "unshared", "dense"
    label: str
    count: int
    colour: str


def make_param_bars_figure(bars: list[Bar], *, title: str = "Unique parameters (log scale)") -> go.Figure:
    fig = go.Figure(
        go.Bar(textposition="outside", cliponaxis=False, hovertemplate="%{x}<br>%{y:,} parameters<extra></extra>")
    )
    fig.update_layout(**theme.base_layout(title))
    fig.update_yaxes(type="log", title="parameters", exponentformat="power")
    update_param_bars_figure(fig, bars)
    return fig


def update_param_bars_figure(fig: go.Figure, bars: list[Bar]) -> None:
    """Put ``bars`` into a figure made by :func:`make_param_bars_figure`, in place."""
    bar = fig.data[0]
    bar.x = [b.label for b in bars]
    bar.y = [b.count for b in bars]
    bar.text = [f"{b.count:,}" for b in bars]
    bar.marker.color = [b.colour for b in bars]
    fig.layout.yaxis.range = log_range([b.count for b in bars])


def log_range(counts: list[int]) -> list[float]:
    """From 1 parameter to above the tallest bar, so small bars stay visible and labels fit."""
    return [0, math.log10(max(max(counts), 10)) * 1.12 + 0.2]
