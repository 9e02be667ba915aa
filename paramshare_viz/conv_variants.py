"""Sliding beyond 2-D convolution: transposed 2-D convolution and 1-D (optionally causal) convolution.

Sharing is the same idea as in :mod:`paramshare_viz.sliding`: one kernel at every position. A
transposed convolution *scatters* one copy of the kernel, scaled by an input cell, per input
position (decoders, GAN generators, U-Nets); where the copies overlap unevenly (stride 2, kernel 3)
some output cells receive more copies than their neighbours: the checkerboard behind checkerboard
artifacts (Odena et al., 2016). A 1-D convolution slides one kernel along time; the causal one pads
only on the left, so output ``t`` reads inputs ``<= t`` (WaveNet, TCNs, the short conv in Mamba
blocks). Both are exposed as ``psv.sliding.trace_conv_transpose2d`` and ``psv.sliding.trace_conv1d``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

Pair = tuple[int, int]


def _pair(name: str, value: int | Pair, *, minimum: int) -> Pair:
    from paramshare_viz.sliding import _pair as pair  # one validator for every trace

    return pair(name, value, minimum=minimum)


def check_in_range(where: str, *indices: tuple[str, int, int]) -> None:
    """``ValueError`` naming the first ``(name, value, size)`` whose value is not an int in ``[0, size)``."""
    for name, value, size in indices:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
            raise ValueError(f"{name}={value!r} is outside the {where} (0 <= {name} < {size})")


def _check_groups(groups: int, **channels: int) -> None:
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups={groups!r} must be a positive integer")
    for name, value in channels.items():
        if value % groups:
            raise ValueError(f"groups={groups} does not divide {name}={value}")


# --- transposed 2-D convolution -------------------------------------------------------------------


@dataclass(frozen=True)
class Scatter:
    """Where input cell ``(ic, i, j)`` of image ``n`` writes: one copy of its kernel slice, scaled.

    ``rows``/``cols`` are the output coordinates of the kernel's rows/columns (they may fall in the
    cropped ``padding`` border: ``kept`` says which taps land in the output); ``products`` has shape
    ``(C_out/g, kH, kW)``: ``value * weight[ic]``, what each tap adds to output channel ``oc`` at
    ``(rows[u], cols[v])``.
    """

    ic: int
    i: int
    j: int
    out_channels: tuple[int, ...]  # the output channels of input channel ic's group
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    kept: torch.Tensor  # (kH, kW) bool: the tap lands inside the output
    value: float
    products: torch.Tensor


class TransposedConvTrace:
    r"""A transposed 2-D convolution computed as one scattered kernel copy per input position.

    Built by :func:`trace_conv_transpose2d`; the same interface as :class:`~paramshare_viz.sliding.ConvTrace`
    (``output``, ``positions``, ``window``, ``grad_contributions``), with positions counted on the *input*.

    Shape:
        - input: :math:`(N, C_{in}, H_{in}, W_{in})` or unbatched
        - weight: :math:`(C_{in}, C_{out}/g, kH, kW)` (PyTorch's layout for transposed convs)
        - output: :math:`(N, C_{out}, H_{out}, W_{out})`, ``H_out = (H_in - 1) s - 2 p + d (kH - 1) + op + 1``

    Sharing:
        The one ``weight`` is scattered from every one of the ``H_in * W_in`` input positions;
        ``weight.grad`` is the sum of one part per input position (:meth:`grad_contributions`).
    """

    def __init__(
        self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *,
        stride: Pair, padding: Pair, output_padding: Pair, dilation: Pair, groups: int,
    ) -> None:
        self.batched = input.dim() == 4
        self.input = input if self.batched else input.unsqueeze(0)  # (N, C_in, H_in, W_in)
        self.weight, self.bias = weight, bias
        self.stride, self.padding, self.output_padding, self.dilation = stride, padding, output_padding, dilation
        self.groups = groups
        n, c_in, h, w = self.input.shape
        self.kernel_size: Pair = (weight.shape[2], weight.shape[3])
        self.input_size: Pair = (h, w)
        # Before cropping: every tap of every input position, plus output_padding rows/cols at the end.
        self.full_size: Pair = tuple(  # type: ignore[assignment]
            (self.input_size[d] - 1) * stride[d] + dilation[d] * (self.kernel_size[d] - 1) + 1 for d in (0, 1)
        )
        self.output_size: Pair = tuple(  # type: ignore[assignment]
            self.full_size[d] + output_padding[d] - 2 * padding[d] for d in (0, 1)
        )
        g, c_out_g = groups, weight.shape[1]
        x = self.input.reshape(n, g, c_in // g, h * w)  # (N, g, C_in/g, L_in)
        w_ = weight.reshape(g, c_in // g, -1)  # (g, C_in/g, C_out/g*kH*kW)
        copies = torch.einsum("ngcl,gck->ngkl", x, w_).reshape(n, g * c_out_g * self.kernel_size[0] * self.kernel_size[1], h * w)
        full = F.fold(copies, self.full_size, self.kernel_size, dilation=dilation, stride=stride)  # sums the overlaps
        full = F.pad(full, (0, output_padding[1], 0, output_padding[0]))  # (N, C_out, Hf + op, Wf + op)
        (ph, pw), (ho, wo) = padding, self.output_size
        out = full[..., ph : ph + ho, pw : pw + wo]
        if bias is not None:
            out = out + bias.view(1, -1, 1, 1)
        self._output = out

    @property
    def output(self) -> torch.Tensor:
        """The transposed convolution's output; equals ``F.conv_transpose2d`` on the same tensors."""
        return self._output if self.batched else self._output[0]

    @property
    def positions(self) -> int:
        """``H_in * W_in``: how many copies of the one kernel are scattered per image."""
        return self.input_size[0] * self.input_size[1]

    @property
    def overlap(self) -> torch.Tensor:
        """``(H_out, W_out)`` ints: how many (input position, tap) pairs write each output cell.

        Uneven counts are the checkerboard: stride 2 with kernel 3 gives 1, 2 and 4 in a grid.
        """
        ones = torch.ones(1, self.kernel_size[0] * self.kernel_size[1], self.positions, dtype=torch.float64)
        full = F.fold(ones, self.full_size, self.kernel_size, dilation=self.dilation, stride=self.stride)
        full = F.pad(full, (0, self.output_padding[1], 0, self.output_padding[0]))
        (ph, pw), (ho, wo) = self.padding, self.output_size
        return full[0, 0, ph : ph + ho, pw : pw + wo].round().long()

    @property
    def interior_overlap(self) -> tuple[int, ...]:
        """The distinct copy counts of :attr:`overlap` away from the border, for an input large enough.

        Along one axis an output cell gets one copy per tap ``u`` with ``u * dilation`` in its residue
        class modulo ``stride``; a cell's count is its row's times its column's. One value: even (the
        stride divides the footprint, e.g. stride 2, kernel 4); several: the checkerboard.
        """
        per_axis = [
            {sum(1 for u in range(k) if u * d % s == c) for c in range(s)}
            for k, d, s in zip(self.kernel_size, self.dilation, self.stride, strict=True)
        ]
        return tuple(sorted({a * b for a in per_axis[0] for b in per_axis[1]}))

    def window(self, ic: int, i: int, j: int, *, n: int = 0) -> Scatter:
        """Which output cells input cell ``(ic, i, j)`` of image ``n`` writes to, with which taps."""
        check_in_range(
            "input", ("ic", ic, self.input.shape[1]), ("i", i, self.input_size[0]), ("j", j, self.input_size[1]),
            ("n", n, self.input.shape[0]),
        )
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        rows = tuple(i * self.stride[0] + u * self.dilation[0] - ph for u in range(kh))
        cols = tuple(j * self.stride[1] + v * self.dilation[1] - pw for v in range(kw))
        in_rows = torch.tensor([0 <= r < self.output_size[0] for r in rows])
        in_cols = torch.tensor([0 <= c < self.output_size[1] for c in cols])
        cell = self.input[n, ic, i, j].detach()
        c_out_g = self.weight.shape[1]
        first = ic // (self.input.shape[1] // self.groups) * c_out_g
        return Scatter(
            ic, i, j, tuple(range(first, first + c_out_g)), rows, cols, in_rows[:, None] & in_cols[None, :],
            float(cell), (cell * self.weight[ic]).detach(),
        )

    def grad_contributions(self, grad_output: torch.Tensor) -> torch.Tensor:
        r"""What each *input* position adds to the kernel's gradient, for upstream gradient ``grad_output``.

        Returns:
            Tensor :math:`(H_{in}, W_{in}, C_{in}, C_{out}/g, kH, kW)`, summed over the batch;
            ``result.sum((0, 1))`` equals autograd's ``weight.grad``.
        """
        want = tuple(self.output.shape)
        if tuple(grad_output.shape) != want:
            raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}; the output's shape is {want}")
        go = grad_output if self.batched else grad_output.unsqueeze(0)
        (ph, pw), (hf, wf) = self.padding, self.full_size
        # Undo the crop: the gradient on the uncropped output (zeros on the cropped border).
        full = F.pad(go, (pw, pw, ph, ph))[..., :hf, :wf]  # (N, C_out, Hf, Wf)
        taps = F.unfold(full, self.kernel_size, dilation=self.dilation, stride=self.stride)  # (N, C_out*kH*kW, L_in)
        n, c_in = self.input.shape[:2]
        g = self.groups
        taps = taps.reshape(n, g, -1, self.positions)  # (N, g, C_out/g*kH*kW, L_in)
        x = self.input.reshape(n, g, c_in // g, self.positions)  # (N, g, C_in/g, L_in)
        parts = torch.einsum("ngcl,ngkl->lgck", x, taps)  # (L_in, g, C_in/g, C_out/g*kH*kW)
        return parts.reshape(*self.input_size, *self.weight.shape)

    def as_conv_on_dilated_input(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The same output as a plain convolution: ``(dilated_input, flipped_weight)``.

        Insert ``stride - 1`` zeros between input cells, pad ``dilation * (k - 1) - padding`` on each
        side (plus ``output_padding`` at the end), flip the kernel and swap its channel axes; then
        ``F.conv2d(dilated_input, flipped_weight, bias, dilation=dilation, groups=groups)`` equals
        :attr:`output` (for ``padding <= dilation * (k - 1)``; a larger padding crops instead).
        """
        n, c_in, h, w = self.input.shape
        (sh, sw), (kh, kw), (dh, dw) = self.stride, self.kernel_size, self.dilation
        dilated = self.input.new_zeros(n, c_in, (h - 1) * sh + 1, (w - 1) * sw + 1)
        dilated[..., ::sh, ::sw] = self.input
        (ph, pw), (oh, ow) = self.padding, self.output_padding
        pad_h, pad_w = dh * (kh - 1) - ph, dw * (kw - 1) - pw
        if pad_h < 0 or pad_w < 0:
            raise ValueError(
                f"padding={self.padding} exceeds dilation * (kernel_size - 1) = {(dh * (kh - 1), dw * (kw - 1))}: "
                f"the equivalent conv would need negative padding"
            )
        dilated = F.pad(dilated, (pad_w, pad_w + ow, pad_h, pad_h + oh))
        g, c_out_g = self.groups, self.weight.shape[1]
        flipped = self.weight.flip(2, 3).reshape(g, c_in // g, c_out_g, kh, kw).transpose(1, 2)
        return (dilated if self.batched else dilated[0]), flipped.reshape(g * c_out_g, c_in // g, kh, kw)


def conv_transpose_output_size(size: Pair, kernel_size: Pair, *, stride: Pair, padding: Pair, output_padding: Pair,
                               dilation: Pair) -> Pair:
    """``(H_out, W_out)`` of a transposed conv: ``(H_in - 1) s - 2 p + d (k - 1) + op + 1`` per side (may be < 1)."""
    return tuple(  # type: ignore[return-value]
        (size[d] - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel_size[d] - 1) + output_padding[d] + 1
        for d in (0, 1)
    )


def trace_conv_transpose2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    output_padding: int | Pair = 0,
    dilation: int | Pair = 1,
    groups: int = 1,
) -> TransposedConvTrace:
    r"""Scatter one scaled copy of ``weight`` per input position and keep the copies.

    Args:
        input (Tensor): :math:`(N, C_{in}, H, W)` or :math:`(C_{in}, H, W)`.
        weight (Tensor): :math:`(C_{in}, C_{out}/g, kH, kW)`.
        bias (Tensor, optional): :math:`(C_{out},)`. Default: ``None``.
        stride, padding, output_padding, dilation (int or pair): as in ``torch.nn.ConvTranspose2d``.
        groups (int): dividing ``C_in``. Default: 1.

    Returns:
        :class:`TransposedConvTrace`; ``trace.output`` equals ``F.conv_transpose2d`` on the same tensors.

    Raises:
        ValueError: naming the field and value, for every configuration torch refuses (stride 0,
        negative padding, ``output_padding`` not below ``stride`` or ``dilation``, an output of size
        0 or less, groups not dividing the channels, mismatched shapes).

    Example:
        >>> t = trace_conv_transpose2d(torch.ones(1, 2, 2), torch.ones(1, 1, 3, 3), stride=2)
        >>> t.overlap.tolist()[2]  # the middle row: where copies overlap
        [2, 2, 4, 2, 2]
    """
    stride_ = _pair("stride", stride, minimum=1)
    padding_ = _pair("padding", padding, minimum=0)
    output_padding_ = _pair("output_padding", output_padding, minimum=0)
    dilation_ = _pair("dilation", dilation, minimum=1)
    if input.dim() not in (3, 4):
        raise ValueError(f"input has shape {tuple(input.shape)}; expected (N, C_in, H, W) or (C_in, H, W)")
    if weight.dim() != 4:
        raise ValueError(f"weight has shape {tuple(weight.shape)}; expected (C_in, C_out/groups, kH, kW)")
    c_in = input.shape[-3]
    _check_groups(groups, in_channels=c_in)
    if weight.shape[0] != c_in:
        raise ValueError(f"weight has {weight.shape[0]} input channels (its first axis) but input has in_channels={c_in}")
    c_out = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"bias has shape {tuple(bias.shape)}; expected ({c_out},)")
    for d in (0, 1):
        if output_padding_[d] >= stride_[d] and output_padding_[d] >= dilation_[d]:
            raise ValueError(
                f"output_padding={output_padding!r} must be smaller than stride={stride!r} or dilation={dilation!r}"
            )
    size = (input.shape[-2], input.shape[-1])
    kernel = (weight.shape[2], weight.shape[3])
    out_size = conv_transpose_output_size(size, kernel, stride=stride_, padding=padding_,
                                          output_padding=output_padding_, dilation=dilation_)
    for d, side in enumerate(("height", "width")):
        out = out_size[d]
        if out < 1 or size[d] < 1:
            raise ValueError(f"padding={padding!r} leaves an output {side} of {out}; it must be at least 1")
    return TransposedConvTrace(
        input, weight, bias, stride=stride_, padding=padding_, output_padding=output_padding_,
        dilation=dilation_, groups=groups,
    )


# --- 1-D and causal convolution -------------------------------------------------------------------


class Conv1dTrace:
    r"""A 1-D convolution computed window by window (a 2-D trace of height 1), optionally causal.

    Shape:
        - input: :math:`(N, C_{in}, L)` or :math:`(C_{in}, L)`; weight: :math:`(C_{out}, C_{in}/g, k)`
        - output: :math:`(N, C_{out}, L_{out})`

    Sharing:
        One kernel at every one of the ``L_out`` positions; :meth:`grad_contributions` has one part
        per output position, summing to ``weight.grad``.
    """

    def __init__(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *,
                 stride: int, padding: int, dilation: int, groups: int, causal: bool) -> None:
        from paramshare_viz.sliding import trace_conv2d

        self.batched = input.dim() == 3
        self.input = input if self.batched else input.unsqueeze(0)  # (N, C_in, L)
        self.weight, self.bias, self.causal = weight, bias, causal
        self.stride, self.dilation, self.groups = stride, dilation, groups
        k = weight.shape[-1]
        # Causal: (k - 1) * dilation zeros on the left only, so output t reads inputs <= t.
        self.left, self.right = ((k - 1) * dilation, 0) if causal else (padding, padding)
        self.padded = F.pad(self.input, (self.left, self.right))  # (N, C_in, L + left + right)
        self._trace = trace_conv2d(
            self.padded.unsqueeze(2), weight.unsqueeze(2), bias, stride=(1, stride), dilation=(1, dilation), groups=groups,
        )

    @property
    def output(self) -> torch.Tensor:
        """Equals ``F.conv1d`` on the padded input (``F.conv1d(..., padding=p)`` when not causal)."""
        out = self._trace.output[:, :, 0]  # (N, C_out, L_out)
        return out if self.batched else out[0]

    @property
    def positions(self) -> int:
        return self._trace.output_size[1]

    @property
    def trace2d(self):  # noqa: ANN201 - a sliding.ConvTrace
        """The same computation as a 2-D trace of height 1 on the padded input (what the canvas draws)."""
        return self._trace

    def reads(self, t: int) -> tuple[int, ...]:
        """Input positions output ``t`` reads (negative ones are padding)."""
        check_in_range("output", ("t", t, self.positions))
        k = self.weight.shape[-1]
        return tuple(t * self.stride + u * self.dilation - self.left for u in range(k))

    def window(self, oc: int, t: int, *, n: int = 0):  # noqa: ANN201 - a sliding.Window of height 1
        """The taps, products and sum behind output ``(oc, t)``, as :meth:`ConvTrace.window` of height 1."""
        self.reads(t)
        return self._trace.window(oc, 0, t, n=n)

    def grad_contributions(self, grad_output: torch.Tensor) -> torch.Tensor:
        r"""Per-position parts of ``weight.grad``: :math:`(L_{out}, C_{out}, C_{in}/g, k)`, summing to it."""
        want = tuple(self.output.shape)
        if tuple(grad_output.shape) != want:
            raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}; the output's shape is {want}")
        go = grad_output if self.batched else grad_output.unsqueeze(0)
        parts = self._trace.grad_contributions(go.unsqueeze(2))  # (1, L_out, C_out, C_in/g, 1, k)
        return parts[0, :, :, :, 0, :]


def trace_conv1d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
    causal: bool = False,
) -> Conv1dTrace:
    r"""Slide ``weight`` along the last axis of ``input`` and keep the windows.

    Args:
        input (Tensor): :math:`(N, C_{in}, L)` or :math:`(C_{in}, L)`.
        weight (Tensor): :math:`(C_{out}, C_{in}/g, k)`.
        stride, padding, dilation, groups: as in ``torch.nn.Conv1d``.
        causal (bool): pad ``(k - 1) * dilation`` on the left only (``padding`` must then be 0), so
            output ``t`` reads inputs ``<= t`` and ``L_out = ceil(L / stride)``. Default: ``False``.

    Raises:
        ValueError: naming the field and value for every configuration torch refuses, and ``padding``
        given together with ``causal=True``.
    """
    for name, value, minimum in (("stride", stride, 1), ("padding", padding, 0), ("dilation", dilation, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            need = "a positive integer" if minimum else "a non-negative integer"
            raise ValueError(f"{name}={value!r} must be {need}")
    if causal and padding:
        raise ValueError(f"padding={padding} with causal=True: a causal conv pads (k - 1) * dilation on the left only")
    if input.dim() not in (2, 3):
        raise ValueError(f"input has shape {tuple(input.shape)}; expected (N, C_in, L) or (C_in, L)")
    if weight.dim() != 3:
        raise ValueError(f"weight has shape {tuple(weight.shape)}; expected (C_out, C_in/groups, k)")
    c_in, c_out = input.shape[-2], weight.shape[0]
    _check_groups(groups, in_channels=c_in, out_channels=c_out)
    if weight.shape[1] * groups != c_in:
        raise ValueError(
            f"weight has {weight.shape[1]} input channels per group but input has in_channels={c_in} "
            f"with groups={groups} (needs {c_in // groups})"
        )
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"bias has shape {tuple(bias.shape)}; expected ({c_out},)")
    k, length = weight.shape[-1], input.shape[-1]
    span = dilation * (k - 1) + 1
    padded = length + ((k - 1) * dilation if causal else 2 * padding)
    if span > padded:
        raise ValueError(
            f"kernel_size={k} (dilation={dilation}, spanning {span} steps) is longer than the padded input "
            f"of {padded} steps ({length} plus padding)"
        )
    return Conv1dTrace(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups,
                       causal=causal)


@dataclass(frozen=True)
class LocalTwin1d:
    """A 1-D locally connected layer: its own kernel at every output position (the unshared twin).

    ``weight`` is ``(L_out, C_out, C_in/g * k)``, position-major as the zoo's ``LocallyConnected2d``;
    ``bias`` is ``(L_out, C_out)``; ``output`` is ``(N, C_out, L_out)`` on the trace's padded input.
    """

    weight: torch.Tensor
    bias: torch.Tensor | None
    output: torch.Tensor

    @property
    def params(self) -> int:
        """Parameters of the twin: every position's kernel and bias."""
        return self.weight.numel() + (self.bias.numel() if self.bias is not None else 0)


def local_twin_1d(trace: Conv1dTrace, *, spread: float = 0.5, seed: int = 0) -> LocalTwin1d:
    """The locally connected twin of a 1-D conv: the conv's kernel plus seeded noise at each position.

    ``spread`` is the noise's size relative to the kernel's root mean square (0: the twin at pairing
    time, the same function as the conv), as :func:`paramshare_viz.sliding.locally_connected_twin`.
    """
    w = trace.weight.detach()
    c_out, cg, k = w.shape
    length, g = trace.positions, trace.groups
    weight = w.reshape(1, c_out, cg * k).repeat(length, 1, 1)  # (L_out, C_out, C_in/g*k)
    if spread:
        noise = torch.randn(weight.shape, generator=torch.Generator().manual_seed(seed), dtype=weight.dtype)
        weight = weight + noise * spread * float(w.pow(2).mean().sqrt().clamp_min(1e-3))
    bias = None if trace.bias is None else trace.bias.detach().reshape(1, c_out).repeat(length, 1)
    span = trace.dilation * (k - 1) + 1
    windows = trace.padded.unfold(-1, span, trace.stride)[..., :: trace.dilation]  # (N, C_in, L_out, k)
    n = windows.shape[0]
    x = windows.reshape(n, g, cg, length, k)
    per = weight.reshape(length, g, c_out // g, cg, k)
    out = torch.einsum("ngclk,lgock->ngol", x, per).reshape(n, c_out, length)
    if bias is not None:
        out = out + bias.T
    return LocalTwin1d(weight, bias, out)


def conv1d_gradient_check(trace: Conv1dTrace):  # noqa: ANN201 - a sliding.GradientCheck
    """:func:`paramshare_viz.sliding.gradient_check` for a 1-D trace, for ``L = ½ Σ output²``.

    ``contributions`` is :meth:`Conv1dTrace.grad_contributions` laid out as a 2-D trace of height 1,
    ``(1, L_out, C_out, C_in/g, 1, k)``; ``autograd`` is ``weight.grad`` of ``F.conv1d`` on the padded
    input, ``(C_out, C_in/g, 1, k)``.
    """
    from paramshare_viz.sliding import HALF_SQUARED_OUTPUT, GradientCheck

    go = trace.output.detach()
    parts = trace.grad_contributions(go)  # (L_out, C_out, C_in/g, k)
    weight = trace.weight.detach().clone().requires_grad_(True)
    x = trace.padded if trace.batched else trace.padded[0]
    F.conv1d(x, weight, trace.bias, stride=trace.stride, dilation=trace.dilation, groups=trace.groups).backward(go)
    assert weight.grad is not None
    summed = parts.sum(0)
    return GradientCheck(parts[None, :, :, :, None, :], summed[:, :, None], weight.grad[:, :, None],
                         float((summed - weight.grad).abs().max()), HALF_SQUARED_OUTPUT)


def transposed_gradient_check(trace: TransposedConvTrace):  # noqa: ANN201 - a sliding.GradientCheck
    """:func:`paramshare_viz.sliding.gradient_check` for a transposed conv, for ``L = ½ Σ output²``.

    ``contributions`` has one part per *input* position, ``(H_in, W_in, C_in, C_out/g, kH, kW)``;
    ``autograd`` is ``weight.grad`` of ``F.conv_transpose2d`` on the same tensors.
    """
    from paramshare_viz.sliding import HALF_SQUARED_OUTPUT, GradientCheck

    go = trace.output.detach()
    parts = trace.grad_contributions(go)
    weight = trace.weight.detach().clone().requires_grad_(True)
    x = trace.input if trace.batched else trace.input[0]
    F.conv_transpose2d(
        x, weight, trace.bias, stride=trace.stride, padding=trace.padding, output_padding=trace.output_padding,
        dilation=trace.dilation, groups=trace.groups,
    ).backward(go)
    assert weight.grad is not None
    summed = parts.sum((0, 1))
    return GradientCheck(parts, summed, weight.grad, float((summed - weight.grad).abs().max()), HALF_SQUARED_OUTPUT)


@dataclass(frozen=True)
class DilatedEquivalence:
    """A transposed conv as a plain conv: the stride-dilated input, the flipped kernel, both outputs.

    ``dilated`` is ``(C_in, H', W')`` of image 0 (zeros inserted between cells and around them),
    ``flipped`` the conv weight ``(C_out, C_in/g, kH, kW)``, ``conv_output`` ``F.conv2d`` on them,
    ``max_abs_diff`` its largest distance from the transposed conv's output; ``original`` is
    ``(H', W')`` bool, true where ``dilated`` holds an input cell (elsewhere: inserted zeros, padding).
    """

    dilated: torch.Tensor
    original: torch.Tensor
    flipped: torch.Tensor
    conv_output: torch.Tensor
    max_abs_diff: float


def dilated_equivalence(trace: TransposedConvTrace) -> DilatedEquivalence:
    """Measure :meth:`TransposedConvTrace.as_conv_on_dilated_input` against the trace's output.

    Raises:
        ValueError: when ``padding`` exceeds ``dilation * (kernel_size - 1)`` (the conv would need
        negative padding).
    """
    dilated, flipped = trace.as_conv_on_dilated_input()
    x = dilated if trace.batched else dilated[None]
    out = F.conv2d(x, flipped, trace.bias, dilation=trace.dilation, groups=trace.groups)  # (N, C_out, H_out, W_out)
    diff = float((out - trace._output).abs().max())
    (sh, sw), (kh, kw), (dh, dw), (ph, pw) = trace.stride, trace.kernel_size, trace.dilation, trace.padding
    original = torch.zeros(x.shape[-2:], dtype=torch.bool)
    top, left = dh * (kh - 1) - ph, dw * (kw - 1) - pw  # the padding before the first input cell
    original[top : top + (trace.input_size[0] - 1) * sh + 1 : sh, left : left + (trace.input_size[1] - 1) * sw + 1 : sw] = True
    return DilatedEquivalence(x[0].detach(), original, flipped.detach(), out[0].detach(), diff)


@dataclass(frozen=True)
class TCNLayer:
    """One layer of a stack of causal dilated convolutions (a TCN / WaveNet stack)."""

    depth: int
    dilation: int
    receptive_field: int  # input steps the top output reads after this layer: 1 + sum (k - 1) * d
    params: int  # parameters of the stack so far (weights and biases)


def tcn_stack(kernel_size: int = 2, dilations: tuple[int, ...] = (1, 2, 4, 8), channels: int = 1) -> list[TCNLayer]:
    """Receptive field and parameters of a causal dilated stack, layer by layer.

    With dilations doubling, the receptive field grows exponentially with depth (``2**L`` for
    ``k = 2``) while the parameters grow linearly (``L * (C*C*k + C)``): every layer is one small
    kernel shared over all time steps.

    Example:
        >>> [layer.receptive_field for layer in tcn_stack()]
        [2, 4, 8, 16]
    """
    for name, value in (("kernel_size", kernel_size), ("channels", channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer")
    if not dilations or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dilations):
        raise ValueError(f"dilations={dilations!r} must be positive integers, at least one")
    layers, field, params = [], 1, 0
    for depth, d in enumerate(dilations, start=1):
        field += (kernel_size - 1) * d
        params += channels * channels * kernel_size + channels
        layers.append(TCNLayer(depth, d, field, params))
    return layers
