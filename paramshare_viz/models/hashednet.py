"""HashedNets: a virtual weight matrix hashed into K shared buckets, and its dense twin."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from paramshare_viz.models.registry import Footprint, Form, register
from paramshare_viz.units import fmt_bytes

#: A HashedLinear built directly (not through the zoo, whose budgets count the index
#: map as buffer bytes) refuses to allocate more than this much of it off the meta device.
MAX_INDEX_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class HashedNetConfig:
    """A hashed linear layer (Chen et al., 2015), ``torch.nn.Linear`` names."""

    in_features: int = 16
    out_features: int = 8
    num_buckets: int = 32  # K: 128 virtual weights stored in 32 numbers, a 4x compression
    sign_hash: bool = True  # a second hash gives each entry a sign, so collisions cancel on average
    seed: int = 0  # the hash is a fixed random map drawn from this seed
    bias: bool = True  # a dense (out_features,) bias, not hashed, as in the paper

    def __post_init__(self) -> None:
        for name in ("in_features", "out_features", "num_buckets"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed={self.seed!r} must be a non-negative integer")
        virtual = self.in_features * self.out_features
        if self.num_buckets >= virtual:
            raise ValueError(
                f"num_buckets={self.num_buckets} must be fewer than the virtual weight's "
                f"out_features*in_features = {self.out_features}*{self.in_features} = {virtual} entries; "
                f"otherwise hashing shares nothing"
            )


def hash_maps(config: HashedNetConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """``(index, sign)`` of shape ``(out_features, in_features)`` on CPU, deterministic from ``seed``.

    ``index`` (int64) uses every bucket at least once (no dead buckets): ``K``
    entries cover ``0..K-1`` and the rest are uniform, then all are shuffled.
    ``sign`` (int8) is ``+1`` or ``-1``, uniform.
    """
    g = torch.Generator(device="cpu").manual_seed(config.seed)
    shape = (config.out_features, config.in_features)
    k, m = config.num_buckets, math.prod(shape)
    idx = torch.cat([torch.arange(k, device="cpu"), torch.randint(k, (m - k,), generator=g, device="cpu")])
    idx = idx[torch.randperm(m, generator=g, device="cpu")].view(shape)
    sign = (torch.randint(2, shape, generator=g, device="cpu", dtype=torch.int8) * 2 - 1).to(torch.int8)
    return idx, sign


class HashedLinear(nn.Module):
    r"""A linear layer whose ``(out, in)`` weight is read from ``K`` shared buckets.

    ``W[i, j] = buckets[index[i, j]] * sign[i, j]`` and ``y = x W^T + bias``.
    The index map is a fixed random hash (a buffer, drawn on CPU from
    ``config.seed`` and moved to the build device; never learned). The
    unshared twin is the dense ``nn.Linear`` this virtual weight expands to.

    Args:
        config (HashedNetConfig): ``I`` in_features, ``O`` out_features, ``K`` num_buckets,
            sign_hash, seed, bias.

    Shape:
        - Input: :math:`(N, *, I)`, ``N`` batch.
        - Output: :math:`(N, *, O)`.

    Attributes:
        buckets: ``(K,)``, the only weight parameters.
        bias: ``(O,)``, or ``None``.
        index (buffer): ``(O, I)`` int64, bucket of each virtual entry.
        sign (buffer): ``(O, I)`` int8 of ``+-1``, or ``None`` without ``sign_hash``.

    Sharing:
        Each bucket is shared by about ``O*I/K`` virtual entries.
        shared: ``K + O``; unshared (dense): ``O*I + O`` (``O`` only with
        ``bias``). The config requires ``K < O*I``, so the twin always has
        strictly more parameters.

    Example:
        >>> m = HashedLinear(HashedNetConfig())
        >>> m(torch.randn(2, 16)).shape, m.virtual_weight().shape
        (torch.Size([2, 8]), torch.Size([8, 16]))
    """

    index: torch.Tensor  # buffers and bias are registered in __init__
    sign: torch.Tensor | None
    bias: nn.Parameter | None

    def __init__(self, config: HashedNetConfig) -> None:
        super().__init__()
        self.config = config
        o, i = config.out_features, config.in_features
        device = torch.get_default_device()  # honours `with torch.device(...)`
        if device.type == "meta":  # count without drawing the hash
            index, sign = torch.empty(o, i, dtype=torch.long), torch.empty(o, i, dtype=torch.int8)
        else:
            need = o * i * (8 + (1 if config.sign_hash else 0))
            if need > MAX_INDEX_BYTES:
                raise ValueError(
                    f"hashednet: the index map of out_features x in_features = {o:,} x {i:,} entries needs "
                    f"{fmt_bytes(need)}, over {fmt_bytes(MAX_INDEX_BYTES)}; lower in_features or out_features, "
                    f"or build it on the meta device to count without allocating"
                )
            index, sign = (t.to(device) for t in hash_maps(config))
        self.register_buffer("index", index)
        self.register_buffer("sign", sign if config.sign_hash else None)
        bound = 1 / math.sqrt(i)  # nn.Linear's default scale for the virtual weight
        self.buckets = nn.Parameter(torch.empty(config.num_buckets).uniform_(-bound, bound))
        self.register_parameter(
            "bias", nn.Parameter(torch.empty(o).uniform_(-bound, bound)) if config.bias else None
        )

    def virtual_weight(self) -> torch.Tensor:
        """The ``(O, I)`` weight the buckets stand for."""
        w = self.buckets[self.index]  # (O, I), gathered on the buckets' device
        return w * self.sign if self.sign is not None else w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.virtual_weight(), self.bias)


def build(config: HashedNetConfig, shared: bool) -> nn.Module:
    if shared:
        return HashedLinear(config)
    return nn.Linear(config.in_features, config.out_features, bias=config.bias)


def example_input(config: HashedNetConfig, batch: int) -> torch.Tensor:
    return torch.randn(batch, config.in_features)


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    shared, unshared = cast(HashedLinear, shared), cast(nn.Linear, unshared)
    unshared.weight.copy_(shared.virtual_weight())
    if shared.bias is not None:
        unshared.bias.copy_(shared.bias)


def param_count(config: HashedNetConfig, shared: bool) -> int:
    b = config.out_features if config.bias else 0
    if shared:
        return config.num_buckets + b
    return config.out_features * config.in_features + b


def footprint(config: HashedNetConfig, shared: bool, batch: int) -> Footprint:
    """Costs of :func:`build` and one forward on ``example_input`` (see :class:`Footprint`).

    The shared model's buffer bytes include the temporaries :func:`hash_maps`
    draws to fill the index map (three int64 tensors of ``O*I`` entries).
    """
    c = config
    virtual, inputs = c.out_features * c.in_features, batch * c.in_features
    activations = inputs + batch * c.out_features
    if not shared:
        return Footprint(param_count(c, False), 0, inputs, activations, modules=1, ops=2)
    buffers = virtual * (8 + (1 if c.sign_hash else 0))  # int64 index, int8 sign
    return Footprint(param_count(c, True), buffers + 3 * 8 * virtual, inputs, activations + 2 * virtual,
                     modules=1, ops=4 if c.sign_hash else 3)  # the forward gathers (and signs) the whole virtual weight


register(
    Form(
        name="hashednet",
        config_cls=HashedNetConfig,
        build=build,
        example_input=example_input,
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="HashedNets: a virtual weight hashed into K shared buckets vs a dense matrix",
        in_call_note=lambda c: f"{c.in_features * c.out_features:,} virtual weights from {c.num_buckets:,} buckets",
    )
)
