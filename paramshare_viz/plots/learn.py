"""Figures of learned tying: soft-tying curves and trade-off, GrOWL's neurons, HashedNets' trade-off and buckets.

Pure builders over the results of :mod:`paramshare_viz.learn` (no widgets).
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from paramshare_viz.plots import theme
from paramshare_viz.units import plural

TASK_COLOURS = (theme.SHARED, theme.UNSHARED)
LAYER_DASHES = ("solid", "dash", "dot", "dashdot")


def lam_label(lam: float) -> str:
    return "∞ (hard sharing)" if math.isinf(lam) else ("0 (independent)" if lam == 0 else f"{lam:g}")


#: What a log axis cannot show, said where it is drawn.
ZERO_NAME = "exactly 0 (drawn at the axis floor)"


def zero_floor(values: list[float]) -> float | None:
    """Where an exact 0 is drawn on a log axis: one decade below the smallest positive value.

    ``None`` when no value is positive (the axis is then linear and a 0 is drawn at 0).
    """
    positive = [v for v in values if v > 0]
    return 10.0 ** (math.floor(math.log10(min(positive))) - 1) if positive else None


def _log_or_linear(fig: go.Figure, values: list[float], *, row: int, col: int) -> float | None:
    """A log y axis whose bottom shows the zero floor, or a linear one when every value is 0."""
    floor = zero_floor(values)
    if floor is None:
        fig.update_yaxes(type="linear", rangemode="tozero", row=row, col=col)
    else:
        top = max(values)
        fig.update_yaxes(type="log", exponentformat="power",
                         range=[math.log10(floor) - 0.3, math.log10(top) + 0.3], row=row, col=col)
    return floor


def _zero_marks(xs: list[Any], ys: list[float], floor: float | None, hover: str) -> go.Scatter:
    """The points that are exactly 0, as marks labelled "0" at the axis floor (a log axis has no 0)."""
    at = [x for x, y in zip(xs, ys, strict=True) if y == 0]
    return go.Scatter(x=at, y=[floor if floor is not None else 0.0] * len(at), name=ZERO_NAME, mode="markers+text",
                      text=["0"] * len(at), textposition="top center",
                      marker=dict(symbol="triangle-down", size=10, color=theme.ACCENT), hovertemplate=hover)


def make_soft_tying_figure(run: Any) -> go.Figure:
    """Training loss of each task (left) and ``||w_A - w_B||`` per layer (right, log) over steps."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss per task", "distance between tied weights"))
    for name, ys, colour in (("task A: digits", run.loss_a, TASK_COLOURS[0]), ("task B: mirrored", run.loss_b, TASK_COLOURS[1])):
        fig.add_trace(
            go.Scatter(x=run.steps, y=ys, name=name, mode="lines", line_color=colour,
                       hovertemplate=f"{name}<br>step %{{x}}: loss %{{y:.4f}}<extra></extra>"),
            row=1, col=1,
        )
    distances = [y for ys in run.distance.values() for y in ys]
    floor = _log_or_linear(fig, distances, row=1, col=2)
    steps, zeros = [], []
    for i, (layer, ys) in enumerate(run.distance.items()):
        shown = [None if (y == 0 and floor is not None) else y for y in ys]  # a log axis has no 0: marked below
        fig.add_trace(
            go.Scatter(x=run.steps, y=shown, name=layer, mode="lines", line=dict(color=theme.ACCENT, dash=LAYER_DASHES[i % 4]),
                       hovertemplate=f"{layer}<br>step %{{x}}: ||w_A - w_B|| = %{{y:.3g}}<extra></extra>"),
            row=1, col=2,
        )
        steps += run.steps
        zeros += ys
    if floor is not None and 0 in zeros:
        fig.add_trace(_zero_marks(steps, zeros, floor, "step %{x}: ||w_A - w_B|| = 0 exactly<extra></extra>"), row=1, col=2)
    stopped = " (stopped)" if run.stopped else ""
    fig.update_layout(**theme.base_layout(f"Soft tying, λ = {lam_label(run.lam)}{stopped}"), legend=dict(orientation="h", y=-0.2))
    if floor is None:  # λ = ∞: one set of weights, the distance is 0 at every step
        fig.layout.annotations[1].text = "distance between tied weights: 0 at every step (one set of weights)"
    fig.update_xaxes(title="step")
    fig.update_yaxes(title="cross-entropy", row=1, col=1)
    fig.update_yaxes(title="‖w_A − w_B‖", row=1, col=2)
    return fig


def make_tradeoff_figure(rows: list[dict]) -> go.Figure:
    """Over λ: the final distance (left, log) and each task's held-out loss (right)."""
    labels = [lam_label(r["lam"]) for r in rows]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("final ‖w_A − w_B‖", "held-out loss"))
    distances = [r["final_distance"] for r in rows]
    floor = _log_or_linear(fig, distances, row=1, col=1)
    fig.add_trace(
        go.Scatter(x=labels, y=[None if (d == 0 and floor is not None) else d for d in distances], name="distance",
                   mode="lines+markers", line_color=theme.ACCENT, hovertemplate="λ = %{x}<br>distance %{y:.3g}<extra></extra>"),
        row=1, col=1,
    )
    for key, acc, name, colour in (("test_loss_a", "test_acc_a", "task A: digits", TASK_COLOURS[0]),
                                   ("test_loss_b", "test_acc_b", "task B: mirrored", TASK_COLOURS[1])):
        fig.add_trace(
            go.Scatter(x=labels, y=[r[key] for r in rows], name=name, mode="lines+markers", line_color=colour,
                       customdata=[r[acc] for r in rows],
                       hovertemplate=f"{name}<br>λ = %{{x}}<br>loss %{{y:.4f}}, accuracy %{{customdata:.1%}}<extra></extra>"),
            row=1, col=2,
        )
    if floor is not None and 0 in distances:  # λ = ∞ (hard sharing): exactly one set of weights
        fig.add_trace(_zero_marks(labels, distances, floor, "λ = %{x}<br>distance 0 exactly (one set of weights)<extra></extra>"),
                      row=1, col=1)
    fig.update_layout(**theme.base_layout("Soft tying: the trade-off over λ"), legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(title="λ", type="category")
    fig.update_yaxes(title="cross-entropy", row=1, col=2)
    return fig


def make_growl_figure(result: Any, groups: tuple[int, ...] | None = None) -> go.Figure:
    """Each input neuron's weight-group norm after stage 1, coloured by the cluster it was tied into."""
    cluster_of = {f: cid for cid, members in result.clusters.items() for f in members}
    sizes = {cid: len(m) for cid, m in result.clusters.items()}
    colours, hover = [], []
    for f in range(len(result.column_norms)):
        cid = cluster_of.get(f)
        if cid is None:
            colours.append(theme.DENSE)
            what = "removed (all weights 0)"
        elif sizes[cid] > 1:
            colours.append(theme.GROUP_COLOURS[cid % len(theme.GROUP_COLOURS)])
            what = f"tied: cluster {cid} of {sizes[cid]} neurons"
        else:
            colours.append(theme.SHARED)
            what = "kept, not tied"
        planted = "" if groups is None else (f", planted group {groups[f]}" if groups[f] >= 0 else ", planted noise")
        hover.append(f"{what}{planted}")
    fig = go.Figure(
        go.Bar(x=list(range(len(result.column_norms))), y=result.column_norms, marker_color=colours, customdata=hover,
               hovertemplate="input neuron %{x}: norm %{y:.3g}<br>%{customdata}<extra></extra>")
    )
    if result.removed:  # a zero-height bar is invisible: mark the removed neurons on the axis
        fig.add_trace(go.Scatter(x=result.removed, y=[0] * len(result.removed), mode="markers",
                                 marker=dict(symbol="x", size=9, color=theme.DENSE),
                                 hovertemplate="input neuron %{x}: removed (all weights 0)<extra></extra>"))
    config = result.config
    title = (f"{'GrOWL' if config.penalty == 'growl' else 'L1'}: {plural(len(result.removed), 'neuron')} removed, "
             f"{plural(len(result.tied_groups), 'group')} tied; unique parameters {result.unique_before:,} → {result.unique_after:,}")
    fig.update_layout(**theme.base_layout(title), showlegend=False)
    fig.update_xaxes(title="input neuron (colour = the cluster it is tied into; grey × = removed)", dtick=1 if len(hover) <= 32 else None)
    fig.update_yaxes(title="norm of its outgoing weights")
    return fig


def make_hashing_figure(points: list[Any], bucket_index: Any = None) -> go.Figure:
    """Held-out accuracy against unique parameters (one point per compression factor) and,
    given a hashed layer's ``index`` map, which virtual weights share each bucket (right)."""
    cols = 1 if bucket_index is None else 2
    titles = ("accuracy vs unique parameters",) + (("bucket map of the most compressed layer",) if cols == 2 else ())
    fig = make_subplots(rows=1, cols=cols, subplot_titles=titles, column_widths=[0.55, 0.45] if cols == 2 else None)
    fig.add_trace(
        go.Scatter(
            x=[p.unique_params for p in points], y=[p.test_accuracy for p in points], mode="lines+markers+text",
            text=[("dense" if p.compression == 1 else f"×{p.compression}") for p in points], textposition="top center",
            marker=dict(size=10, color=[theme.UNSHARED if p.compression == 1 else theme.SHARED for p in points]),
            line_color=theme.DENSE,
            customdata=[[p.compression, p.num_buckets] for p in points],
            hovertemplate="compression ×%{customdata[0]} (%{customdata[1]:,} buckets)<br>"
                          "%{x:,} unique parameters<br>accuracy %{y:.1%}<extra></extra>",
        ),
        row=1, col=1,
    )
    if bucket_index is not None:
        fig.add_trace(bucket_map_trace(bucket_index), row=1, col=2)
        fig.update_yaxes(autorange="reversed", title="output", row=1, col=2)
        fig.update_xaxes(title="input", row=1, col=2)
    fig.update_layout(**theme.base_layout("HashedNets on digits: accuracy against unique parameters"), showlegend=False)
    fig.update_xaxes(title="unique parameters (log)", type="log", row=1, col=1)
    fig.update_yaxes(title="held-out accuracy", tickformat=".0%", range=[0, 1.05], row=1, col=1)  # 0-100%, any points
    return fig


def bucket_map_trace(index: Any) -> go.Heatmap:
    """Cell (i, j) of the virtual weight coloured by the bucket it reads; hover says how many share it."""
    rows = index.tolist()
    counts: dict[int, int] = {}
    for row in rows:
        for b in row:
            counts[b] = counts.get(b, 0) + 1
    shared = [[f"bucket {b}, shared by {counts[b]} virtual weights" for b in row] for row in rows]
    return go.Heatmap(z=rows, customdata=shared, colorscale="Turbo", showscale=False,
                      hovertemplate="W[%{y}, %{x}] reads %{customdata}<extra></extra>")


def make_bucket_map_figure(index: Any, *, title: str = "") -> go.Figure:
    """The virtual weight's bucket map alone (see :func:`bucket_map_trace`)."""
    rows, buckets = index.shape[0] * index.shape[1], len(set(index.flatten().tolist()))
    fig = go.Figure(bucket_map_trace(index))
    fig.update_layout(**theme.base_layout(title or f"Bucket map: {rows:,} virtual weights in {buckets:,} buckets"))
    fig.update_xaxes(title="input")
    fig.update_yaxes(title="output", autorange="reversed")
    return fig
