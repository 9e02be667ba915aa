"""Bar chart of a conv layer's parameters against its unshared alternatives."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from paramshare_viz.plots import theme

#: Bar order, label and colour of each layer kind.
LAYERS = (
    ("conv", "Conv2d (shared kernel)", theme.SHARED),
    ("locally_connected", "Locally connected (own kernel per position)", theme.UNSHARED),
    ("dense", "Dense (every input to every output)", theme.DENSE),
)


def make_conv_counts_figure(counts: dict[str, int]) -> go.Figure:
    """Log-scale bars of the parameter counts in ``counts`` (keys as in :data:`LAYERS`)."""
    fig = go.Figure(
        go.Bar(
            x=[label for _, label, _ in LAYERS],
            y=[counts[key] for key, _, _ in LAYERS],
            marker_color=[colour for _, _, colour in LAYERS],
            text=[f"{counts[key]:,}" for key, _, _ in LAYERS],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}<br>%{y:,} parameters<extra></extra>",
        )
    )
    fig.update_layout(**theme.base_layout("Parameters of one layer (log scale)"))
    fig.update_yaxes(type="log", title="parameters", exponentformat="power", range=log_range(counts))
    return fig


def log_range(counts: dict[str, int]) -> list[float]:
    """From 1 parameter to above the tallest bar, so small bars stay visible and labels fit."""
    return [0, math.log10(max(counts.values())) * 1.12 + 0.2]


def update_conv_counts_figure(fig: go.Figure, counts: dict[str, int]) -> None:
    """Put ``counts`` into a figure made by :func:`make_conv_counts_figure`, in place."""
    bar = fig.data[0]
    bar.y = [counts[key] for key, _, _ in LAYERS]
    bar.text = [f"{counts[key]:,}" for key, _, _ in LAYERS]
    fig.layout.yaxis.range = log_range(counts)
