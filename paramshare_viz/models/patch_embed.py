"""ViT patch embedding: one projection for every patch, and its per-patch twin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from paramshare_viz.models.conv import LocallyConnected2d
from paramshare_viz.models.registry import Footprint, Form, register


@dataclass(frozen=True)
class PatchEmbedConfig:
    """Patch embedding of a square image (timm / Hugging Face ViT names)."""

    image_size: int = 8  # ViT-B uses 224; 8 keeps the default instant on CPU
    patch_size: int = 4  # -> (8/4)**2 = 4 patches
    in_channels: int = 3
    embed_dim: int = 16
    bias: bool = True

    def __post_init__(self) -> None:
        for name in ("image_size", "patch_size", "in_channels", "embed_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if self.image_size % self.patch_size:
            raise ValueError(f"patch_size={self.patch_size} does not divide image_size={self.image_size}")
        if self.num_patches == 1:
            raise ValueError(
                f"patch_size={self.patch_size} equals image_size={self.image_size}: a single patch, so the "
                f"per-patch twin would have exactly the shared parameters; use a smaller patch_size"
            )

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


class PatchEmbed(nn.Module):
    r"""Cut an image into non-overlapping patches and project each to ``embed_dim``.

    The shared model is ViT's ``nn.Conv2d(C, D, kernel_size=P, stride=P)``: one
    ``(D, C*P*P)`` projection applied to every patch. The unshared twin has
    its own projection and bias per patch (a :class:`LocallyConnected2d` with
    kernel = stride = ``P``).

    Args:
        config (PatchEmbedConfig): ``H = W`` image_size, ``P`` patch_size,
            ``C`` in_channels, ``D`` embed_dim, bias.
        shared (bool): one projection (True) or one per patch (False). Default: ``True``.

    Shape:
        - Input: :math:`(N, C, H, W)`, ``N`` batch.
        - Output: :math:`(N, T, D)` with ``T = (H/P)**2`` patches, row-major.

    Attributes:
        proj.weight: shared ``(D, C, P, P)``; twin ``(T, D, C*P*P)``.
        proj.bias: shared ``(D,)``; twin ``(T, D)``; absent without ``bias``.

    Sharing:
        The projection is used at all ``T`` patches.
        shared: ``D*C*P*P + D``; unshared: ``T*(D*C*P*P + D)`` (``D`` terms only
        with ``bias``). The config rejects ``T = 1``, so the twin always has
        strictly more parameters.

    Example:
        >>> m = PatchEmbed(PatchEmbedConfig())
        >>> m(torch.randn(2, 3, 8, 8)).shape
        torch.Size([2, 4, 16])
    """

    def __init__(self, config: PatchEmbedConfig, shared: bool = True) -> None:
        super().__init__()
        self.config, self.shared = config, shared
        c, d, p = config.in_channels, config.embed_dim, config.patch_size
        self.proj: nn.Conv2d | LocallyConnected2d
        if shared:
            self.proj = nn.Conv2d(c, d, p, stride=p, bias=config.bias)  # one projection for every patch
        else:
            self.proj = LocallyConnected2d(c, d, p, config.image_size, stride=p, bias=config.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (N, D, H/P, W/P) -> (N, T, D)


def build(config: PatchEmbedConfig, shared: bool) -> nn.Module:
    return PatchEmbed(config, shared)


def example_input(config: PatchEmbedConfig, batch: int) -> torch.Tensor:
    return torch.randn(batch, config.in_channels, config.image_size, config.image_size)


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    shared, unshared = cast(PatchEmbed, shared), cast(PatchEmbed, unshared)
    cast(LocallyConnected2d, unshared.proj).copy_from_conv(cast(nn.Conv2d, shared.proj))


def param_count(config: PatchEmbedConfig, shared: bool) -> int:
    per_patch = config.embed_dim * config.in_channels * config.patch_size**2
    per_patch += config.embed_dim if config.bias else 0
    return per_patch if shared else config.num_patches * per_patch


def footprint(config: PatchEmbedConfig, shared: bool, batch: int) -> Footprint:
    """Costs of :func:`build` and one forward on ``example_input`` (see :class:`Footprint`)."""
    c = config
    inputs = batch * c.in_channels * c.image_size**2
    out = batch * c.embed_dim * c.num_patches
    if shared:
        return Footprint(param_count(c, True), 0, inputs, inputs + 2 * out, modules=2, ops=3)
    cols = batch * c.in_channels * c.patch_size**2 * c.num_patches  # F.unfold's (N, C*P*P, T)
    return Footprint(param_count(c, False), 0, inputs, inputs + cols + 3 * out, modules=2, ops=21)


register(
    Form(
        name="patch_embed",
        config_cls=PatchEmbedConfig,
        build=build,
        example_input=example_input,
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="ViT patch embedding: one projection for every patch vs one per patch",
        in_call_note=lambda c: f"one projection reused at {c.num_patches:,} patches",
    )
)
