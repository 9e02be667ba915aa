"""The Slide tab's other modes: transposed 2-D conv, 1-D conv and causal 1-D conv.

Pure functions (no widgets): a setting and its tensors go in, one :class:`ModeView` comes out
with what the canvas draws, the figures below it and the status line, all computed by
:mod:`paramshare_viz.conv_variants`. The 2-D mode is :func:`paramshare_viz.app.slide.slide_view`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from paramshare_viz.app.slide_widget import scatter_payload, slide_payload
from paramshare_viz.conv_variants import (
    Conv1dTrace,
    DilatedEquivalence,
    TCNLayer,
    TransposedConvTrace,
    conv1d_gradient_check,
    conv_transpose_output_size,
    dilated_equivalence,
    local_twin_1d,
    tcn_stack,
    trace_conv1d,
    trace_conv_transpose2d,
    transposed_gradient_check,
)
from paramshare_viz.plots.slide import (
    make_dilated_chart,
    make_gradient_chart,
    make_overlap_chart,
    make_tcn_chart,
    tcn_table,
)
from paramshare_viz.sliding import GradientCheck

if TYPE_CHECKING:
    from paramshare_viz.app.slide import SlideSettings


class SlideMode(enum.StrEnum):
    CONV2D = "2-D conv"
    TRANSPOSED = "transposed 2-D conv"
    CONV1D = "1-D conv"
    CAUSAL = "causal 1-D conv"


#: Output side the transposed mode draws at most (a 64x64 input at stride 2 gives 127-135).
MAX_TRANSPOSED_OUTPUT = 160

#: The TCN panel of the causal mode (WaveNet / TCN stacks): kernel 2, dilations doubling.
TCN_KERNEL, TCN_DILATIONS = 2, (1, 2, 4, 8)

Tap = tuple[int, int, int]


@dataclass(frozen=True)
class ModeView:
    """One setting of a non-2-D mode, computed once: traces, checks, payload, figures, status."""

    mode: str
    trace: TransposedConvTrace | Conv1dTrace
    gradient: GradientCheck
    meta: dict
    data: bytes
    taps: list[tuple[str, Tap]]  # the gradient figure's kernel entries: (label, (channel, u, v))
    sections: tuple[tuple[str, str], ...]  # (heading, HTML: a chart or a table), below the gradient
    status: str
    equivalence: DilatedEquivalence | None = None
    tcn: tuple[TCNLayer, ...] = ()


def transposed_weight(conv_weight: torch.Tensor, groups: int) -> torch.Tensor:
    """The 2-D mode's ``(C_out, C_in/g, k, k)`` kernels in ConvTranspose2d's layout ``(C_in, C_out/g, k, k)``."""
    c_out, cg, kh, kw = conv_weight.shape
    if c_out % groups:
        raise ValueError(f"groups={groups} does not divide out_channels={c_out}")
    return conv_weight.reshape(groups, c_out // groups, cg, kh, kw).transpose(1, 2).reshape(groups * cg, c_out // groups, kh, kw)


def transposed_view(s: SlideSettings, x: torch.Tensor, conv_weight: torch.Tensor, bias: torch.Tensor) -> ModeView:
    """Scatter one kernel copy per input cell of ``x`` ``(C, H, W)``; ``ValueError`` names a bad field."""
    weight = transposed_weight(conv_weight, s.groups)
    k = (s.kernel_size, s.kernel_size)
    out = conv_transpose_output_size(
        tuple(x.shape[-2:]), k, stride=(s.stride,) * 2, padding=(s.padding,) * 2,  # type: ignore[arg-type]
        output_padding=(s.output_padding,) * 2, dilation=(s.dilation,) * 2,
    )
    if max(out) > MAX_TRANSPOSED_OUTPUT:  # per-cell copies, overlap and gradient parts must stay small
        raise ValueError(
            f"stride={s.stride}, dilation={s.dilation} and output_padding={s.output_padding} make a {out[0]}×{out[1]} "
            f"output; the Slide tab draws transposed outputs of at most {MAX_TRANSPOSED_OUTPUT} per side"
        )
    trace = trace_conv_transpose2d(
        x, weight, bias, stride=s.stride, padding=s.padding, output_padding=s.output_padding,
        dilation=s.dilation, groups=s.groups,
    )
    c_in, c_out_g, kh, kw = weight.shape
    cg = c_in // s.groups
    first = s.oc // c_out_g * cg  # the first input channel whose copies write channel oc
    check = transposed_gradient_check(trace)
    taps = [(f"input channel {first + c}, row {u}, col {v}", (c, u, v)) for c in range(cg) for u in range(kh) for v in range(kw)]
    sections: list[tuple[str, str]] = [
        ("Overlap: where the scattered copies pile up",
         make_overlap_chart(trace.overlap, trace.interior_overlap, stride=trace.stride, kernel_size=trace.kernel_size)),
    ]
    try:
        eq: DilatedEquivalence | None = dilated_equivalence(trace)
    except ValueError as err:  # padding larger than dilation * (k - 1): no conv with padding >= 0
        eq = None
        sections.append(("The same output as a conv on the stride-dilated input", f"<div>Not shown: {err}.</div>"))
    if eq is not None:
        sections.append(("The same output as a conv on the stride-dilated input", make_dilated_chart(
            eq, trace.output[s.oc], channel=first, oc=s.oc, stride=trace.stride,
        )))
    h, w = trace.input_size
    ho, wo = trace.output_size
    per = weight.numel() + bias.numel()
    status = (
        f"Slide: {c_in}×{h}×{w} input, {kh}×{kw} kernel scattered from {trace.positions:,} input positions into "
        f"a {ho}×{wo} output: ConvTranspose2d {per:,} parameters, locally connected (a kernel and bias per "
        f"input position) {per * trace.positions:,}."
    )
    meta, data = scatter_payload(trace, s.oc)
    return ModeView(SlideMode.TRANSPOSED, trace, check, meta, data, taps, tuple(sections), status, equivalence=eq)


def transposed_gradient_chart(view: ModeView, oc: int, tap: Tap) -> str:
    """The transposed conv's gradient parts for kernel entry ``tap`` of the copies writing channel ``oc``."""
    c_in, c_out_g = view.trace.weight.shape[:2]
    cg = c_in // view.trace.groups
    first = oc // c_out_g * cg
    return make_gradient_chart(view.gradient, oc=first + tap[0], channel=oc % c_out_g, tap=(tap[1], tap[2]),
                               positions="input positions")


def conv1d_view(
    s: SlideSettings, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, *, causal: bool, row: int,
) -> ModeView:
    """Slide a 1-D kernel ``(C_out, C_in/g, k)`` along ``x`` ``(C, L)``, row ``row`` of the image; causal
    pads on the left only (the padding field is not used)."""
    trace = trace_conv1d(x, weight, bias, stride=s.stride, padding=0 if causal else s.padding, dilation=s.dilation,
                         groups=s.groups, causal=causal)
    twin = local_twin_1d(trace, seed=s.seed)
    c_out, cg, k = weight.shape
    real = torch.zeros(1, trace.padded.shape[-1])
    real[0, trace.left : trace.padded.shape[-1] - trace.right] = 1  # the padding: dimmed on the canvas
    label = "Conv1d, causal" if causal else "Conv1d"
    meta, data = slide_payload(trace.trace2d, twin, s.oc, real=real, label=label)
    zeros = f"{trace.left} zero{'' if trace.left == 1 else 's'}"
    pad = (f"dim: {zeros} on the left only, so output t reads inputs ≤ t" if causal
           else f"dim: {zeros} of padding each side" if trace.left else "no padding")
    meta = {**meta, "W": int(x.shape[-1]), "pad_note": pad}  # the sequence's own length, not the padded one
    first = s.oc // (c_out // s.groups) * cg
    taps = [(f"channel {first + c}, tap {v}", (c, 0, v)) for c in range(cg) for v in range(k)]
    per = weight.numel() + bias.numel()
    length = x.shape[-1]
    status = (
        f"Slide: {x.shape[0]}×{length} sequence (row {row} of the image), kernel {k} used at "
        f"{trace.positions:,} positions: {label} {per:,} parameters, locally connected {twin.params:,}."
    )
    sections: list[tuple[str, str]] = []
    tcn: tuple[TCNLayer, ...] = ()
    if causal:
        status += (f" Causal: {zeros} of left padding, none on the right, so output t reads inputs "
                   f"t−{trace.left}…t only.")
        tcn = tuple(tcn_stack(TCN_KERNEL, TCN_DILATIONS, channels=s.out_channels))
        sections.append(("A TCN: causal convs stacked with doubling dilation",
                         make_tcn_chart(list(tcn), TCN_KERNEL)))
        sections.append(("The stack's numbers (tcn_stack)", tcn_table(list(tcn), TCN_KERNEL, s.out_channels)))
    check = conv1d_gradient_check(trace)
    mode = SlideMode.CAUSAL if causal else SlideMode.CONV1D
    return ModeView(mode, trace, check, meta, data, taps, tuple(sections), status, tcn=tcn)


def conv1d_gradient_chart(view: ModeView, oc: int, tap: Tap) -> str:
    """The 1-D conv's gradient parts (one per output step) for kernel entry ``tap`` of channel ``oc``."""
    return make_gradient_chart(view.gradient, oc=oc, channel=tap[0], tap=(0, tap[2]), positions="time steps")
