"""Figures of bench results: a sweep over a knob, the roofline, shared vs twin bars.

Pure builders: each takes results (``psv.bench.SweepResult`` or its
``to_dict()``, ``RooflinePoint`` and ``Roof``, a ``measure_pair`` row) and
returns a ``go.Figure``; colours come from :mod:`paramshare_viz.plots.theme`.
The twin ÷ shared bars are also plain HTML (:func:`compare_bars_html`, the
Compare tab's: no plotly.js for a handful of bars), from the same ratios
(:func:`compare_ratios`) as the CLI's figure.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


#: Bars of the compare figure: (label, shared column, twin column, what the two values count).
COMPARE_METRICS = (
    ("parameters", "params_shared", "params_unshared", "unique parameters"),
    ("parameters + buffers", "held_bytes_shared", "held_bytes_unshared", "bytes held"),
    ("FLOPs fwd", "flops_fwd_shared", "flops_fwd_unshared", "FLOPs per forward"),
    ("FLOPs bwd", "flops_bwd_shared", "flops_bwd_unshared", "FLOPs per backward"),
    ("time fwd", "time_fwd_shared_s", "time_fwd_unshared_s", "s, median"),
    ("time fwd+bwd", "time_bwd_shared_s", "time_bwd_unshared_s", "s, median"),
    ("training memory", "train_mem_shared", "train_mem_unshared", "bytes: parameters + buffers + grads + Adam"),
    ("measured peak", "peak_shared", "peak_unshared", "bytes, measured peak"),
)


@dataclass(frozen=True)
class CompareRatio:
    """One bar: a metric of both models and the twin's ÷ the shared model's."""

    label: str  # the metric, from COMPARE_METRICS
    unit: str  # what its two values count
    shared: float
    twin: float
    ratio: float  # times: the per-turn median ratio, not twin_median / shared_median
    noise: str  # why a time ratio is noisy ("" when steady or not a time)


def compare_ratios(row: Mapping[str, Any]) -> list[CompareRatio]:
    """The bars of a ``measure_pair`` row (or sweep row): metrics absent from it, or 0 for the shared model, skipped."""
    bars = []
    for label, a_key, b_key, unit in COMPARE_METRICS:
        a, b = row.get(a_key), row.get(b_key)
        if a is None or b is None or not a:
            continue
        kind = "fwd" if label == "time fwd" else "bwd" if label == "time fwd+bwd" else ""
        ratio = row[f"time_{kind}_twin_over_shared"] if kind else b / a  # times: the per-turn median
        noise = row.get(f"time_{kind}_noise", "") if kind else ""
        bars.append(CompareRatio(label, unit, a, b, ratio, noise or ""))
    return bars


def make_compare_figure(row: Mapping[str, Any], *, title: str = "Twin ÷ shared") -> go.Figure:
    """One bar per measured metric: the twin's figure ÷ the shared model's (× the shared model, log scale).

    Above the dashed line at 1 the twin needs more; a time bar whose ratio is noisy is hatched.

    Args:
        row: a ``psv.bench.measure_pair`` row (or a sweep row); metrics absent from it are skipped.
    """
    bars = compare_ratios(row)
    fig = go.Figure(
        go.Bar(
            x=[b.label for b in bars],
            y=[b.ratio for b in bars],
            name="twin ÷ shared",
            marker_color=theme.UNSHARED,
            marker_pattern_shape=["/" if b.noise else "" for b in bars],
            customdata=[f"{b.unit}: shared {b.shared:.4g}, twin {b.twin:.4g}" + (f"; {b.noise}" if b.noise else "")
                        for b in bars],
            text=[f"{b.ratio:.3g}x" + (" noisy" if b.noise else "") for b in bars],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: twin ÷ shared %{y:.3g}<br>%{customdata}<extra></extra>",
        )
    )
    fig.add_hline(y=1, line_dash="dash", line_color=theme.DENSE)
    fig.update_layout(**theme.base_layout(title), showlegend=False)
    fig.update_yaxes(type="log", title="twin ÷ shared")
    return fig


# JupyterLab's theme variables (with light fallbacks) keep the bars readable in Voila's dark theme.
BARS_STYLE = """<style>
.psv-cbars{margin:8px 0 6px;max-width:980px;color:var(--jp-ui-font-color0,#111827)}
.psv-cbars-title{font-size:13px;font-weight:600;margin-bottom:2px}
.psv-cbars-note{font-size:12px;color:var(--jp-ui-font-color2,#6b7280);margin-bottom:6px}
.psv-cbar-row{display:grid;grid-template-columns:200px 1fr 190px;gap:10px;align-items:center;margin:3px 0}
.psv-cbar-label{font-size:13px;text-align:right;white-space:nowrap;line-height:1.2}
.psv-cbar-unit{font-size:11px;color:var(--jp-ui-font-color2,#6b7280);white-space:normal}
.psv-cbar-track{position:relative;height:22px;border-radius:4px;background:var(--jp-layout-color2,#f3f4f6)}
.psv-cbar-fill{position:absolute;top:3px;bottom:3px;min-width:2px;border-radius:3px}
.psv-cbar-one{position:absolute;top:-2px;bottom:-2px;border-left:2px dashed var(--jp-ui-font-color2,#6b7280)}
.psv-cbar-grid{position:absolute;top:0;bottom:0;width:1px;background:var(--jp-border-color1,#d1d5db)}
.psv-cbar-ratio{font-size:13px;font-variant-numeric:tabular-nums}
.psv-cbar-ticks{position:relative;height:16px;font-size:11px;color:var(--jp-ui-font-color2,#6b7280)}
.psv-cbar-ticks span{position:absolute;transform:translateX(-50%)}
</style>"""


def compare_bars_html(row: Mapping[str, Any], *, title: str = "Twin ÷ shared") -> str:
    """The bars of :func:`compare_ratios` as HTML: each from the dashed 1× line to its ratio, on a log scale.

    A row per metric carries ``data-key`` (the label) and ``data-ratio``; its text states the
    ratio as "× the shared model"; hover gives both values; a noisy time ratio is hatched and says so.
    """
    bars = compare_ratios(row)
    if not bars:
        return f"<div class='psv-cbars'><div class='psv-cbars-title'>{html.escape(title)}</div>Nothing measured.</div>"
    logs = [math.log10(b.ratio) for b in bars if b.ratio > 0]
    lo, hi = min([0.0, *logs]), max([0.0, *logs])
    pad = max(hi - lo, 1.0) * 0.08  # room beyond the longest bar; at least a decade across

    def pos(log: float) -> float:  # percent of the track
        return 100 * (log - lo + pad) / (hi - lo + 2 * pad)

    decades = range(math.ceil(lo - pad), math.floor(hi + pad) + 1)
    grid = "".join(f"<div class='psv-cbar-grid' style='left:{pos(k):.2f}%'></div>" for k in decades if k)
    ticks = "".join(f"<span style='left:{pos(k):.2f}%'>{10.0**k:g}×</span>" for k in decades)
    rows = []
    for b in bars:
        end = pos(math.log10(b.ratio)) if b.ratio > 0 else pos(lo - pad)
        left, width = min(end, pos(0)), abs(end - pos(0))
        fill = theme.UNSHARED if b.ratio >= 1 else theme.SHARED
        if b.noise:
            fill = f"repeating-linear-gradient(45deg,{fill} 0 5px,transparent 5px 8px)"
        tip = f"{b.label} ({b.unit}): shared {b.shared:,.4g}, twin {b.twin:,.4g}" + (f"; {b.noise}" if b.noise else "")
        rows.append(
            f"<div class='psv-cbar-row' data-key='{html.escape(b.label)}' data-ratio='{b.ratio:.6g}' "
            f"title='{html.escape(tip)}'><div class='psv-cbar-label'>{html.escape(b.label)}"
            f"<div class='psv-cbar-unit'>{html.escape(b.unit)}</div></div>"
            f"<div class='psv-cbar-track'>{grid}<div class='psv-cbar-fill' "
            f"style='left:{left:.2f}%;width:{width:.2f}%;background:{fill}'></div>"
            f"<div class='psv-cbar-one' style='left:{pos(0):.2f}%'></div></div>"
            f"<div class='psv-cbar-ratio'>{b.ratio:,.3g}× the shared model{' (noisy)' if b.noise else ''}</div></div>"
        )
    note = ("twin ÷ shared on a log scale, a grid line per 10×; dashed: 1× (the same as the shared model); "
            "hover a bar for both values")
    axis = f"<div class='psv-cbar-row psv-cbar-axis'><div></div><div class='psv-cbar-ticks'>{ticks}</div><div></div></div>"
    return (f"{BARS_STYLE}<div class='psv-cbars'><div class='psv-cbars-title'>{html.escape(title)}</div>"
            f"<div class='psv-cbars-note'>{note}</div>{''.join(rows)}{axis}</div>")
