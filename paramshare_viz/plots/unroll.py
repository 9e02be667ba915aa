"""The Unroll view in one figure: the chain, the counts against T (or L), the gradient split by step.

Three subplots share one ``go.Figure`` (one plotly widget on the page), with a
fixed list of traces so that :func:`update_unroll_figure` can rewrite them in
place inside ``batch_update``:

0. chain edges (weight -> step), 1. weight nodes, 2. step nodes and the flow between steps,
3. shared count vs steps, 4. twin count vs steps, 5. the current step count on both lines,
6. each step's gradient part along ``.grad`` (signed; these add up), 7. their sum and ``‖.grad‖``,
8. each step's orthogonal remainder (drawn apart: it cancels between steps and adds to nothing).
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from paramshare_viz.bench.table import fmt_bytes
from paramshare_viz.plots import theme
from paramshare_viz.unroll import LOSS, STEP_FIELD, Chain, CountCurve, GradContributions, TensorContributions

HEIGHT = 660
#: Node labels are drawn up to this many steps; beyond, hover still names every node.
MAX_LABELS = 16
#: Values are written on the gradient bars up to this many steps.
MAX_BAR_LABELS = 12

def _unit(chain: Chain) -> str:
    return chain.unit


def step_word(form: str) -> str:
    """``step`` for time, ``layer`` for depth."""
    return "step" if STEP_FIELD[form] == "seq_len" else "layer"


def steps_symbol(form: str) -> str:
    """``T (seq_len)`` for time, ``L (num_layers)`` for depth."""
    return "T (seq_len)" if STEP_FIELD[form] == "seq_len" else "L (num_layers)"


def _tensor_lines(chain: Chain, names: list[str]) -> str:
    return "<br>".join(
        f"{html.escape(name)} {tuple(t.shape)} {t.numel:,} = {fmt_bytes(t.nbytes)}"
        for name, t in zip(names, chain.tensors, strict=True)
    )


def chain_traces(chain: Chain, *, shared: bool) -> list[dict[str, Any]]:
    """Properties of traces 0-2: weight node(s) above, step nodes below, edges between them."""
    T, unit = chain.steps, _unit(chain)
    xs = list(range(T))
    size = max(8, min(30, 520 // T))
    total = f"{chain.shared_numel:,} parameters = {fmt_bytes(chain.shared_bytes)} ({chain.dtype})"
    if shared:
        centre = (T - 1) / 2
        weight_x, weight_y = [centre], [1.0]
        weight_text = [f"one {unit}"]
        weight_hover = [f"<b>The one {unit}, used at all {T} {step_word(chain.form)}s</b><br>"
                        + _tensor_lines(chain, [t.name for t in chain.tensors]) + f"<br>total {total}"]
        edge_x: list[float | None] = []
        edge_y: list[float | None] = []
        for x in xs:
            edge_x += [centre, x, None]
            edge_y += [1.0, 0.0, None]
        colour, weight_size = theme.SHARED, max(size, 26)
    else:
        weight_x, weight_y = [float(x) for x in xs], [1.0] * T
        weight_text = [f"{unit} {t}" if T <= MAX_LABELS else "" for t in xs]
        weight_hover = [f"<b>{unit[0].upper() + unit[1:]} copy for {chain.step_labels[t]}</b><br>"
                        + _tensor_lines(chain, [t_.twin_names[t] for t_ in chain.tensors]) + f"<br>total {total}"
                        for t in xs]
        edge_x = [v for x in xs for v in (x, x, None)]
        edge_y = [v for _ in xs for v in (1.0, 0.0, None)]
        colour, weight_size = theme.UNSHARED, size
    step_hover = [f"<b>{label}</b><br>runs the {'shared' if shared else 'own'} {unit}" for label in chain.step_labels]
    return [
        dict(x=edge_x, y=edge_y, line=dict(color=colour, width=1.5)),
        dict(x=weight_x, y=weight_y, text=weight_text, hovertext=weight_hover,
             marker=dict(color=colour, size=weight_size, symbol="diamond")),
        dict(x=xs, y=[0.0] * T, text=list(chain.step_labels) if T <= MAX_LABELS else [""] * T,
             hovertext=step_hover, marker=dict(color=theme.DENSE, size=size, symbol="square")),
    ]


def count_traces(curve: CountCurve, current: int, *, shared: bool) -> list[dict[str, Any]]:
    """Properties of traces 3-5: both counts against steps and the current step count on each."""
    at = curve.steps.index(current)
    now = [curve.shared[at], curve.twin[at]]
    hover = f"{steps_symbol(curve.form)[0]}=%{{x}}: %{{y:,}} parameters<extra>%{{fullData.name}}</extra>"
    return [
        dict(x=list(curve.steps), y=list(curve.shared), hovertemplate=hover),
        dict(x=list(curve.steps), y=list(curve.twin), hovertemplate=hover),
        dict(x=[current, current], y=now, hovertemplate=hover,
             marker=dict(color=[theme.SHARED, theme.UNSHARED], size=[14, 9] if shared else [9, 14])),
    ]


def grad_traces(grads: GradContributions | None, tensor: str | None) -> list[dict[str, Any]]:
    """Properties of traces 6-8: each step's part of ``tensor``'s gradient along ``.grad``, their sum and
    ``‖.grad‖``, and each step's orthogonal remainder.

    The parts along ``.grad`` add up to ``‖.grad‖`` exactly (up to float rounding); the norms of
    the steps' parts would not (``Σ ‖g_t‖ >= ‖Σ g_t‖``), so they are not what the bars show.
    """
    if grads is None:
        return [dict(x=[], y=[], text=[]), dict(x=[], y=[], text=[]), dict(x=[], y=[])]
    part = grads.tensor(tensor) if tensor else grads.tensors[0]
    per = step_word(grads.form)
    along, across = part.along, part.across
    total, grad = sum(along), float(part.grad.double().norm())
    labels = len(along) <= MAX_BAR_LABELS  # values on the bars while they are wide enough to read
    return [
        dict(x=list(grads.step_labels), y=along, text=[f"{v:.3g}" if labels else "" for v in along]),
        dict(x=[f"Σ {per}s", "‖.grad‖"], y=[total, grad], text=[f"{total:.4g}", f"{grad:.4g}"]),
        dict(x=list(grads.step_labels), y=across),
    ]


def titles(chain: Chain, grads: GradContributions | None, tensor: str | None, *, shared: bool) -> list[str]:
    unit, T, per = _unit(chain), chain.steps, step_word(chain.form)
    top = (f"Shared: one {unit} ({chain.shared_numel:,} parameters) feeds all {T} {per}s" if shared
           else f"Twin: one {unit} per {per}, {T} × {chain.shared_numel:,} = {chain.twin_numel:,} parameters")
    counts = f"Unique parameters vs {steps_symbol(chain.form)}"
    if grads is None:
        return [top, counts, "Gradient per step: computing…"]
    part = grads.tensor(tensor) if tensor else grads.tensors[0]
    per = step_word(chain.form)
    return [top, counts, f"∂L/∂{short_name(part.name)} by {per}: parts along .grad add up"]


def short_name(name: str) -> str:
    """``layers.0.ffn.fc1.weight -> ffn.fc1.weight``: the part every layer's name shares."""
    head, _, rest = name.partition(".0.")
    return rest if head in ("layers", "halting") else name


def make_unroll_figure(
    chain: Chain,
    curve: CountCurve,
    grads: GradContributions | None = None,
    *,
    shared: bool = True,
    tensor: str | None = None,
) -> go.Figure:
    """The Unroll tab's figure: chain on top; counts and gradient parts below.

    Args:
        chain: from :func:`paramshare_viz.unroll.unroll_chain`.
        curve: from :func:`paramshare_viz.unroll.count_curve`; must contain ``chain.steps``.
        grads: from :func:`paramshare_viz.unroll.grad_contributions`, or ``None`` while computing.
        shared: draw the shared model's chain (one weight node) or the twin's (one per step).
        tensor: which reused tensor's gradient to split; ``None``: the first.
    """
    fig = make_subplots(
        rows=2, cols=2, specs=[[{"colspan": 2}, None], [{}, {}]], row_heights=[0.4, 0.6],
        vertical_spacing=0.14, horizontal_spacing=0.1, subplot_titles=[" ", " ", " "],
    )
    fig.add_trace(go.Scatter(mode="lines", hoverinfo="skip", showlegend=False), row=1, col=1)
    fig.add_trace(go.Scatter(mode="markers+text", textposition="top center", hoverinfo="text",
                             showlegend=False, name="weights"), row=1, col=1)
    fig.add_trace(go.Scatter(mode="lines+markers+text", textposition="bottom center", hoverinfo="text",
                             line=dict(color=theme.DENSE, width=2), showlegend=False, name="steps"), row=1, col=1)
    fig.add_trace(go.Scatter(mode="lines", name="shared", line=dict(color=theme.SHARED, width=3)), row=2, col=1)
    fig.add_trace(go.Scatter(mode="lines", name="unshared twin", line=dict(color=theme.UNSHARED, width=3)), row=2, col=1)
    fig.add_trace(go.Scatter(mode="markers", showlegend=False, name="this setting"), row=2, col=1)
    fig.add_trace(go.Bar(name="along .grad: adds up", marker_color=theme.UNSHARED, legend="legend2",
                         hovertemplate="%{x}: component along .grad = %{y:.4g}<extra></extra>"), row=2, col=2)
    fig.add_trace(go.Bar(name="sum and ‖.grad‖", marker_color=[theme.ACCENT, theme.SHARED], showlegend=False,
                         textposition="outside", cliponaxis=False,
                         hovertemplate="%{x} = %{y:.6g}<extra></extra>"), row=2, col=2)
    fig.add_trace(go.Scatter(name="orthogonal rest: cancels", mode="markers", legend="legend2",
                             marker=dict(color=theme.DENSE, size=9, symbol="x-thin", line=dict(width=2, color=theme.DENSE)),
                             hovertemplate="%{x}: ‖part − its component along .grad‖ = %{y:.4g}<extra></extra>"),
                  row=2, col=2)
    fig.update_layout(**{**theme.base_layout(), "height": HEIGHT, "margin": dict(l=60, r=20, t=40, b=40)},
                      legend=dict(x=0.01, y=0.53, yanchor="top", bgcolor="rgba(0,0,0,0)"), bargap=0.25,
                      # the gradient chart's own key, over its top left (its first bars are the smallest)
                      legend2=dict(x=0.56, y=0.53, yanchor="top", bgcolor="rgba(255,255,255,0.6)"),
                      # see-through, so the page's light or dark background shows (app CSS recolours text)
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    fig.update_xaxes(visible=False, row=1, col=1)
    fig.update_yaxes(visible=False, range=[-0.55, 1.5], row=1, col=1)
    fig.update_yaxes(title="parameters", rangemode="tozero", row=2, col=1)
    fig.update_yaxes(title="component along .grad", rangemode="tozero", row=2, col=2)
    update_unroll_figure(fig, chain, curve, grads, shared=shared, tensor=tensor)
    return fig


def update_unroll_figure(
    fig: go.Figure,
    chain: Chain,
    curve: CountCurve,
    grads: GradContributions | None = None,
    *,
    shared: bool = True,
    tensor: str | None = None,
) -> None:
    """Rewrite a figure made by :func:`make_unroll_figure` in place (call inside ``batch_update``)."""
    props = chain_traces(chain, shared=shared) + count_traces(curve, chain.steps, shared=shared)
    props += grad_traces(grads, tensor)
    for trace, values in zip(fig.data, props, strict=True):
        trace.update(values)
    for note, text in zip(fig.layout.annotations, titles(chain, grads, tensor, shared=shared), strict=True):
        note.text = text
    fig.layout.xaxis.range = [-0.7, chain.steps - 0.3]
    fig.layout.xaxis2.title = steps_symbol(chain.form)


def tensor_summary(part: TensorContributions, form: str) -> str:
    """What the page says under the chart: the loss, what the bars are, the measured difference."""
    per = step_word(form)
    along = part.along
    return (f"Loss: {LOSS}. The {len(along)} per-{per} parts of ∂L/∂{part.name} add up to the shared model's "
            f".grad: max |Σ − .grad| = {part.max_abs_diff:.1e}. Each bar is a part's component along .grad; "
            f"these sum to ‖.grad‖ ({sum(along):.4g} vs {float(part.grad.double().norm()):.4g}). "
            f"The × marks the rest of each part, orthogonal to .grad: it cancels between {per}s, "
            f"so adding the parts' norms ({sum(part.step_norms):.4g}) would overstate ‖.grad‖")
