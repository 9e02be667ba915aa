"""Key/value cache at inference: what grouped-query attention actually saves.

Sharing K/V heads across query heads (GQA, Ainslie et al., 2023; MQA, Shazeer,
2019) removes some projection parameters, but its purpose is the cache that
autoregressive decoding keeps: for every layer, every past token and every
K/V head, one key and one value vector of ``head_dim`` elements. With ``h``
query heads and ``g`` K/V heads the cache shrinks by ``h / g`` (Llama-2-70B:
64 query heads, 8 K/V heads, 8x less cache), while the parameter saving of the
whole attention layer is much smaller (``4 C^2 -> 2 C^2 + 2 C^2 g / h``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class KVCache:
    """Bytes of the K/V cache for one decoding setup, grouped (shared) against one K/V head per query head.

    Attributes:
        num_layers, num_heads, num_kv_heads, head_dim: the attention's shape.
        context: cached tokens per sequence; batch: sequences decoded together.
        bytes_per_element: of the cache's dtype (2 for float16/bfloat16).
        shared_bytes: ``2 * layers * kv_heads * head_dim * context * batch * bytes`` (keys and values).
        twin_bytes: the same with ``num_heads`` K/V heads (full multi-head attention).
        per_token_shared_bytes, per_token_twin_bytes: the same for one cached token of one sequence.
        twin_over_shared: ``twin_bytes / shared_bytes`` = ``num_heads / num_kv_heads``.
    """

    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    context: int
    batch: int
    bytes_per_element: int
    shared_bytes: int
    twin_bytes: int
    per_token_shared_bytes: int
    per_token_twin_bytes: int
    twin_over_shared: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def kv_cache(
    *,
    num_layers: int,
    num_heads: int,
    num_kv_heads: int,
    head_dim: int,
    context: int,
    batch: int = 1,
    dtype: torch.dtype = torch.float16,
) -> KVCache:
    """The K/V cache of a decoder with grouped K/V heads, and of its full multi-head twin.

    Args:
        num_layers (int): attention layers that each keep a cache.
        num_heads (int): query heads (the twin keeps this many K/V heads).
        num_kv_heads (int): K/V heads actually kept (HF: ``num_key_value_heads``); must divide ``num_heads``.
        head_dim (int): elements per head vector.
        context (int): tokens cached per sequence.
        batch (int): sequences decoded together. Default: 1.
        dtype (torch.dtype): the cache's dtype. Default: ``torch.float16``.

    Raises:
        ValueError: a size below 1, or ``num_kv_heads`` not dividing ``num_heads`` (named with its value).

    Example:
        >>> kv_cache(num_layers=80, num_heads=64, num_kv_heads=8, head_dim=128, context=4096).twin_over_shared
        8.0
    """
    sizes = dict(
        num_layers=num_layers, num_heads=num_heads, num_kv_heads=num_kv_heads, head_dim=head_dim, context=context, batch=batch
    )
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}={value!r} must be a whole number of at least 1")
    if num_heads % num_kv_heads:
        raise ValueError(f"num_kv_heads={num_kv_heads} must divide num_heads={num_heads}")
    size = torch.empty((), dtype=dtype).element_size()
    per_head_token = 2 * num_layers * head_dim * size  # a key and a value vector in every layer
    return KVCache(
        **sizes,
        bytes_per_element=size,
        shared_bytes=per_head_token * num_kv_heads * context * batch,
        twin_bytes=per_head_token * num_heads * context * batch,
        per_token_shared_bytes=per_head_token * num_kv_heads,
        per_token_twin_bytes=per_head_token * num_heads,
        twin_over_shared=num_heads / num_kv_heads,
    )
