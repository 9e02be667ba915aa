"""``gqa``: grouped-query attention (Ainslie et al., 2023). ``num_heads`` query
heads share ``groups`` key/value heads, ``num_heads / groups`` query heads per
group; ``groups=1`` is multi-query attention (Shazeer, 2019). The twin is full
multi-head attention whose K/V projections hold each group's weights
replicated for every query head of the group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from paramshare_viz.models.registry import Footprint, Form, register
from paramshare_viz.models.transformer import SelfAttention, attention_params, check_at_least, check_heads


@dataclass(frozen=True)
class GQAConfig:
    """Sizes of the causal self-attention layer (Mistral-7B: 4096, 32 heads, groups=8)."""

    hidden_size: int = 32
    num_heads: int = 8
    groups: int = 2  # K/V heads (HF: num_key_value_heads); 1 = MQA; must be < num_heads
    bias: bool = False  # Llama/Mistral projections carry no bias
    seq_len: int = 8  # length of example_input

    def __post_init__(self) -> None:
        check_heads(self.hidden_size, self.num_heads)
        check_at_least(1, groups=self.groups, seq_len=self.seq_len)
        if self.num_heads % self.groups:
            raise ValueError(f"groups={self.groups!r} must divide num_heads={self.num_heads}")
        if self.groups == self.num_heads:
            raise ValueError(
                f"groups={self.groups!r} equals num_heads={self.num_heads}: that is plain multi-head "
                f"attention, the twin itself, so nothing is shared; use groups < num_heads"
            )


class GroupedQueryAttention(SelfAttention):
    r"""Causal self-attention with ``groups`` K/V heads (``shared=True``) or ``num_heads`` (the twin).

    Args:
        config (GQAConfig): sizes.
        shared (bool): grouped K/V heads (True) or one K/V head per query head (False).

    Shape:
        - Input: :math:`(N, L, C)`; Output: :math:`(N, L, C)`.

    Attributes:
        q_proj, out_proj: ``Linear(C, C)``.
        k_proj, v_proj: ``Linear(C, g d)`` with ``d = C / h`` and ``g = groups`` (twin: ``g = h``).

    Sharing:
        Query head ``i`` reads K/V head ``i // (h / g)``. K and V weights: ``2 C^2 -> 2 C^2 g / h``,
        so ``4 C^2 -> 2 C^2 + 2 C^2 g / h`` in all (plus ``4 C -> 2 C + 2 C g / h`` biases when ``bias``).
    """

    def __init__(self, config: GQAConfig, shared: bool = True) -> None:
        super().__init__(
            config.hidden_size,
            config.num_heads,
            config.groups if shared else config.num_heads,
            bias=config.bias,
            causal=True,
        )
        self.config = config


def param_count(config: GQAConfig, shared: bool) -> int:
    """Unique parameters of :class:`GroupedQueryAttention`, the ``Sharing:`` formula."""
    c = config
    return attention_params(c.hidden_size, c.num_heads, c.groups if shared else c.num_heads, bias=c.bias)


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    shared = cast(GroupedQueryAttention, shared)
    g, d = shared.num_kv_heads, shared.head_dim
    per_group = shared.num_heads // g
    for name in ("q_proj", "out_proj"):
        getattr(unshared, name).load_state_dict(getattr(shared, name).state_dict())
    for name in ("k_proj", "v_proj"):
        for key, tensor in getattr(shared, name).state_dict().items():
            # rows of K/V head j, replicated for query heads j * per_group ... (j + 1) * per_group - 1
            grouped = tensor.unflatten(0, (g, d))  # (g, d, ...)
            getattr(unshared, name).get_parameter(key).copy_(grouped.repeat_interleave(per_group, 0).flatten(0, 1))


def footprint(config: GQAConfig, shared: bool, batch: int) -> Footprint:
    """Costs of building :class:`GroupedQueryAttention` and one forward (see :class:`Footprint`)."""
    c = config
    C, tokens = c.hidden_size, batch * c.seq_len
    kv = (c.groups if shared else c.num_heads) * (C // c.num_heads)
    repeat = 2 * C if shared else 0  # K and V repeated to every query head
    activations = tokens * (5 * C + 2 * kv + repeat) + 2 * batch * c.num_heads * c.seq_len**2
    return Footprint(param_count(c, shared), 0, tokens * C, activations, modules=5, ops=33 if shared else 25)


register(
    Form(
        name="gqa",
        config_cls=GQAConfig,
        build=lambda config, shared: GroupedQueryAttention(config, shared),
        example_input=lambda config, batch: torch.randn(batch, config.seq_len, config.hidden_size),
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="Grouped-query attention: K/V heads shared by groups of query heads (twin: full multi-head)",
        in_call_note=lambda c: f"each K/V head serves {c.num_heads // c.groups} query heads",
    )
)
