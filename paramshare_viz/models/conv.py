"""Convolution: one kernel slid over every position, and its locally connected twin.

The shared model is a plain :class:`torch.nn.Conv2d`. The unshared twin,
:class:`LocallyConnected2d`, has the same receptive fields (stride, padding,
dilation, groups) but its own kernel and bias at every output position. A
dense layer mapping the whole image to the whole output map is the third point
of the comparison; :func:`conv_param_counts` gives all three counts without
building anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from paramshare_viz.models.registry import Footprint, Form, Reference, register


@dataclass(frozen=True)
class ConvConfig:
    """A square 2-D convolution over a square image (``torch.nn.Conv2d`` names).

    ``bias`` applies to all three points of the comparison (conv, locally
    connected, dense).
    """

    in_channels: int = 3  # RGB
    out_channels: int = 8
    kernel_size: int = 3
    stride: int = 1
    padding: int = 1  # "same" output size for the default 3x3 kernel
    dilation: int = 1
    groups: int = 1
    image_size: int = 8  # small enough that the Slide tab shows every position
    bias: bool = True

    def __post_init__(self) -> None:
        for name in (
            "in_channels",
            "out_channels",
            "kernel_size",
            "stride",
            "dilation",
            "groups",
            "image_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if isinstance(self.padding, bool) or not isinstance(self.padding, int) or self.padding < 0:
            raise ValueError(f"padding={self.padding!r} must be a non-negative integer")
        for name in ("in_channels", "out_channels"):
            if getattr(self, name) % self.groups:
                raise ValueError(f"groups={self.groups} does not divide {name}={getattr(self, name)}")
        padded = self.image_size + 2 * self.padding
        span = self.dilation * (self.kernel_size - 1) + 1
        if span > padded:
            what = f"kernel_size={self.kernel_size}"
            if self.dilation > 1:
                what += f" with dilation={self.dilation} spans {span} pixels and"
            raise ValueError(
                f"{what} is larger than the padded input "
                f"of {padded} pixels (image_size={self.image_size} plus twice padding={self.padding})"
            )
        if output_size(self) == (1, 1):
            raise ValueError(
                f"the output is 1x1 (image_size={self.image_size}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}): the locally "
                f"connected twin would have exactly the conv's parameters; use a larger image_size or a "
                f"smaller kernel_size or stride"
            )


def output_size(config: ConvConfig) -> tuple[int, int]:
    """``(H_out, W_out)`` of the convolution, as in ``torch.nn.Conv2d``'s docstring."""
    span = config.dilation * (config.kernel_size - 1) + 1
    side = (config.image_size + 2 * config.padding - span) // config.stride + 1
    return side, side


def conv_param_counts(config: ConvConfig) -> dict[str, int]:
    """Unique parameters of the three points: ``conv``, ``locally_connected`` and ``dense``.

    ``dense`` is a ``nn.Linear(C_in*H*W, C_out*H_out*W_out)``; every count
    includes biases when ``config.bias``.
    """
    h_out, w_out = output_size(config)
    positions = h_out * w_out
    kernel = config.out_channels * (config.in_channels // config.groups) * config.kernel_size**2
    b = config.out_channels if config.bias else 0
    dense_in = config.in_channels * config.image_size**2
    dense_out = config.out_channels * positions
    return {
        "conv": kernel + b,
        "locally_connected": positions * (kernel + b),
        "dense": dense_in * dense_out + (dense_out if config.bias else 0),
    }


class LocallyConnected2d(nn.Module):
    r"""A convolution without weight sharing: its own kernel at every output position.

    Same receptive fields as ``nn.Conv2d`` with the same arguments; computed as
    ``F.unfold`` (im2col) followed by a per-position ``einsum``.

    Args:
        in_channels (int): ``C_in``.
        out_channels (int): ``C_out``.
        kernel_size (int): ``k``, square kernel.
        input_size (int): ``H = W``, the (square) input side the layer is built for.
        stride, padding, dilation, groups (int): as in ``nn.Conv2d``. Default: 1, 0, 1, 1.
        bias (bool): a bias per position and output channel. Default: ``True``.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})`, sizes as in ``nn.Conv2d``.

    Attributes:
        weight: ``(H_out*W_out, C_out, C_in/g*k*k)``, position-major; row ``p`` is
            ``conv.weight.flatten(1)`` for the kernel used at position ``p``.
        bias: ``(H_out*W_out, C_out)``, or ``None``.

    Sharing:
        None: ``H_out*W_out*(C_out*C_in/g*k*k + C_out)`` parameters, ``H_out*W_out``
        times the conv's ``C_out*C_in/g*k*k + C_out``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        input_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        span = dilation * (kernel_size - 1) + 1
        side = (input_size + 2 * padding - span) // stride + 1
        self.input_size, self.output_size = (input_size, input_size), (side, side)
        fan_in = in_channels // groups * kernel_size**2
        self.weight = nn.Parameter(torch.empty(side * side, out_channels, fan_in))
        self.bias = nn.Parameter(torch.empty(side * side, out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Same distribution as nn.Conv2d's default init, drawn per position.
        bound = 1 / math.sqrt(self.weight.shape[-1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, g = x.shape[0], self.groups
        cols = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)  # (N, C_in*k*k, P)
        cols = cols.view(n, g, -1, cols.shape[-1])  # (N, g, C_in/g*k*k, P)
        w = self.weight.view(self.weight.shape[0], g, self.out_channels // g, -1)  # (P, g, C_out/g, K)
        out = torch.einsum("ngkp,pgok->ngop", cols, w).reshape(n, self.out_channels, -1)  # (N, C_out, P)
        if self.bias is not None:
            out = out + self.bias.t()
        return out.view(n, self.out_channels, *self.output_size)

    @torch.no_grad()
    def copy_from_conv(self, conv: nn.Conv2d) -> None:
        """Give every position ``conv``'s kernel and bias (the twin at pairing time)."""
        self.weight.copy_(conv.weight.flatten(1).expand_as(self.weight))
        if self.bias is not None:
            assert conv.bias is not None  # the twin has a bias only when the conv has one
            self.bias.copy_(conv.bias.expand_as(self.bias))

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"input_size={self.input_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, groups={self.groups}, bias={self.bias is not None}"
        )


def build(config: ConvConfig, shared: bool) -> nn.Module:
    """``nn.Conv2d`` (shared) or :class:`LocallyConnected2d` (unshared) from ``config``.

    Args:
        config (ConvConfig): ``C_in, C_out, k, stride, padding, dilation, g, H = W, bias``.
        shared (bool): the convolution (True) or its locally connected twin (False).

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`, ``N`` batch.
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})`, see :func:`output_size`.

    Attributes:
        weight: conv ``(C_out, C_in/g, k, k)``; twin ``(H_out*W_out, C_out, C_in/g*k*k)``.
        bias: conv ``(C_out,)``; twin ``(H_out*W_out, C_out)``; absent without ``bias``.

    Sharing:
        The conv's one kernel is used at all ``H_out*W_out`` positions.
        conv: ``C_out*(C_in/g*k*k) + C_out``; locally connected:
        ``H_out*W_out*(C_out*C_in/g*k*k + C_out)``; dense (:func:`build_dense`):
        ``C_in*H*W*C_out*H_out*W_out + C_out*H_out*W_out``. The ``C_out`` bias terms
        only with ``bias``. The config rejects a 1x1 output, so the twin always
        has strictly more parameters.

    Example:
        >>> conv_param_counts(ConvConfig())  # 8*27 + 8; 64*224; 192*512 + 512
        {'conv': 224, 'locally_connected': 14336, 'dense': 98816}
    """
    kw: dict[str, Any] = dict(
        stride=config.stride, padding=config.padding, dilation=config.dilation, groups=config.groups
    )
    if shared:
        return nn.Conv2d(
            config.in_channels, config.out_channels, config.kernel_size, bias=config.bias, **kw
        )  # one kernel slid over every position
    return LocallyConnected2d(
        config.in_channels, config.out_channels, config.kernel_size, config.image_size, bias=config.bias, **kw
    )


def build_dense(config: ConvConfig) -> nn.Linear:
    """The third point: ``nn.Linear(C_in*H*W, C_out*H_out*W_out)`` on the current device."""
    h_out, w_out = output_size(config)
    return nn.Linear(
        config.in_channels * config.image_size**2, config.out_channels * h_out * w_out, bias=config.bias
    )


def example_input(config: ConvConfig, batch: int) -> torch.Tensor:
    return torch.randn(batch, config.in_channels, config.image_size, config.image_size)


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    assert isinstance(shared, nn.Conv2d) and isinstance(unshared, LocallyConnected2d)
    unshared.copy_from_conv(shared)


def param_count(config: ConvConfig, shared: bool) -> int:
    counts = conv_param_counts(config)
    return counts["conv"] if shared else counts["locally_connected"]


def footprint(config: ConvConfig, shared: bool, batch: int) -> Footprint:
    """Costs of :func:`build` and one forward on ``example_input`` (see :class:`Footprint`)."""
    c = config
    side = max(output_size(c)[0], 0)
    inputs = batch * c.in_channels * c.image_size**2
    out = batch * c.out_channels * side * side
    if shared:
        return Footprint(param_count(c, True), 0, inputs, inputs + out, modules=1, ops=1)
    cols = batch * c.in_channels * c.kernel_size**2 * side * side  # F.unfold's (N, C_in*k*k, P)
    return Footprint(param_count(c, False), 0, inputs, inputs + cols + 3 * out, modules=1, ops=19)


register(
    Form(
        name="conv",
        config_cls=ConvConfig,
        build=build,
        example_input=example_input,
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="CNN: one kernel slid over every position vs a locally connected layer",
        in_call_note=lambda c: f"one kernel reused at {math.prod(output_size(c)):,} positions",
        side_labels=("Conv2d (shared)", "Locally connected"),
        reference=Reference(
            "dense", "Dense", lambda c: conv_param_counts(c)["dense"],
            "parameters of one dense layer from the whole image to the whole output map; N× = dense / shared",
        ),
    )
)
