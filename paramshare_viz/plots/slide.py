"""Figures for the Slide tab: the kernel's gradient summed over positions, and equivariance to shifts."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from paramshare_viz.plots import theme
from paramshare_viz.sliding import Equivariance, GradientCheck

DIVERGING = "RdBu_r"  # blue negative, white zero, red positive
ERRORS = "Oranges"


def _grid(values: torch.Tensor, digits: int = 4) -> list[list[float | None]]:
    """A 2-D tensor as nested lists, rounded (small JSON, stable golden files); NaN becomes a gap."""
    return [[None if math.isnan(v) else round(v, digits) for v in row] for row in values.double().tolist()]


def _symmetric(values: torch.Tensor) -> float:
    finite = values[torch.isfinite(values)]
    return float(finite.abs().max()) if finite.numel() else 1.0


def _image_axes(fig: go.Figure, count: int, small: tuple[int, ...] = ()) -> None:
    """Rows downwards and square cells, as images are drawn; a tick per cell on the ``small`` subplots."""
    for k in range(1, count + 1):
        small_ = k in small
        suffix = "" if k == 1 else str(k)
        fig.update_layout({
            f"yaxis{suffix}": dict(autorange="reversed", scaleanchor=f"x{suffix}", constrain="domain", dtick=1 if small_ else None),
            f"xaxis{suffix}": dict(constrain="domain", dtick=1 if small_ else None),
        })


def make_gradient_figure(check: GradientCheck, *, oc: int = 0, channel: int = 0, tap: tuple[int, int] = (0, 0)) -> go.Figure:
    """Three heatmaps: each position's part of one kernel entry's gradient, the sum over positions, autograd's.

    Args:
        check (GradientCheck): from :func:`paramshare_viz.sliding.gradient_check`.
        oc, channel (int): which output channel and (within its group) input channel's kernel.
        tap (pair of int): ``(u, v)``, the kernel entry whose per-position parts the first map shows.

    Sharing:
        The one kernel is used at every position, so its gradient is the sum of
        ``H_out * W_out`` parts: the first map sums to the outlined entry of the second,
        which equals autograd's ``weight.grad`` (third).
    """
    u, v = tap
    parts = check.contributions[:, :, oc, channel, u, v]  # (H_out, W_out)
    summed, auto = check.summed[oc, channel], check.autograd[oc, channel]  # (kH, kW)
    scale = _symmetric(torch.cat([summed.flatten(), auto.flatten()]))
    fig = make_subplots(
        rows=1, cols=3, horizontal_spacing=0.09,
        subplot_titles=(
            f"Each position's part of ∂L/∂w[{oc},{channel},{u},{v}]",
            f"Σ over {parts.numel()} positions",
            "autograd weight.grad",
        ),
    )
    fig.add_trace(go.Heatmap(
        z=_grid(parts), colorscale=DIVERGING, zmid=0, showscale=False,
        hovertemplate="position (%{y}, %{x})<br>part %{z:.4g}<extra></extra>",
    ), 1, 1)
    for col, grid, name in ((2, summed, "Σ parts"), (3, auto, ".grad")):
        fig.add_trace(go.Heatmap(
            z=_grid(grid), colorscale=DIVERGING, zmin=-scale, zmax=scale, showscale=False,
            text=[[f"{x:.3g}" for x in row] for row in grid.tolist()], texttemplate="%{text}",
            hovertemplate=f"tap (%{{y}}, %{{x}})<br>{name} %{{z:.6g}}<extra></extra>",
        ), 1, col)
        fig.add_shape(type="rect", x0=v - 0.5, x1=v + 0.5, y0=u - 0.5, y1=u + 0.5,
                      line=dict(color=theme.ACCENT, width=3), row=1, col=col)
    title = (f"The shared kernel's gradient is the sum over every place it was used "
             f"(Σ(first map) = {float(parts.sum()):.4g}; max |Σ − .grad| = {check.max_abs_diff:.1e})")
    fig.update_layout(**theme.base_layout(title))
    fig.update_layout(height=330)
    fig.update_layout(title_font_size=13, margin=dict(l=30, r=20, t=80, b=30))
    _image_axes(fig, 3, small=(2, 3))
    return fig


def make_equivariance_figure(result: Equivariance) -> go.Figure:
    """Two maps of ``|model(shift(x)) - shift(model(x))|``: the conv's (zero inside) and its twin's.

    Args:
        result (Equivariance): from :func:`paramshare_viz.sliding.equivariance`.

    Both maps share one colour scale; grey cells touch the border and are not compared.
    """
    dy, dx = result.shift
    top = max(_symmetric(result.twin_error), _symmetric(result.conv_error), 1e-12)
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.1,
        subplot_titles=(
            f"Conv2d (shared): ‖error‖ = {result.conv_norm:.2g}",
            f"Locally connected: ‖error‖ = {result.twin_norm:.3g}",
        ),
    )
    for col, grid in ((1, result.conv_error), (2, result.twin_error)):
        fig.add_trace(go.Heatmap(
            z=_grid(grid), colorscale=ERRORS, zmin=0, zmax=top, showscale=col == 2,
            colorbar=dict(title="error", thickness=12),
            hovertemplate="output (%{y}, %{x})<br>error %{z:.3g}<extra></extra>",
        ), 1, col)
    rel = result.twin_norm / result.output_norm if result.output_norm else 0.0
    title = (f"Shift the input by ({dy}, {dx}): the conv's output moves by {result.output_shift}, otherwise "
             f"unchanged; the twin's output changes (error {rel:.0%} of the output's norm)"
             "<br><span style='font-size:11px'>grey: windows that touch the border, not compared</span>")
    fig.update_layout(**theme.base_layout(title))
    fig.update_layout(height=330)
    fig.update_layout(title_font_size=13, margin=dict(l=30, r=20, t=80, b=30), plot_bgcolor="#e5e7eb")
    _image_axes(fig, 2)
    return fig
