"""Figures of bench results: a sweep over a knob, the roofline, shared vs twin bars.

Pure builders: each takes results (``psv.bench.SweepResult`` or its
``to_dict()``, ``RooflinePoint`` and ``Roof``, a ``measure_pair`` row) and
returns a ``go.Figure``; colours come from :mod:`paramshare_viz.plots.theme`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from paramshare_viz.plots import theme

#: metric -> (column stem, axis title, log axis, IQR column stem or None).
#: Shared and twin columns are ``<stem>_shared`` / ``<stem>_unshared`` (``_s`` for times).
SWEEP_METRICS: dict[str, tuple[str, str, bool, str | None]] = {
    "params": ("params", "unique parameters", True, None),
    "param_bytes": ("param_bytes", "parameter bytes", True, None),
    "flops": ("flops_fwd", "FLOPs per forward", True, None),
    "flops_bwd": ("flops_bwd", "FLOPs per backward", True, None),
    "time": ("time_fwd", "forward time (s, median ± IQR)", True, "time_fwd"),
    "time_bwd": ("time_bwd", "forward + backward time (s, median ± IQR)", True, "time_bwd"),
    "memory": ("train_mem", "training memory (bytes: parameters + buffers + grads + Adam)", True, None),
    "held": ("held_bytes", "memory held (bytes: parameters + buffers)", True, None),
    "peak": ("peak", "measured peak memory (bytes)", True, None),
    "intensity": ("intensity", "arithmetic intensity (FLOP per byte)", True, None),
    "achieved_flops": ("achieved_flops", "achieved FLOP/s (forward)", True, None),
    "ratio": ("time_fwd_twin_over_shared", "forward time twin ÷ shared (per-turn median ± IQR/2)", False, None),
    "ratio_bwd": ("time_bwd_twin_over_shared", "fwd+bwd time twin ÷ shared (per-turn median ± IQR/2)", False, None),
}

SIDES = (("shared", "shared", theme.SHARED), ("unshared", "unshared twin", theme.UNSHARED))


def _sweep_parts(result: Any) -> tuple[str, str, list[dict[str, Any]]]:
    if isinstance(result, Mapping):
        return result["form"], result["knob"], list(result["rows"])
    return result.form, result.knob, list(result.rows)


def make_sweep_figure(result: Any, *, metric: str = "time", log_y: bool | None = None) -> go.Figure:
    """Shared and twin lines of ``metric`` against the swept knob.

    Args:
        result: a ``SweepResult`` or its ``to_dict()``.
        metric: a key of :data:`SWEEP_METRICS`; ``"ratio"`` draws one line of the
            per-turn time ratio twin ÷ shared with its IQR, a cross where it is noisy,
            and a dashed line at 1.
        log_y: log y axis; default per metric.

    Raises:
        ValueError: ``metric`` unknown or not measured in this sweep.
    """
    if metric not in SWEEP_METRICS:
        raise ValueError(f"metric={metric!r} unknown; choose one of {sorted(SWEEP_METRICS)}")
    form, knob, rows = _sweep_parts(result)
    stem, title, default_log, iqr = SWEEP_METRICS[metric]
    x = [r[knob] for r in rows]
    fig = go.Figure()
    if metric.startswith("ratio"):
        if not any(stem in r for r in rows):
            raise ValueError(f"metric={metric!r} was not measured in this sweep (measure 'time')")
        ratio = [r.get(stem) for r in rows]
        half = [(r.get(f"{stem}_iqr") or 0) / 2 for r in rows]
        noise = [r.get(f"{stem.removesuffix('_twin_over_shared')}_noise") or "" for r in rows]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=ratio,
                name="twin ÷ shared",
                mode="lines+markers",
                line_color=theme.ACCENT,
                marker=dict(symbol=["x" if n else "circle" for n in noise], size=9),
                customdata=[n or "steady" for n in noise],
                error_y=dict(type="data", array=half, visible=True),
                hovertemplate=f"{knob}=%{{x}}<br>twin ÷ shared %{{y:.3g}}<br>%{{customdata}}<extra></extra>",
            )
        )
        fig.add_hline(y=1, line_dash="dash", line_color=theme.DENSE)
    else:
        suffix = "_s" if iqr else ""
        if not any(f"{stem}_shared{suffix}" in r for r in rows):
            raise ValueError(f"metric={metric!r} was not measured in this sweep")
        for side, name, colour in SIDES:
            y = [r.get(f"{stem}_{side}{suffix}") for r in rows]
            err = None
            if iqr:
                half = [(r.get(f"{iqr}_{side}_iqr_s") or 0) / 2 for r in rows]
                err = dict(type="data", array=half, visible=True)
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    name=name,
                    mode="lines+markers",
                    line_color=colour,
                    error_y=err,
                    hovertemplate=f"{name}<br>{knob}=%{{x}}<br>%{{y:.4g}}<extra></extra>",
                )
            )
    fig.update_layout(**theme.base_layout(f"{form}: {title} vs {knob}"))
    fig.update_xaxes(title=knob)
    fig.update_yaxes(
        title=title,
        type="log" if (default_log if log_y is None else log_y) else "linear",
        exponentformat="SI",
    )
    return fig


def _colour(kind: str) -> str:
    return {"shared": theme.SHARED, "unshared": theme.UNSHARED}.get(kind, theme.DENSE)


def make_roofline_figure(points: Sequence[Any], roof: Any) -> go.Figure:
    """Log-log roofline: achieved FLOP/s vs FLOPs per byte, under ``min(peak, bandwidth * I)``.

    Args:
        points: ``RooflinePoint`` objects (``label``, ``kind``, ``intensity``, ``achieved_flops``).
        roof: a ``Roof`` (``peak_flops``, ``bandwidth_bytes_per_s``).
    """
    ridge = roof.peak_flops / roof.bandwidth_bytes_per_s
    xs = [p.intensity for p in points if p.intensity > 0 and math.isfinite(p.intensity)] + [ridge]
    lo, hi = min(xs) / 4, max(xs) * 4
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[lo, ridge, hi],
            y=[roof.bandwidth_bytes_per_s * lo, roof.peak_flops, roof.peak_flops],
            name="roof",
            mode="lines",
            line=dict(color="#111827", width=2),
            hovertemplate="attainable %{y:.3s} FLOP/s at %{x:.3g} FLOP/B<extra>roof</extra>",
        )
    )
    for p in points:
        attainable = min(roof.peak_flops, roof.bandwidth_bytes_per_s * p.intensity)
        fig.add_trace(
            go.Scatter(
                x=[p.intensity],
                y=[p.achieved_flops],
                name=p.label or p.kind,
                mode="markers+text",
                text=[p.label or p.kind],
                textposition="top center",
                marker=dict(size=12, color=_colour(p.kind), line=dict(color="white", width=1)),
                hovertemplate=(
                    f"{p.label or p.kind}<br>%{{x:.3g}} FLOP/B<br>%{{y:.3s}} FLOP/s "
                    f"({p.achieved_flops / attainable:.0%} of the roof)<extra></extra>"
                ),
            )
        )
    fig.add_annotation(
        x=math.log10(ridge),
        y=math.log10(roof.peak_flops),
        text=f"ridge {ridge:.3g} FLOP/B",
        showarrow=True,
        arrowhead=2,
        ay=-30,
    )
    fig.update_layout(
        **theme.base_layout(
            f"Roofline: peak {roof.peak_flops / 1e9:.3g} GFLOP/s, "
            f"bandwidth {roof.bandwidth_bytes_per_s / 1e9:.3g} GB/s"
        )
    )
    fig.update_xaxes(type="log", title="arithmetic intensity (FLOP per byte moved)")
    fig.update_yaxes(type="log", title="achieved FLOP/s", exponentformat="SI")
    return fig


#: Bars of the compare figure: (label, shared column, twin column).
COMPARE_METRICS = (
    ("parameters", "params_shared", "params_unshared"),
    ("parameters + buffers", "held_bytes_shared", "held_bytes_unshared"),
    ("FLOPs fwd", "flops_fwd_shared", "flops_fwd_unshared"),
    ("FLOPs bwd", "flops_bwd_shared", "flops_bwd_unshared"),
    ("time fwd", "time_fwd_shared_s", "time_fwd_unshared_s"),
    ("time fwd+bwd", "time_bwd_shared_s", "time_bwd_unshared_s"),
    ("training memory", "train_mem_shared", "train_mem_unshared"),
    ("measured peak", "peak_shared", "peak_unshared"),
)


def make_compare_figure(row: Mapping[str, Any], *, title: str = "Twin ÷ shared") -> go.Figure:
    """One bar per measured metric: the twin's figure ÷ the shared model's (× the shared model, log scale).

    Above the dashed line at 1 the twin needs more; a time bar whose ratio is noisy is hatched.

    Args:
        row: a ``psv.bench.measure_pair`` row (or a sweep row); metrics absent from it are skipped.
    """
    labels, ratios, hover, noisy = [], [], [], []
    for label, a_key, b_key in COMPARE_METRICS:
        a, b = row.get(a_key), row.get(b_key)
        if a is None or b is None or not a:
            continue
        kind = "fwd" if label == "time fwd" else "bwd" if label == "time fwd+bwd" else ""
        ratio = row[f"time_{kind}_twin_over_shared"] if kind else b / a  # times: the per-turn median
        labels.append(label)
        ratios.append(ratio)
        noise = row.get(f"time_{kind}_noise", "") if kind else ""
        noisy.append(bool(noise))
        hover.append(f"shared {a:.4g}, twin {b:.4g}" + (f"; {noise}" if noise else ""))
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=ratios,
            name="twin ÷ shared",
            marker_color=theme.UNSHARED,
            marker_pattern_shape=["/" if n else "" for n in noisy],
            customdata=hover,
            text=[f"{y:.3g}x" + (" noisy" if n else "") for y, n in zip(ratios, noisy, strict=True)],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: twin ÷ shared %{y:.3g}<br>%{customdata}<extra></extra>",
        )
    )
    fig.add_hline(y=1, line_dash="dash", line_color=theme.DENSE)
    fig.update_layout(**theme.base_layout(title), showlegend=False)
    fig.update_yaxes(type="log", title="twin ÷ shared")
    return fig
