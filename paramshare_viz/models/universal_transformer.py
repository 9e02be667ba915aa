"""``universal_transformer``: one block applied over depth (Dehghani et al., 2018).

Before every step the state receives a fixed sinusoidal timing signal for its
position and for the step (the "coordinate embedding"), so the one block can
tell depths apart. With ``act=True`` a halting unit decides per position how
much each step contributes (adaptive computation time, Graves, 2016); the
loop still runs every step, so the result is deterministic and the twin
matches it exactly. The twin has its own block (and halting unit) per depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from paramshare_viz.models.registry import Footprint, Form, register
from paramshare_viz.models.transformer import (
    block_params,
    check_at_least,
    check_dropout,
    check_heads,
    make_block,
    per_layer,
)


@dataclass(frozen=True)
class UniversalTransformerConfig:
    """Sizes of the Universal Transformer encoder and its per-depth twin."""

    vocab_size: int = 100
    hidden_size: int = 32
    num_heads: int = 4
    intermediate_size: int = 128  # 4 * hidden_size
    num_layers: int = 4  # depth steps T (the maximum number of steps when act=True)
    act: bool = False  # adaptive halting per position (ACT)
    act_threshold: float = 0.99  # halt once the halting probability reaches 1 - eps, eps = 0.01 (Graves)
    layer_norm_eps: float = 1e-5
    dropout: float = 0.0  # eval-mode determinism
    seq_len: int = 8  # length of example_input; the timing signal has no maximum length

    def __post_init__(self) -> None:
        check_at_least(1, vocab_size=self.vocab_size, intermediate_size=self.intermediate_size, seq_len=self.seq_len)
        check_heads(self.hidden_size, self.num_heads)
        check_dropout(self.dropout)
        if not isinstance(self.num_layers, int) or self.num_layers < 2:
            raise ValueError(f"num_layers={self.num_layers!r} must be at least 2: with one step nothing is shared")
        if not 0.0 < self.act_threshold <= 1.0:
            raise ValueError(f"act_threshold={self.act_threshold!r} must be in (0, 1]")
        if self.layer_norm_eps <= 0:
            raise ValueError(f"layer_norm_eps={self.layer_norm_eps!r} must be positive")


def timing_signal(steps: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoids of Vaswani et al. (2017): ``(S,)`` float positions -> ``(S, dim)``."""
    half = (dim + 1) // 2
    rates = torch.exp(torch.arange(half, device=steps.device, dtype=steps.dtype) * (-2 * math.log(1e4) / dim))
    angles = steps[:, None] * rates  # (S, ceil(dim / 2))
    return torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(1)[:, :dim]  # sin, cos interleaved


class UniversalTransformer(nn.Module):
    r"""Universal Transformer encoder (``shared=True``) or its per-depth twin (``shared=False``).

    Args:
        config (UniversalTransformerConfig): sizes, depth and halting options.
        shared (bool): one block (and halting unit) for every step, or one per step.

    Shape:
        - Input: :math:`(N, L)` token ids.
        - Output: :math:`(N, L, C)`, ``C = hidden_size``.

    Attributes:
        embeddings: ``(V, C)`` token embedding (positions come from the timing signal).
        layers: ``ModuleList`` of ``T`` post-norm blocks; in the shared model one object at every step.
        halting: ``ModuleList`` of ``T`` halting units ``Linear(C, 1)`` (``act=True`` only), shared alike.

    Sharing:
        ``P_block = 4 (C^2 + C) + 2 C I + I + C + 4 C``; ``T * P_block -> P_block``,
        plus ``T * (C + 1) -> C + 1`` for the halting units when ``act``; both hold ``V C``
        of embeddings.
    """

    def __init__(self, config: UniversalTransformerConfig, shared: bool = True) -> None:
        super().__init__()
        c = self.config = config
        C, T = c.hidden_size, c.num_layers
        self.embeddings = nn.Embedding(c.vocab_size, C)
        # one block object applied at every depth step (or a fresh one per step in the twin)
        self.layers = nn.ModuleList(per_layer(
            lambda: make_block(C, c.num_heads, c.intermediate_size, pre_norm=False,
                               layer_norm_eps=c.layer_norm_eps, dropout=c.dropout), T, shared=shared))
        self.halting = nn.ModuleList(per_layer(lambda: nn.Linear(C, 1), T, shared=shared)) if c.act else None

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        h = self.embeddings(input_ids)  # (N, L, C)
        L, C, T = input_ids.shape[1], self.config.hidden_size, self.config.num_layers
        # computed in float32 on the input's device, then cast (half precision loses positions)
        position = timing_signal(torch.arange(L, device=h.device, dtype=torch.float32), C).to(h.dtype)  # (L, C)
        depth = timing_signal(torch.arange(T, device=h.device, dtype=torch.float32), C).to(h.dtype)  # (T, C)
        if self.halting is None:
            for t, block in enumerate(self.layers):
                h = block(h + position + depth[t])
            return h
        return self._adaptive(h, position, depth)

    def _adaptive(self, h: torch.Tensor, position: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        # Per position, step t contributes weight p_t until the accumulated
        # probability would reach the threshold; the halting step (or the last
        # step) takes the remainder, so the weights sum to 1. Halted positions
        # keep being computed but contribute nothing (no data-dependent exit).
        total = h.new_zeros(h.shape[:2])  # (N, L) accumulated halting weight
        running = torch.ones_like(total, dtype=torch.bool)
        out = torch.zeros_like(h)
        assert self.halting is not None  # only called with act
        last = len(self.layers) - 1
        for t, (block, unit) in enumerate(zip(self.layers, self.halting, strict=True)):
            h = h + position + depth[t]
            p = torch.sigmoid(unit(h)).squeeze(-1)  # (N, L) halting probability
            halts = running & ((total + p >= self.config.act_threshold) | (t == last))
            weight = torch.where(halts, 1.0 - total, p) * running  # (N, L)
            h = block(h)
            out = out + weight.unsqueeze(-1) * h
            total = total + weight
            running = running & ~halts
        return out


def param_count(config: UniversalTransformerConfig, shared: bool) -> int:
    """Unique parameters of :class:`UniversalTransformer`, the ``Sharing:`` formula."""
    c = config
    copies = 1 if shared else c.num_layers
    halting = c.hidden_size + 1 if c.act else 0
    block = block_params(c.hidden_size, c.num_heads, c.intermediate_size)
    return c.vocab_size * c.hidden_size + copies * (block + halting)


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    # Same names in both; the shared state dict holds the one block under every step's name.
    unshared.load_state_dict(shared.state_dict())


def footprint(config: UniversalTransformerConfig, shared: bool, batch: int) -> Footprint:
    """Costs of building :class:`UniversalTransformer` and one forward (see :class:`Footprint`)."""
    c = config
    C, T, tokens = c.hidden_size, c.num_layers, batch * c.seq_len
    scores = 2 * batch * c.num_heads * c.seq_len**2
    per_step = tokens * (12 * C + 2 * c.intermediate_size + (8 * C if c.act else 0)) + scores
    activations = tokens * (1 + C) + 4 * (c.seq_len + T) * C + T * per_step  # + the two timing signals
    modules = 3 + 12 * T + (1 + T if c.act else 0)  # one block in T slots is walked T times, as T blocks are
    ops = 26 + 60 * T if c.act else 23 + 41 * T  # measured per step
    return Footprint(param_count(c, shared), 0, tokens, activations, modules=modules, ops=ops)


register(
    Form(
        name="universal_transformer",
        config_cls=UniversalTransformerConfig,
        build=lambda config, shared: UniversalTransformer(config, shared),
        example_input=lambda config, batch: torch.randint(config.vocab_size, (batch, config.seq_len)),
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="Universal Transformer: one block applied over depth with a depth signal (twin: a block per step)",
        meta_note=lambda c: f"one block applied at {c.num_layers} depth steps",
    )
)
