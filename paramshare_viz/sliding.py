"""Kernel sliding, traced: which input cells each output cell reads, and what each position adds to the gradient.

:func:`trace_conv2d` computes a 2-D convolution the way it is usually drawn: pad,
cut out one window per output position (``F.unfold``, im2col), multiply by the one
shared kernel, sum. It keeps the windows, so it can say which input pixels (or
padding) an output cell read, and how much each position contributed to the
kernel's gradient. :func:`equivariance` shifts the input and measures how far the
conv's output and its locally connected twin's output are from shifting along.

Everything is vectorised over positions; nothing loops over cells in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F

from paramshare_viz.conv_variants import (  # noqa: F401  (psv.sliding.*)
    check_in_range,
    tcn_stack,
    trace_conv1d,
    trace_conv_transpose2d,
)
from paramshare_viz.models.conv import LocallyConnected2d

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
Pair = tuple[int, int]


def _pair(name: str, value: int | tuple[int, int], *, minimum: int) -> Pair:
    """``value`` as ``(height, width)``; ``ValueError`` naming ``name`` unless ints ``>= minimum``."""
    items = (value, value) if not isinstance(value, tuple | list) else tuple(value)
    if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, int) for v in items):
        raise ValueError(f"{name}={value!r} must be an int or a pair of ints")
    if min(items) < minimum:
        need = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise ValueError(f"{name}={value!r} must be {need} (or a pair of them)")
    return items[0], items[1]


def output_shape(size: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> Pair:
    """``(H_out, W_out)`` as in ``torch.nn.Conv2d``'s docstring."""
    return tuple(  # type: ignore[return-value]
        (size[d] + 2 * padding[d] - dilation[d] * (kernel[d] - 1) - 1) // stride[d] + 1 for d in (0, 1)
    )


def pad(x: torch.Tensor, padding: Pair, padding_mode: str) -> torch.Tensor:
    """Pad the last two dims of ``x`` as ``nn.Conv2d(padding_mode=...)`` does before convolving."""
    ph, pw = padding
    mode = "constant" if padding_mode == "zeros" else padding_mode
    if ph == pw == 0:
        return x
    return F.pad(x, (pw, pw, ph, ph), mode=mode)


@dataclass(frozen=True)
class Tap:
    """One kernel tap of one window: where it reads and what it multiplies."""

    channel: int  # input channel
    row: int  # input row; negative or >= H inside the padding
    col: int
    source: tuple[int, int, int] | Literal["padding"]  # input pixel (channel, row, col) read, or zero padding
    value: float  # input (or padding) value
    weight: float
    product: float


@dataclass(frozen=True)
class Window:
    """What output cell ``(oc, i, j)`` reads: its taps, their products and the sum.

    ``values``, ``weights`` and ``products`` have the kernel's shape
    ``(C_in/g, kH, kW)``; ``total = products.sum() + bias`` equals the output cell.
    ``source`` is the input pixel each tap reads: for ``"zeros"`` padding,
    taps outside the image read ``"padding"``; for reflect, replicate and circular
    padding they read a copy of the input pixel named there.
    """

    oc: int
    i: int
    j: int
    channels: tuple[int, ...]  # the input channels of output channel oc's group
    rows: tuple[int, ...]  # input rows of the kernel's rows (dilated, may lie in the padding)
    cols: tuple[int, ...]
    values: torch.Tensor
    weights: torch.Tensor
    products: torch.Tensor
    bias: float
    total: float
    taps: tuple[Tap, ...] = field(repr=False)


class ConvTrace:
    r"""A 2-D convolution computed window by window, keeping the windows.

    Built by :func:`trace_conv2d`; arguments as in ``torch.nn.functional.conv2d``
    plus ``padding_mode`` as in ``torch.nn.Conv2d``.

    Shape:
        - input: :math:`(N, C_{in}, H, W)` or :math:`(C_{in}, H, W)`
        - weight: :math:`(C_{out}, C_{in}/g, kH, kW)`
        - output: :math:`(N, C_{out}, H_{out}, W_{out})` (no ``N`` for an unbatched input)
        - columns: :math:`(N, C_{in} \cdot kH \cdot kW, L)`, ``L = H_out*W_out`` windows

    Sharing:
        The one ``weight`` multiplies every one of the ``L`` windows; a locally
        connected layer would hold ``L`` kernels. ``weight.grad`` is the sum of
        the ``L`` per-position contributions (:meth:`grad_contributions`).
    """

    def __init__(
        self,
        input: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        *,
        stride: Pair,
        padding: Pair,
        dilation: Pair,
        groups: int,
        padding_mode: str,
    ) -> None:
        self.batched = input.dim() == 4
        self.input = input if self.batched else input.unsqueeze(0)  # (N, C, H, W)
        self.weight, self.bias = weight, bias
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups, self.padding_mode = groups, padding_mode
        n, c, h, w = self.input.shape
        self.kernel_size: Pair = (weight.shape[2], weight.shape[3])
        self.output_size = output_shape((h, w), self.kernel_size, stride, padding, dilation)
        self.padded = pad(self.input, padding, padding_mode)  # (N, C, H + 2ph, W + 2pw)
        # Which input pixel every padded pixel copies: pad an index map the same way (-1: zero padding).
        index = torch.arange(h * w, dtype=torch.float64).view(1, 1, h, w) + 1
        self.source = (pad(index, padding, padding_mode)[0, 0] - 1).long()  # (Hp, Wp)
        self.columns = F.unfold(self.padded, self.kernel_size, dilation=dilation, stride=stride)  # (N, C*kH*kW, L)
        g = groups
        cols = self.columns.view(n, g, -1, self.columns.shape[-1])  # (N, g, C/g*kH*kW, L)
        w_ = weight.reshape(g, weight.shape[0] // g, -1)  # (g, C_out/g, C/g*kH*kW)
        out = torch.einsum("ngkl,gok->ngol", cols, w_).reshape(n, weight.shape[0], *self.output_size)
        if bias is not None:
            out = out + bias.view(1, -1, 1, 1)
        self._output = out  # (N, C_out, H_out, W_out)

    @property
    def output(self) -> torch.Tensor:
        """The convolution's output; equals ``F.conv2d`` (after ``F.pad`` for non-zero padding modes)."""
        return self._output if self.batched else self._output[0]

    @property
    def positions(self) -> int:
        """``L = H_out * W_out``: how many times the one kernel is used per image."""
        return self.output_size[0] * self.output_size[1]

    def _check_cell(self, oc: int, i: int, j: int, n: int) -> None:
        check_in_range(
            "output", ("oc", oc, self.weight.shape[0]), ("i", i, self.output_size[0]), ("j", j, self.output_size[1]),
            ("n", n, self.input.shape[0]),
        )

    def window(self, oc: int, i: int, j: int, *, n: int = 0) -> Window:
        """The taps, products and sum behind output cell ``(oc, i, j)`` of image ``n``."""
        self._check_cell(oc, i, j, n)
        c_in = self.input.shape[1]
        cg, (kh, kw) = c_in // self.groups, self.kernel_size
        first = oc // (self.weight.shape[0] // self.groups) * cg
        pos = i * self.output_size[1] + j
        # Detached: a window is read, not differentiated (float() of a tensor that needs grad warns).
        values = self.columns[n, first * kh * kw : (first + cg) * kh * kw, pos].detach().view(cg, kh, kw)
        weights = self.weight[oc].detach()
        products = values * weights
        bias = float(self.bias[oc].detach()) if self.bias is not None else 0.0
        ph, pw = self.padding
        rows = tuple(i * self.stride[0] + u * self.dilation[0] - ph for u in range(kh))
        cols = tuple(j * self.stride[1] + v * self.dilation[1] - pw for v in range(kw))
        w_in = self.input.shape[3]
        taps = []
        for c in range(cg):
            for u, r in enumerate(rows):
                for v, col in enumerate(cols):
                    src = int(self.source[r + ph, col + pw])
                    source: tuple[int, int, int] | Literal["padding"] = (
                        "padding" if src < 0 else (first + c, src // w_in, src % w_in)
                    )
                    taps.append(
                        Tap(first + c, r, col, source, float(values[c, u, v]), float(weights[c, u, v]),
                            float(products[c, u, v]))
                    )
        return Window(
            oc, i, j, tuple(range(first, first + cg)), rows, cols, values, weights, products, bias,
            float(products.sum()) + bias, tuple(taps),
        )

    def grad_contributions(self, grad_output: torch.Tensor) -> torch.Tensor:
        """What each output position adds to the kernel's gradient, for upstream gradient ``grad_output``.

        Args:
            grad_output (Tensor): :math:`\\partial L / \\partial \\text{output}`, the output's shape.

        Returns:
            Tensor :math:`(H_{out}, W_{out}, C_{out}, C_{in}/g, kH, kW)`: position ``(i, j)``'s
            part, summed over the batch. ``result.sum((0, 1))`` equals autograd's ``weight.grad``.
        """
        want = tuple(self.output.shape)
        if tuple(grad_output.shape) != want:
            raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}; the output's shape is {want}")
        go = grad_output if self.batched else grad_output.unsqueeze(0)
        n, g, (h_out, w_out) = self.input.shape[0], self.groups, self.output_size
        cols = self.columns.view(n, g, -1, self.positions)  # (N, g, C/g*kH*kW, L)
        go = go.reshape(n, g, -1, self.positions)  # (N, g, C_out/g, L)
        parts = torch.einsum("ngol,ngkl->lgok", go, cols)  # (L, g, C_out/g, C/g*kH*kW)
        return parts.reshape(h_out, w_out, *self.weight.shape)


def trace_conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    dilation: int | Pair = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> ConvTrace:
    r"""Convolve ``input`` with ``weight`` window by window and keep the windows.

    Args:
        input (Tensor): :math:`(N, C_{in}, H, W)` or :math:`(C_{in}, H, W)`.
        weight (Tensor): :math:`(C_{out}, C_{in}/g, kH, kW)`, the one shared kernel.
        bias (Tensor, optional): :math:`(C_{out},)`. Default: ``None``.
        stride, padding, dilation (int or pair): as in ``torch.nn.Conv2d``. Default: 1, 0, 1.
        groups (int): ``g``, dividing both channel counts. Default: 1.
        padding_mode (str): ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``. Default: ``"zeros"``.

    Returns:
        :class:`ConvTrace`; ``trace.output`` equals ``F.conv2d`` on the same tensors.

    Raises:
        ValueError: naming the field and value (stride 0, a kernel larger than the
        padded input, groups not dividing the channels, mismatched shapes, ...).

    Example:
        >>> x = torch.arange(9.0).view(1, 3, 3)
        >>> t = trace_conv2d(x, torch.ones(1, 1, 2, 2))
        >>> t.output.tolist()  # 0+1+3+4, 1+2+4+5, ...
        [[[8.0, 12.0], [20.0, 24.0]]]
        >>> t.window(0, 1, 1).total
        24.0
    """
    stride_, padding_, dilation_ = (
        _pair("stride", stride, minimum=1), _pair("padding", padding, minimum=0),
        _pair("dilation", dilation, minimum=1),
    )
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode={padding_mode!r} must be one of {', '.join(PADDING_MODES)}")
    if input.dim() not in (3, 4):
        raise ValueError(f"input has shape {tuple(input.shape)}; expected (N, C, H, W) or (C, H, W)")
    if weight.dim() != 4:
        raise ValueError(f"weight has shape {tuple(weight.shape)}; expected (C_out, C_in/groups, kH, kW)")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups={groups!r} must be a positive integer")
    c_in, c_out = input.shape[-3], weight.shape[0]
    for name, value in (("in_channels", c_in), ("out_channels", c_out)):
        if value % groups:
            raise ValueError(f"groups={groups} does not divide {name}={value}")
    if weight.shape[1] * groups != c_in:
        raise ValueError(
            f"weight has {weight.shape[1]} input channels per group but input has in_channels={c_in} "
            f"with groups={groups} (needs {c_in // groups})"
        )
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"bias has shape {tuple(bias.shape)}; expected ({c_out},)")
    size = (input.shape[-2], input.shape[-1])
    kernel = (weight.shape[2], weight.shape[3])
    for d, side in enumerate(("height", "width")):
        if padding_mode == "reflect" and padding_[d] >= size[d]:
            raise ValueError(
                f"padding={padding!r} needs an input {side} above {padding_[d]} for padding_mode='reflect'; it is {size[d]}"
            )
        if padding_mode == "circular" and padding_[d] > size[d]:
            raise ValueError(
                f"padding={padding!r} is larger than the input {side} {size[d]} for padding_mode='circular'"
            )
        span = dilation_[d] * (kernel[d] - 1) + 1
        padded = size[d] + 2 * padding_[d]
        if span > padded:
            raise ValueError(
                f"kernel_size={kernel[d]} (dilation={dilation_[d]}, spanning {span} pixels) is larger than the "
                f"padded input {side} of {padded} pixels ({size[d]} plus twice padding={padding_[d]})"
            )
    return ConvTrace(
        input, weight, bias, stride=stride_, padding=padding_, dilation=dilation_, groups=groups,
        padding_mode=padding_mode,
    )


def reference_conv2d(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, trace: ConvTrace) -> torch.Tensor:
    """``F.conv2d`` with ``trace``'s arguments (``F.pad`` first for non-zero padding modes): what autograd sees."""
    if trace.padding_mode == "zeros":
        return F.conv2d(input, weight, bias, trace.stride, trace.padding, trace.dilation, trace.groups)
    return F.conv2d(pad(input, trace.padding, trace.padding_mode), weight, bias, trace.stride, 0, trace.dilation, trace.groups)


def autograd_weight_grad(trace: ConvTrace, grad_output: torch.Tensor) -> torch.Tensor:
    """``weight.grad`` from ``torch.autograd`` for ``output.backward(grad_output)``: the number to match."""
    weight = trace.weight.detach().clone().requires_grad_(True)
    x = trace.input if trace.batched else trace.input[0]
    out = reference_conv2d(x, weight, trace.bias, trace)
    out.backward(grad_output)
    assert weight.grad is not None
    return weight.grad


@dataclass(frozen=True)
class GradientCheck:
    """The kernel's gradient two ways: summed over positions, and from autograd.

    ``contributions`` is :meth:`ConvTrace.grad_contributions`,
    :math:`(H_{out}, W_{out}, C_{out}, C_{in}/g, kH, kW)`; ``summed`` its sum over
    positions; ``autograd`` is ``weight.grad``; ``max_abs_diff`` how far apart they are.
    """

    contributions: torch.Tensor
    summed: torch.Tensor
    autograd: torch.Tensor
    max_abs_diff: float
    loss: str = ""  # the loss the gradient is of, in words


#: :func:`gradient_check`'s default loss, in words.
HALF_SQUARED_OUTPUT = "L = ½ Σ output², summed over every output cell and channel (so ∂L/∂output = output; no target)"


def gradient_check(trace: ConvTrace, grad_output: torch.Tensor | None = None) -> GradientCheck:
    """Per-position gradient parts, their sum and autograd's ``weight.grad``.

    ``grad_output`` defaults to the output itself: the gradient of
    ``L = ½ ‖output‖²``.
    """
    go = trace.output.detach() if grad_output is None else grad_output
    parts = trace.grad_contributions(go)
    summed = parts.sum((0, 1))
    auto = autograd_weight_grad(trace, go)
    loss = HALF_SQUARED_OUTPUT if grad_output is None else "the loss whose ∂L/∂output is the given grad_output"
    return GradientCheck(parts, summed, auto, float((summed - auto).abs().max()), loss)


# --- equivariance -------------------------------------------------------------------------------


def shift_image(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Move the last two dims of ``x`` down by ``dy`` and right by ``dx``; vacated pixels are zero."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        ..., max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def locally_connected_twin(trace: ConvTrace, *, spread: float = 0.5, seed: int = 0) -> LocallyConnected2d:
    """The zoo's locally connected twin of ``trace``'s conv, acting on the padded input.

    Each position's kernel is the conv's kernel plus seeded noise of ``spread``
    times the kernel's root mean square: with ``spread=0`` it is the twin at
    pairing time (the same function as the conv); with ``spread > 0`` every
    position has a kernel of its own, as after training without sharing.

    Raises:
        ValueError: when the geometry is not square (the zoo's twin is square).
    """
    (kh, kw), (sh, sw), (dh, dw) = trace.kernel_size, trace.stride, trace.dilation
    hp, wp = trace.padded.shape[-2:]
    for name, a, b in (("image", hp, wp), ("kernel_size", kh, kw), ("stride", sh, sw), ("dilation", dh, dw)):
        if a != b:
            raise ValueError(f"the locally connected twin (psv.zoo 'conv') is square; {name} is {a}x{b}")
    c_out, cg = trace.weight.shape[:2]
    twin = LocallyConnected2d(
        cg * trace.groups, c_out, kh, hp, stride=sh, padding=0, dilation=dh, groups=trace.groups,
        bias=trace.bias is not None,
    )
    with torch.no_grad():
        twin.weight.copy_(trace.weight.detach().flatten(1).expand_as(twin.weight))
        if twin.bias is not None and trace.bias is not None:
            twin.bias.copy_(trace.bias.detach().expand_as(twin.bias))
        if spread:
            gen = torch.Generator().manual_seed(seed)
            noise = torch.randn(twin.weight.shape, generator=gen, dtype=twin.weight.dtype)
            rms = float(trace.weight.detach().pow(2).mean().sqrt().clamp_min(1e-3))
            twin.weight.add_(noise * spread * rms)
    return twin


@dataclass(frozen=True)
class Equivariance:
    """How far each model's output is from shifting along with its input.

    ``conv_error`` and ``twin_error`` are :math:`(H_{out}, W_{out})` maps of the
    channel-wise L2 distance between ``model(shift(x))`` and ``shift(model(x))``
    by ``output_shift`` cells, ``NaN`` where the comparison would involve the
    image border (padding, the zeros the shift brings in, or an output cell
    moved in from outside). The norms are L2 over every compared cell.

    A shift that is a multiple of the stride (``exact``) moves a conv's output
    by ``shift / stride`` cells exactly; any other shift moves the windows to
    positions the strided conv never visits, so no whole-cell move of the output
    matches and the result is compared with the nearest one, ``round(shift / stride)``.
    """

    shift: Pair  # (dy, dx) applied to the input
    output_shift: Pair  # (dy / stride, dx / stride), rounded to the nearest whole cell when not exact
    stride: Pair
    compared: torch.Tensor  # (H_out, W_out) bool
    conv_error: torch.Tensor
    twin_error: torch.Tensor
    conv_norm: float
    twin_norm: float
    output_norm: float  # norm of the conv's shifted output on the compared cells, for scale

    @property
    def exact(self) -> bool:
        """The shift is a whole number of strides in both directions."""
        return all(s % st == 0 for s, st in zip(self.shift, self.stride, strict=True))

    @property
    def conv_relative(self) -> float:
        """``conv_norm / output_norm`` (0 when nothing is compared)."""
        return self.conv_norm / self.output_norm if self.output_norm else 0.0

    @property
    def twin_relative(self) -> float:
        """``twin_norm / output_norm`` (0 when nothing is compared)."""
        return self.twin_norm / self.output_norm if self.output_norm else 0.0


def _nearest_cell(shift: int, stride: int) -> int:
    """``shift / stride`` rounded to the nearest whole cell, halves away from zero (``-1/2 -> -1``)."""
    q, r = divmod(abs(shift), stride)
    return (q + (2 * r >= stride)) * (1 if shift >= 0 else -1)


def equivariance(
    trace: ConvTrace, shift: Pair, *, twin: LocallyConnected2d | None = None, spread: float = 0.5, seed: int = 0
) -> Equivariance:
    """Shift ``trace``'s input by ``shift = (dy, dx)``; compare each model's output with its shifted output.

    A convolution commutes with shifts by multiples of the stride: away from the
    borders its error is zero (to float rounding). Any other shift of a strided
    conv's input is not a shift of its output: the error is then measured against
    the nearest whole-cell move, and is not zero. The locally connected twin
    applies a different kernel at each position, so its output changes instead
    of moving, unless all its kernels are equal (``spread=0``). At ``(0, 0)``
    nothing changes for either model.

    Args:
        trace (ConvTrace): the conv, from :func:`trace_conv2d`.
        shift (pair of int): ``(dy, dx)``, down and right; any whole number of pixels.
        twin (LocallyConnected2d, optional): acting on the padded input; by default
            :func:`locally_connected_twin` with ``spread`` and ``seed``.

    Raises:
        ValueError: a shift that is not a pair of integers.
    """
    dy, dx = _pair("shift", shift, minimum=-(10**9))
    oy, ox = _nearest_cell(dy, trace.stride[0]), _nearest_cell(dx, trace.stride[1])
    twin = twin if twin is not None else locally_connected_twin(trace, spread=spread, seed=seed)
    x = trace.input
    x_shifted = shift_image(x, dy, dx)
    shifted = trace_conv2d(
        x_shifted, trace.weight, trace.bias, stride=trace.stride, padding=trace.padding,
        dilation=trace.dilation, groups=trace.groups, padding_mode=trace.padding_mode,
    )
    # A cell is compared when its window in the shifted input reads only image pixels that came from the image,
    # and the output cell it is compared with (``output_shift`` cells back) exists.
    mask = shift_image(torch.ones(1, 1, *x.shape[-2:], dtype=x.dtype), dy, dx)
    cols = F.unfold(pad(mask, trace.padding, "zeros"), trace.kernel_size, dilation=trace.dilation, stride=trace.stride)
    inside = shift_image(torch.ones(*trace.output_size, dtype=x.dtype), oy, ox) > 0
    compared = (cols.amin(1) > 0).view(*trace.output_size) & inside  # (H_out, W_out)

    def error(model_out: torch.Tensor, model_out_shifted: torch.Tensor) -> torch.Tensor:
        moved = shift_image(model_out, oy, ox)  # (N, C_out, H_out, W_out)
        return (model_out_shifted - moved).pow(2).sum((0, 1)).sqrt()  # (H_out, W_out)

    with torch.no_grad():
        conv_err = error(trace._output, shifted._output)
        twin_err = error(twin(trace.padded), twin(shifted.padded))
    nan = torch.tensor(math.nan, dtype=conv_err.dtype)

    def norm(e: torch.Tensor) -> float:
        return float(e[compared].pow(2).sum().sqrt())

    out_norm = float(shifted._output.pow(2).sum((0, 1))[compared].sum().sqrt())
    return Equivariance(
        (dy, dx), (oy, ox), trace.stride, compared, torch.where(compared, conv_err, nan),
        torch.where(compared, twin_err, nan), norm(conv_err), norm(twin_err), out_norm,
    )
