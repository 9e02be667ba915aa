"""Charts of the Slide tab as inline SVG (no plotly.js): the kernel's gradient summed over positions,
equivariance to shifts, the transposed conv's overlap and dilated-input views, the TCN stack.

Each builder returns an HTML string (:mod:`paramshare_viz.plots.svg_charts`) that an
``ipywidgets.HTML`` shows; every cell's hover text is an SVG ``<title>``.
"""

from __future__ import annotations

import torch

from paramshare_viz.conv_variants import DilatedEquivalence, TCNLayer
from paramshare_viz.plots import theme
from paramshare_viz.plots.svg_charts import Scale, chart, heatmap
from paramshare_viz.sliding import Equivariance, GradientCheck

DIVERGING = "RdBu_r"  # blue negative, white zero, red positive
ERRORS = "Oranges"
#: Pixels the cells of one map may take: three maps side by side in the tab's ~1,000 px.
MAP_PX = 300


def _grid(values: torch.Tensor) -> list[list[float]]:
    """A 2-D tensor as nested lists of floats (NaN stays NaN: a gap; -0.0 becomes 0.0)."""
    return [[v + 0.0 for v in row] for row in values.double().tolist()]


def _symmetric(values: torch.Tensor) -> float:
    finite = values[torch.isfinite(values)]
    return float(finite.abs().max()) if finite.numel() else 1.0


def make_gradient_chart(
    check: GradientCheck, *, oc: int = 0, channel: int = 0, tap: tuple[int, int] = (0, 0), positions: str = "positions",
) -> str:
    """Three maps: each position's part of one kernel entry's gradient, the sum over positions, autograd's.

    Args:
        check (GradientCheck): from :func:`paramshare_viz.sliding.gradient_check`.
        oc, channel (int): which output channel and (within its group) input channel's kernel.
        tap (pair of int): ``(u, v)``, the kernel entry whose per-position parts the first map shows.
        positions (str): what a position is ("input positions" for a transposed conv, whose
            first two indices are the weight's ``(C_in, C_out/g)``; "time steps" for a 1-D conv).

    Sharing:
        The one kernel is used at every position, so its gradient is the sum of
        ``H_out * W_out`` parts: the first map sums to the outlined entry of the second,
        which equals autograd's ``weight.grad`` (third).
    """
    u, v = tap
    parts = check.contributions[:, :, oc, channel, u, v]  # (H_out, W_out)
    summed, auto = check.summed[oc, channel], check.autograd[oc, channel]  # (kH, kW)
    scale = _symmetric(torch.cat([summed.flatten(), auto.flatten()]))
    own = _symmetric(parts) or 1.0
    one_d = parts.shape[0] == 1
    where = ("time step", "step") if one_d else ("column", "row")
    panels = [heatmap(
        _grid(parts), title=f"Each position's part of ∂L/∂w[{oc},{channel},{u},{v}]",
        scale=Scale(DIVERGING, -own, own, "part"), hover="position ({r}, {c})\npart {v:.4g}",
        x_label=where[0], y_label=where[1], width=MAP_PX if not one_d else 2 * MAP_PX,
    )]
    for k, (grid, name) in enumerate(((summed, "Σ parts"), (auto, ".grad"))):
        panels.append(heatmap(
            _grid(grid), title=(f"Σ over {parts.numel()} {positions}", "autograd weight.grad")[k],
            scale=Scale(DIVERGING, -scale, scale, "Σ and .grad"),
            hover=f"tap ({{r}}, {{c}})\n{name} {{v:.6g}}", text="{v:.3g}", outline=(u, v),
            x_label="kernel col", y_label="kernel row", width=180, height=180, cell_max=44, show_legend=k == 1,
        ))
    title = (f"The shared kernel's gradient is the sum over every place it was used "
             f"(Σ(first map) = {float(parts.sum()):.4g}; max |Σ − .grad| = {check.max_abs_diff:.1e})")
    return chart([title], panels, note=f"loss: {check.loss}" if check.loss else "", css_class="psv-slide-gradient")


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


def make_equivariance_chart(result: Equivariance) -> str:
    """Two maps of ``|model(shift(x)) - shift(model(x))|``: the conv's and its twin's, titled with what holds.

    Args:
        result (Equivariance): from :func:`paramshare_viz.sliding.equivariance`.

    Both maps share one colour scale; grey cells touch the border and are not compared.
    """
    top = max(_symmetric(result.twin_error), _symmetric(result.conv_error)) or 1.0  # all 0 (no shift): a 0-1 scale
    scale = Scale(ERRORS, 0.0, top, "error (both maps)")
    panels = [
        heatmap(_grid(grid), title=title, scale=scale, hover="output ({r}, {c})\nerror {v:.3g}",
                gap="touches the border: not compared", x_label="output column", y_label="output row",
                width=MAP_PX + 100, show_legend=k == 1)
        for k, (grid, title) in enumerate((
            (result.conv_error, f"Conv2d (shared): ‖error‖ = {result.conv_norm:.3g}"),
            (result.twin_error, f"Locally connected: ‖error‖ = {result.twin_norm:.3g}"),
        ))
    ]
    return chart(equivariance_statement(result), panels, note="grey: windows that touch the border, not compared",
                 css_class="psv-slide-equivariance")


def make_overlap_chart(overlap: torch.Tensor, interior: tuple[int, ...], *, stride: tuple[int, int],
                       kernel_size: tuple[int, int]) -> str:
    """How many scattered kernel copies (input position, tap) land on each output cell of a transposed conv.

    Args:
        overlap (Tensor): ``(H_out, W_out)`` counts, :attr:`TransposedConvTrace.overlap`.
        interior (tuple of int): the counts away from the border, :attr:`TransposedConvTrace.interior_overlap`.
        stride, kernel_size (pair of int): the settings, named in the title.
    """
    sentence = (f"Kernel copies landing on each output cell (stride {_pair_text(stride)}, kernel "
                f"{_pair_text(kernel_size)}), away from the border: {', '.join(map(str, interior))} — ")
    if len(interior) > 1:
        sentence += ("uneven. Cells that receive more copies come out stronger: this checkerboard is what causes "
                     "checkerboard artifacts in decoders and GAN generators (stride 2, kernel 3: 1, 2 and 4 copies).")
    else:
        sentence += ("even: the stride divides the kernel's footprint, so no checkerboard (only the border gets "
                     "fewer). Stride 2 with kernel 3 gives the checkerboard of 1, 2 and 4 copies.")
    panel = heatmap(
        _grid(overlap), title=f"{overlap.shape[0]}×{overlap.shape[1]} output", hover="output ({r}, {c})\n{v:g} kernel copies",
        scale=Scale("Purples", 0.0, float(overlap.max()), "copies"), text="{v:g}",
        x_label="output column", y_label="output row", width=520, height=520,
    )
    return chart([sentence], [panel], css_class="psv-slide-overlap")


def make_dilated_chart(eq: DilatedEquivalence, transposed: torch.Tensor, *, channel: int, oc: int,
                       stride: tuple[int, int]) -> str:
    """The transposed conv as a plain conv: the stride-dilated input, the conv's output, the transposed output.

    Args:
        eq (DilatedEquivalence): from :func:`paramshare_viz.conv_variants.dilated_equivalence`.
        transposed (Tensor): ``(H_out, W_out)``, the transposed conv's output channel ``oc``.
        channel (int): which input channel of the dilated input to draw.
    """
    gap = (stride[0] - 1, stride[1] - 1)
    dilated = eq.dilated[channel].double().clone()
    dilated[~eq.original] = float("nan")  # inserted zeros and padding: grey gaps
    finite = dilated[torch.isfinite(dilated)]
    low, high = (float(finite.min()), float(finite.max())) if finite.numel() else (0.0, 1.0)
    scale = _symmetric(transposed)
    panels = [heatmap(_grid(dilated), title=f"Input {channel}, {_pair_text(gap)} zero{'' if gap == (1, 1) else 's'} between",
                      scale=Scale("Greys_r", low, high, "input"), hover="({r}, {c})\ninput {v:.3g}",
                      gap="inserted zero or padding")]
    for k, (grid, title) in enumerate(((eq.conv_output[oc], f"Conv2d on it, kernel flipped: channel {oc}"),
                                       (transposed, f"ConvTranspose2d output channel {oc}"))):
        panels.append(heatmap(_grid(grid), title=title, scale=Scale(DIVERGING, -scale, scale, "output (one scale)"),
                              hover="output ({r}, {c})\noutput {v:.4g}", x_label="output column", y_label="output row",
                              show_legend=k == 1))
    title = (f"The same output from a plain convolution on the stride-dilated input with the kernel flipped: "
             f"max |conv − transposed| = {eq.max_abs_diff:.1e} (float32)")
    return chart([title], panels, note="grey: the inserted zeros and the padding", css_class="psv-slide-dilated")


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


def make_tcn_chart(layers: list[TCNLayer], kernel_size: int) -> str:
    """A TCN's dilation stack: which inputs the last output reads, layer by layer, and what each layer costs.

    Drawn as SVG: a row of time steps per layer (the input at the bottom), a line from each
    node of the last output's tree to the nodes it reads (those nodes coloured, the rest grey);
    hover a node for its layer and step.
    """
    steps = layers[-1].receptive_field
    depth = len(layers)
    cell = max(14, min(48, 820 // steps))  # px per time step
    left, top, row_h = 120, 12, 34

    def x(t: int) -> float:
        return left + t * cell + cell / 2

    def y(d: int) -> float:
        return top + (depth - d) * row_h  # the input (depth 0) at the bottom

    edges = tcn_tree(layers, kernel_size)
    body = [f'<line class="psv-tcn-edge" data-from="{a},{t}" data-to="{b},{t2}" x1="{x(t)}" y1="{y(a)}" x2="{x(t2)}" '
            f'y2="{y(b)}" stroke="{theme.SHARED}" stroke-width="1.5"/>'
            for a, t, b, t2 in edges]
    read = {(a, t) for a, t, _, _ in edges} | {(b, t2) for _, _, b, t2 in edges}
    labels = ["input"] + [f"layer {layer.depth} (d={layer.dilation})" for layer in layers]
    for d, label in enumerate(labels):
        body.append(f'<text class="psv-tcn-label" x="{left - 10}" y="{y(d) + 3.5}" text-anchor="end">{label}</text>')
        for t in range(steps):
            fill, tip = (theme.SHARED if d else theme.MODULE, " (the last output reads it)") if (d, t) in read else (
                theme.DENSE, "")
            body.append(f'<circle cx="{x(t)}" cy="{y(d)}" r="4.5" fill="{fill}"><title>layer {d}, t = {t}{tip}</title></circle>')
    bottom = y(0) + 18
    body += [f'<text x="{x(t)}" y="{bottom}" text-anchor="middle">{t}</text>' for t in range(steps)]
    body.append(f'<text x="{left + steps * cell / 2}" y="{bottom + 16}" text-anchor="middle">time step t →</text>')
    svg = (f'<svg class="psv-tcn" width="{left + steps * cell + 10}" height="{bottom + 22}" '
           f'xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>')
    fields = ", ".join(str(layer.receptive_field) for layer in layers)
    params = ", ".join(str(layer.params) for layer in layers)
    dil = ", ".join(str(layer.dilation) for layer in layers)
    title = [f"Causal TCN, kernel {kernel_size}, dilations {dil}: receptive field {fields} steps "
             f"(grows exponentially with depth)",
             f"while the parameters (weights + biases) are {params} "
             f"(grow linearly: one small kernel per layer, shared over every step)"]
    return chart(title, [f'<div class="psv-hm-panel">{svg}</div>'], css_class="psv-slide-tcn-chart")


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
