"""Transformer pieces shared by the ``albert``, ``universal_transformer``,
``tied_embeddings`` and ``gqa`` forms: attention, feed-forward, block.

Blocks take their sublayers as arguments, so a form shares a sublayer by
passing the same object to several blocks (sharing by identity, never by
copying values). Parameter names follow the common Hugging Face usage
(``q_proj``/``k_proj``/``v_proj``/``out_proj``, ``fc1``/``fc2``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    r"""Multi-head self-attention with optional grouped K/V heads and causal mask.

    Args:
        hidden_size (int): model width ``C``.
        num_heads (int): query heads ``h``; ``C`` must be divisible by ``h``.
        num_kv_heads (int | None): K/V heads ``g`` (``h`` divisible by ``g``); each
            serves ``h / g`` query heads (grouped-query attention, Ainslie et al.,
            2023). Default: ``None`` = ``num_heads`` (plain multi-head attention).
        bias (bool): biases on the four projections. Default: ``True``.
        causal (bool): mask attention to future positions. Default: ``False``.
        dropout (float): dropout on attention probabilities in training. Default: ``0.0``.

    Shape:
        - Input: :math:`(N, L, C)`, ``N`` batch, ``L`` sequence length.
        - Output: :math:`(N, L, C)`.

    Attributes:
        q_proj, out_proj: ``Linear(C, C)``.
        k_proj, v_proj: ``Linear(C, g * C / h)``.

    Sharing:
        Query head ``i`` reads K/V head ``i // (h / g)``. Projection weights:
        ``4 C^2 -> 2 C^2 + 2 C^2 g / h`` (biases alike).
    """

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        num_kv_heads: int | None = None,
        *,
        bias: bool = True,
        causal: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
        self.head_dim = hidden_size // num_heads
        self.causal = causal
        self.dropout = dropout
        kv_size = self.num_kv_heads * self.head_dim
        self.q_proj = nn.Linear(hidden_size, hidden_size, bias=bias)
        self.k_proj = nn.Linear(hidden_size, kv_size, bias=bias)
        self.v_proj = nn.Linear(hidden_size, kv_size, bias=bias)
        self.out_proj = nn.Linear(hidden_size, hidden_size, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, width = x.shape
        q = self.q_proj(x).view(n, length, self.num_heads, self.head_dim).transpose(1, 2)  # (N, h, L, d)
        k = self.k_proj(x).view(n, length, self.num_kv_heads, self.head_dim).transpose(1, 2)  # (N, g, L, d)
        v = self.v_proj(x).view(n, length, self.num_kv_heads, self.head_dim).transpose(1, 2)
        if self.num_kv_heads != self.num_heads:
            # each K/V head serves h/g consecutive query heads
            k = k.repeat_interleave(self.num_heads // self.num_kv_heads, dim=1)  # (N, h, L, d)
            v = v.repeat_interleave(self.num_heads // self.num_kv_heads, dim=1)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=self.causal
        )  # (N, h, L, d); the causal mask is built on x's device
        return self.out_proj(y.transpose(1, 2).reshape(n, length, width))


class FeedForward(nn.Module):
    r"""Position-wise feed-forward ``fc2(GELU(fc1(x)))`` (exact erf GELU).

    Args:
        hidden_size (int): width ``C``.
        intermediate_size (int): inner width ``I``.

    Shape:
        - Input: :math:`(*, C)`; Output: :math:`(*, C)`.

    Attributes:
        fc1: ``Linear(C, I)``; fc2: ``Linear(I, C)``.
    """

    def __init__(self, hidden_size: int, intermediate_size: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(hidden_size, intermediate_size)
        self.fc2 = nn.Linear(intermediate_size, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    r"""A transformer block built from given sublayers.

    Post-norm (BERT/ALBERT): ``h = LN1(x + attn(x)); y = LN2(h + ffn(h))``.
    Pre-norm (GPT-2): ``h = x + attn(LN1(x)); y = h + ffn(LN2(h))``.

    Args:
        attention (SelfAttention), ffn (FeedForward), norm1, norm2 (LayerNorm):
            sublayers; pass the same object to several blocks to share it.
        pre_norm (bool): pre-norm (True) or post-norm (False).
        dropout (float): dropout on each sublayer output in training. Default: ``0.0``.

    Shape:
        - Input: :math:`(N, L, C)`; Output: :math:`(N, L, C)`.
    """

    def __init__(
        self,
        attention: SelfAttention,
        ffn: FeedForward,
        norm1: nn.LayerNorm,
        norm2: nn.LayerNorm,
        *,
        pre_norm: bool,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.attention, self.norm1, self.ffn, self.norm2 = attention, norm1, ffn, norm2
        self.pre_norm = pre_norm
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.drop(self.attention(self.norm1(x)))
            return x + self.drop(self.ffn(self.norm2(x)))
        x = self.norm1(x + self.drop(self.attention(x)))
        return self.norm2(x + self.drop(self.ffn(x)))


def make_block(
    hidden_size: int,
    num_heads: int,
    intermediate_size: int,
    *,
    pre_norm: bool,
    causal: bool = False,
    layer_norm_eps: float = 1e-5,
    dropout: float = 0.0,
) -> Block:
    """A block with fresh sublayers (nothing shared)."""
    return Block(
        SelfAttention(hidden_size, num_heads, causal=causal, dropout=dropout),
        FeedForward(hidden_size, intermediate_size),
        nn.LayerNorm(hidden_size, eps=layer_norm_eps),
        nn.LayerNorm(hidden_size, eps=layer_norm_eps),
        pre_norm=pre_norm,
        dropout=dropout,
    )


ModuleT = TypeVar("ModuleT", bound=nn.Module)


def per_layer(make: Callable[[], ModuleT], n: int, *, shared: bool) -> list[ModuleT]:
    """``n`` slots: one object repeated (``shared``, sharing by identity) or ``n`` fresh ones."""
    if shared:
        one = make()
        return [one] * n
    return [make() for _ in range(n)]


def attention_params(hidden_size: int, num_heads: int, num_kv_heads: int | None = None, bias: bool = True) -> int:
    """Parameters of :class:`SelfAttention`: ``2 C^2 + 2 C g d`` weights plus biases."""
    kv = (num_heads if num_kv_heads is None else num_kv_heads) * (hidden_size // num_heads)
    return 2 * hidden_size * hidden_size + 2 * hidden_size * kv + (2 * hidden_size + 2 * kv if bias else 0)


def ffn_params(hidden_size: int, intermediate_size: int) -> int:
    """Parameters of :class:`FeedForward`: ``2 C I + I + C``."""
    return 2 * hidden_size * intermediate_size + intermediate_size + hidden_size


def block_params(hidden_size: int, num_heads: int, intermediate_size: int) -> int:
    """Parameters of a :func:`make_block` block: attention + FFN + two LayerNorms (``4 C``)."""
    return attention_params(hidden_size, num_heads) + ffn_params(hidden_size, intermediate_size) + 4 * hidden_size


def check_heads(hidden_size: int, num_heads: int) -> None:
    """Raise ``ValueError`` unless ``num_heads`` divides ``hidden_size`` (both positive)."""
    if hidden_size < 1:
        raise ValueError(f"hidden_size={hidden_size!r} must be at least 1")
    if num_heads < 1 or hidden_size % num_heads:
        raise ValueError(f"num_heads={num_heads!r} must be positive and divide hidden_size={hidden_size}")


def check_dropout(dropout: float) -> None:
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout={dropout!r} must be in [0, 1)")


def check_at_least(minimum: int, **fields: int) -> None:
    """Raise ``ValueError`` naming the first integer field below ``minimum``."""
    for name, value in fields.items():
        if not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name}={value!r} must be an integer >= {minimum}")
