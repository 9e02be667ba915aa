"""Figures for the Slide tab: the kernel's gradient summed over positions, and equivariance to shifts."""

from __future__ import annotations

import math
import textwrap

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from paramshare_viz.conv_variants import DilatedEquivalence, TCNLayer
from paramshare_viz.plots import theme
from paramshare_viz.sliding import Equivariance, GradientCheck

#: Title lines are wrapped at this many characters (the Slide tab's figures are about 1,000 px wide).
TITLE_CHARS = 130
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


def make_gradient_figure(
    check: GradientCheck, *, oc: int = 0, channel: int = 0, tap: tuple[int, int] = (0, 0), positions: str = "positions",
) -> go.Figure:
    """Three heatmaps: each position's part of one kernel entry's gradient, the sum over positions, autograd's.

    Args:
        check (GradientCheck): from :func:`paramshare_viz.sliding.gradient_check`.
        oc, channel (int): which output channel and (within its group) input channel's kernel.
        tap (pair of int): ``(u, v)``, the kernel entry whose per-position parts the first map shows.
        positions (str): what a position is ("input positions" for a transposed conv, whose
            first two indices are the weight's ``(C_in, C_out/g)``).

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
            f"Σ over {parts.numel()} {positions}",
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
             f"(Σ(first map) = {float(parts.sum()):.4g}; max |Σ − .grad| = {check.max_abs_diff:.1e})"
             + (f"<br><span style='font-size:11px'>loss: {check.loss}</span>" if check.loss else ""))
    fig.update_layout(**theme.base_layout(title))
    fig.update_layout(height=345)
    fig.update_layout(title_font_size=13, margin=dict(l=30, r=20, t=95, b=30))
    _image_axes(fig, 3, small=(2, 3))
    if parts.shape[0] == 1:  # a 1-D conv: one row of time steps
        fig.update_layout(yaxis=dict(tickvals=[0]))
    return fig


def _pair_text(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"({p[0]}, {p[1]})"


def equivariance_statement(result: Equivariance) -> list[str]:
    """What holds for this shift, in two sentences, with the measured errors (share of the output's norm).

    A shift by a multiple of the stride moves a conv's output by ``shift / stride``
    cells exactly (away from the border); any other shift does not; at ``(0, 0)``
    nothing changes for either model.
    """
    dy, dx = result.shift
    oy, ox = result.output_shift
    stride = _pair_text(result.stride)
    conv, twin = f"{result.conv_relative:.0%}", f"{result.twin_relative:.0%}"
    unit = result.stride == (1, 1)  # every shift is a whole number of strides
    if (dy, dx) == (0, 0):
        return ["Shift (0, 0): the input does not move, so neither output changes (error 0 for both models).",
                ("Shift the input" if unit else f"Shift by a multiple of the stride ({stride})")
                + " to see the conv's output move and the twin's change."]
    if not bool(result.compared.any()):
        return [f"Shift ({dy}, {dx}): every output window now reads the border or the zeros the shift brings in, "
                "so no cell can be compared.", "Try a smaller shift."]
    moved = "moves along too (all its kernels are equal)" if result.twin_relative < 1e-4 else "changes instead of moving"
    if result.exact:
        kind = "with stride 1" if unit else f"is a multiple of the stride ({stride})"
        return [f"Shift ({dy}, {dx}) {kind}: the conv's output moves by "
                f"({oy}, {ox}) cells and is otherwise unchanged away from the border (error {conv}).",
                f"The locally connected twin's output {moved} (error {twin} of the output's norm)."]
    return [f"Shift ({dy}, {dx}) is not a multiple of the stride ({stride}): the windows land between the positions "
            f"the conv visits, so its output does not move by whole cells; against the nearest move, ({oy}, {ox}) "
            f"cells, the conv's error is {conv} of the output's norm and the twin's {twin}.",
            f"Only shifts by multiples of {stride} move a strided conv's output along exactly."]


def make_equivariance_figure(result: Equivariance) -> go.Figure:
    """Two maps of ``|model(shift(x)) - shift(model(x))|``: the conv's and its twin's, titled with what holds.

    Args:
        result (Equivariance): from :func:`paramshare_viz.sliding.equivariance`.

    Both maps share one colour scale; grey cells touch the border and are not compared.
    """
    top = max(_symmetric(result.twin_error), _symmetric(result.conv_error)) or 1.0  # all 0 (no shift): a 0-1 scale
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
    lines = [part for sentence in equivariance_statement(result) for part in textwrap.wrap(sentence, TITLE_CHARS)]
    title = ("<br>".join(lines)
             + "<br><span style='font-size:11px'>grey: windows that touch the border, not compared</span>")
    fig.update_layout(**theme.base_layout(title))
    top = 48 + 17 * (len(lines) + 1)  # the title's lines, the grey note, the subplot titles below them
    fig.update_layout(height=260 + top, title_font_size=12, title_y=1, title_yref="container", title_yanchor="top",
                      title_pad_t=16, margin=dict(l=30, r=20, t=top, b=30), plot_bgcolor="#e5e7eb")
    _image_axes(fig, 2)
    return fig


def make_overlap_figure(overlap: torch.Tensor, interior: tuple[int, ...], *, stride: tuple[int, int],
                        kernel_size: tuple[int, int]) -> go.Figure:
    """How many scattered kernel copies (input position, tap) land on each output cell of a transposed conv.

    Args:
        overlap (Tensor): ``(H_out, W_out)`` counts, :attr:`TransposedConvTrace.overlap`.
        interior (tuple of int): the counts away from the border, :attr:`TransposedConvTrace.interior_overlap`.
        stride, kernel_size (pair of int): the settings, named in the title.
    """
    numbers = max(overlap.shape) <= 20  # a number per cell while the cells are big enough to read it
    fig = go.Figure(go.Heatmap(
        z=overlap.tolist(), colorscale="Purples", zmin=0, colorbar=dict(title="copies", thickness=12),
        text=[[str(v) for v in row] for row in overlap.tolist()] if numbers else None,
        texttemplate="%{text}" if numbers else None,
        hovertemplate="output (%{y}, %{x})<br>%{z} kernel copies<extra></extra>",
    ))
    sentence = (f"Kernel copies landing on each output cell (stride {_pair_text(stride)}, kernel "
                f"{_pair_text(kernel_size)}), away from the border: {', '.join(map(str, interior))} — ")
    if len(interior) > 1:
        sentence += ("uneven. Cells that receive more copies come out stronger: this checkerboard is what causes "
                     "checkerboard artifacts in decoders and GAN generators (stride 2, kernel 3: 1, 2 and 4 copies).")
    else:
        sentence += ("even: the stride divides the kernel's footprint, so no checkerboard (only the border gets "
                     "fewer). Stride 2 with kernel 3 gives the checkerboard of 1, 2 and 4 copies.")
    lines = textwrap.wrap(sentence, TITLE_CHARS)
    fig.update_layout(**theme.base_layout("<br>".join(lines)))
    fig.update_layout(height=440, title_font_size=12, margin=dict(l=30, r=20, t=40 + 17 * len(lines), b=30))
    _image_axes(fig, 1)
    return fig


def make_dilated_figure(eq: DilatedEquivalence, transposed: torch.Tensor, *, channel: int, oc: int,
                        stride: tuple[int, int]) -> go.Figure:
    """The transposed conv as a plain conv: the stride-dilated input, the conv's output, the transposed output.

    Args:
        eq (DilatedEquivalence): from :func:`paramshare_viz.conv_variants.dilated_equivalence`.
        transposed (Tensor): ``(H_out, W_out)``, the transposed conv's output channel ``oc``.
        channel (int): which input channel of the dilated input to draw.
    """
    gap = (stride[0] - 1, stride[1] - 1)
    dilated = eq.dilated[channel].double().clone()
    dilated[~eq.original] = float("nan")  # inserted zeros and padding: grey gaps
    fig = make_subplots(
        rows=1, cols=3, horizontal_spacing=0.07,
        subplot_titles=(
            f"Input {channel}, {_pair_text(gap)} zero{'' if gap == (1, 1) else 's'} between",
            f"Conv2d on it, kernel flipped: channel {oc}",
            f"ConvTranspose2d output channel {oc}",
        ),
    )
    fig.add_trace(go.Heatmap(z=_grid(dilated), colorscale="Greys", reversescale=True, showscale=False,
                             hovertemplate="(%{y}, %{x}) %{z:.3g}<extra></extra>"), 1, 1)
    scale = _symmetric(transposed)
    for col, grid in ((2, eq.conv_output[oc]), (3, transposed)):
        fig.add_trace(go.Heatmap(z=_grid(grid), colorscale=DIVERGING, zmin=-scale, zmax=scale, showscale=False,
                                 hovertemplate="output (%{y}, %{x}) %{z:.4g}<extra></extra>"), 1, col)
    title = (f"The same output from a plain convolution on the stride-dilated input with the kernel flipped: "
             f"max |conv − transposed| = {eq.max_abs_diff:.1e} (float32)"
             "<br><span style='font-size:11px'>grey: the inserted zeros and the padding</span>")
    fig.update_layout(**theme.base_layout(title))
    fig.update_layout(height=360, title_font_size=12, margin=dict(l=30, r=20, t=90, b=30), plot_bgcolor="#e5e7eb")
    _image_axes(fig, 3)
    return fig


def tcn_tree(layers: list[TCNLayer], kernel_size: int) -> list[tuple[int, int, int, int]]:
    """Edges ``(layer, t, layer - 1, t')`` feeding the last output of a causal dilated stack."""
    top = layers[-1].receptive_field - 1
    edges, frontier = [], {top}
    for depth in range(len(layers), 0, -1):
        d = layers[depth - 1].dilation
        below = set()
        for t in sorted(frontier):
            for u in range(kernel_size):
                edges.append((depth, t, depth - 1, t - u * d))
                below.add(t - u * d)
        frontier = below
    return edges


def make_tcn_figure(layers: list[TCNLayer], kernel_size: int) -> go.Figure:
    """A TCN's dilation stack: which inputs the last output reads, layer by layer, and what each layer costs."""
    steps = layers[-1].receptive_field
    fig = go.Figure()
    xs, ys = [], []
    for a, t, b, t2 in tcn_tree(layers, kernel_size):
        xs += [t, t2, None]
        ys += [a, b, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=theme.SHARED, width=1.5), hoverinfo="skip",
                             showlegend=False))
    for depth in range(len(layers) + 1):
        fig.add_trace(go.Scatter(
            x=list(range(steps)), y=[depth] * steps, mode="markers", showlegend=False,
            marker=dict(size=9, color=theme.SHARED if depth else theme.DENSE),
            hovertemplate=f"layer {depth}, t = %{{x}}<extra></extra>",
        ))
    fields = ", ".join(str(layer.receptive_field) for layer in layers)
    params = ", ".join(str(layer.params) for layer in layers)
    dil = ", ".join(str(layer.dilation) for layer in layers)
    title = (f"Causal TCN, kernel {kernel_size}, dilations {dil}: receptive field {fields} steps "
             f"(grows exponentially with depth)<br>while the parameters (weights + biases) are {params} "
             f"(grow linearly: one small kernel per layer, shared over every step)")
    fig.update_layout(**theme.base_layout(title))
    labels = ["input"] + [f"layer {layer.depth} (d={layer.dilation})" for layer in layers]
    fig.update_layout(
        height=300, title_font_size=12, margin=dict(l=100, r=20, t=70, b=40),
        xaxis=dict(title="time step t", dtick=1), yaxis=dict(tickvals=list(range(len(labels))), ticktext=labels),
    )
    return fig


def tcn_table(layers: list[TCNLayer], kernel_size: int, channels: int) -> str:
    """The TCN's numbers as an HTML table: depth, dilation, receptive field, parameters so far."""
    rows = "".join(
        f"<tr><td>{layer.depth}</td><td>{layer.dilation}</td><td>{layer.receptive_field}</td><td>{layer.params:,}</td></tr>"
        for layer in layers
    )
    return (
        "<table class='psv-slide-tcn'><thead><tr><th>layer</th><th>dilation</th>"
        "<th>receptive field (input steps)</th><th>parameters so far (weights + biases)</th></tr></thead>"
        f"<tbody>{rows}</tbody></table><div style='font-size:12px;color:var(--jp-ui-font-color2,#6b7280)'>"
        f"kernel {kernel_size}, {channels} channel{'s' if channels > 1 else ''}: each layer adds "
        f"{channels}·{channels}·{kernel_size} + {channels} = {channels * channels * kernel_size + channels} parameters</div>"
    )
