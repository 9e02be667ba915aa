"""Tied autoencoder: the decoder uses the encoder weight transposed, and its untied twin."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from paramshare_viz.models.registry import Footprint, Form, register


@dataclass(frozen=True)
class TiedAutoencoderConfig:
    """A one-hidden-layer autoencoder (``torch.nn.Linear`` / timm ``Mlp`` names)."""

    in_features: int = 16
    hidden_features: int = 4  # the bottleneck
    bias: bool = True

    def __post_init__(self) -> None:
        for name in ("in_features", "hidden_features"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")


class TiedAutoencoder(nn.Module):
    r"""``x_hat = W^T sigmoid(W x + b_enc) + b_dec`` (Vincent et al., 2008).

    The shared model's decoder computes ``F.linear(h, encoder.weight.t(), decoder_bias)``
    with the encoder's own ``Parameter``: one ``(H, F)`` matrix encodes and
    decodes. The unshared twin has a separate ``decoder`` ``nn.Linear`` whose
    weight starts as a copy of ``encoder.weight.T``.

    Args:
        config (TiedAutoencoderConfig): ``F`` in_features, ``H`` hidden_features, bias.
        shared (bool): tied (True) or separate decoder (False). Default: ``True``.

    Shape:
        - Input: :math:`(N, F)`, ``N`` batch.
        - Output: :math:`(N, F)`, the reconstruction.

    Attributes:
        encoder.weight: ``(H, F)``; encoder.bias: ``(H,)``.
        decoder_bias: ``(F,)`` (shared model), zeros at init.
        decoder.weight: ``(F, H)``; decoder.bias: ``(F,)`` (twin only).

    Sharing:
        ``encoder.weight`` is used twice (as ``W`` and ``W^T``).
        shared: ``F*H + H + F``; unshared: ``2*F*H + H + F`` (``H + F`` only with
        ``bias``). ``F*H >= 1``, so the twin always has strictly more parameters.

    Example:
        >>> m = TiedAutoencoder(TiedAutoencoderConfig())
        >>> m(torch.randn(2, 16)).shape
        torch.Size([2, 16])
    """

    decoder_bias: nn.Parameter | None  # registered in __init__ (shared model only)

    def __init__(self, config: TiedAutoencoderConfig, shared: bool = True) -> None:
        super().__init__()
        self.config, self.shared = config, shared
        f, h = config.in_features, config.hidden_features
        self.encoder = nn.Linear(f, h, bias=config.bias)
        if shared:
            self.register_parameter("decoder_bias", nn.Parameter(torch.zeros(f)) if config.bias else None)
        else:
            self.decoder = nn.Linear(h, f, bias=config.bias)
            if config.bias:
                nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -1 / math.sqrt(f), 1 / math.sqrt(f))  # encoder's scale

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.encoder(x))  # (N, H)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        if self.shared:
            return F.linear(h, self.encoder.weight.t(), self.decoder_bias)  # tied: W^T of the same Parameter
        return self.decoder(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))  # (N, F)


def build(config: TiedAutoencoderConfig, shared: bool) -> nn.Module:
    return TiedAutoencoder(config, shared)


def example_input(config: TiedAutoencoderConfig, batch: int) -> torch.Tensor:
    return torch.randn(batch, config.in_features)


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    shared, unshared = cast(TiedAutoencoder, shared), cast(TiedAutoencoder, unshared)
    unshared.encoder.load_state_dict(shared.encoder.state_dict())
    unshared.decoder.weight.copy_(shared.encoder.weight.t())
    if shared.decoder_bias is not None:
        unshared.decoder.bias.copy_(shared.decoder_bias)


def param_count(config: TiedAutoencoderConfig, shared: bool) -> int:
    f, h = config.in_features, config.hidden_features
    weights = f * h if shared else 2 * f * h
    return weights + (h + f if config.bias else 0)


def footprint(config: TiedAutoencoderConfig, shared: bool, batch: int) -> Footprint:
    """Costs of :func:`build` and one forward on ``example_input`` (see :class:`Footprint`)."""
    f, h = config.in_features, config.hidden_features
    inputs = batch * f
    return Footprint(param_count(config, shared), 0, inputs, inputs + batch * (2 * h + 2 * f),
                     modules=2 if shared else 3, ops=6 if shared else 5)


register(
    Form(
        name="tied_autoencoder",
        config_cls=TiedAutoencoderConfig,
        build=build,
        example_input=example_input,
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="Autoencoder: decoder uses the encoder weight transposed vs a separate decoder",
        in_call_note=lambda c: "the decoder reuses the encoder weight, transposed",
    )
)
