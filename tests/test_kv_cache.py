"""The K/V cache that grouped-query attention shrinks, against hand arithmetic."""

from __future__ import annotations

import pytest
import torch

from paramshare_viz.analysis.kv_cache import kv_cache


def test_llama2_70b_cache_at_4096_tokens():
    # Llama-2-70B (Touvron et al., 2023): 80 layers, 64 query heads, 8 K/V heads, head_dim 128.
    cache = kv_cache(num_layers=80, num_heads=64, num_kv_heads=8, head_dim=128, context=4096, batch=1)
    # 2 (K and V) * 80 layers * 8 heads * 128 * 2 bytes = 327,680 bytes per token; * 4096 tokens.
    assert cache.per_token_shared_bytes == 327_680
    assert cache.shared_bytes == 327_680 * 4096 == 1_342_177_280  # 1.25 GiB
    assert cache.twin_bytes == 8 * 1_342_177_280  # 10 GiB with one K/V head per query head
    assert cache.twin_over_shared == 8.0


def test_mqa_batch_and_dtype_scale_the_cache():
    cache = kv_cache(num_layers=2, num_heads=4, num_kv_heads=1, head_dim=8, context=10, batch=3, dtype=torch.float32)
    assert cache.shared_bytes == 2 * 2 * 1 * 8 * 10 * 3 * 4  # 3,840
    assert cache.twin_bytes == 4 * cache.shared_bytes
    assert cache.to_dict()["twin_over_shared"] == 4.0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("num_kv_heads", 3, "num_kv_heads=3 must divide num_heads=8"),
        ("context", 0, "context=0 must be a whole number"),
        ("batch", 1.5, "batch=1.5 must be a whole number"),
    ],
)
def test_bad_sizes_are_named(field, value, message):
    sizes = dict(num_layers=1, num_heads=8, num_kv_heads=2, head_dim=4, context=4, batch=1)
    sizes[field] = value
    with pytest.raises(ValueError, match=message):
        kv_cache(**sizes)
