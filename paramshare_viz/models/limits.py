"""The known limits of each form's fields at the current values, in words for the editor.

Each config's ``__post_init__`` enforces these rules; this module only states
them ahead of time, next to the controls (``{field: "rule with numbers"}``).
"""

from __future__ import annotations

from typing import Any


def field_limits(config: Any) -> dict[str, str]:
    """``{field: rule}`` for the fields of ``config`` that have a limit beyond being positive."""
    rules = _RULES.get(type(config).__name__)
    return rules(config) if rules else {}


def _conv(c: Any) -> dict[str, str]:
    padded = c.image_size + 2 * c.padding
    biggest = (padded - 1) // c.dilation + 1  # the kernel span d*(k-1)+1 fits in the padded input
    via = f" at dilation {c.dilation}" if c.dilation > 1 else ""
    return {
        "kernel_size": f"≤ {biggest}{via}: the padded input is {padded} pixels (image_size + 2 × padding)",
        "groups": f"divides in_channels={c.in_channels} and out_channels={c.out_channels}",
        "stride": "leaves an output larger than 1×1",
    }


def _heads(c: Any) -> dict[str, str]:
    return {"num_heads": f"divides hidden_size={c.hidden_size}"}


def _positions(c: Any) -> dict[str, str]:
    return {"seq_len": f"≤ max_position_embeddings={c.max_position_embeddings}"}


_RULES = {
    "ConvConfig": _conv,
    "PatchEmbedConfig": lambda c: {"patch_size": f"divides image_size={c.image_size} and is smaller"},
    "RNNConfig": lambda c: {"seq_len": "≥ 2 (one step shares nothing)"},
    "SSMConfig": lambda c: {"seq_len": "≥ 2 (one step shares nothing)"},
    "AlbertConfig": lambda c: {**_heads(c), **_positions(c), "num_layers": "≥ 2"},
    "UniversalTransformerConfig": lambda c: {**_heads(c), "num_layers": "≥ 2"},
    "TiedEmbeddingsConfig": lambda c: {**_heads(c), **_positions(c)},
    "MultitaskConfig": lambda c: {"num_tasks": "≥ 2"},
    "SiameseConfig": lambda c: {"embed_dim": "≥ 2"},
    "GQAConfig": lambda c: {**_heads(c), "groups": f"divides num_heads={c.num_heads} and is smaller"},
    "LoRAConfig": lambda c: {
        "rank": f"≤ min(in_features, out_features) = {min(c.in_features, c.out_features)}",
        "num_tasks": "≥ 2",
    },
    "HashedNetConfig": lambda c: {
        "num_buckets": f"< in_features × out_features = {c.in_features * c.out_features:,}"
    },
}
