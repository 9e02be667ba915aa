"""``tied_embeddings``: a GPT-style language model whose output head is its
input embedding (Press & Wolf, 2017; Inan et al., 2017), as in GPT-2 and
nanoGPT. The twin has a separate head that starts as a copy."""

from __future__ import annotations

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
)


@dataclass(frozen=True)
class TiedEmbeddingsConfig:
    """Sizes of the causal language model (GPT-2 would be 50257, 768, 12, 12, 3072, 1024)."""

    vocab_size: int = 100
    hidden_size: int = 32
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 128  # 4 * hidden_size, as in GPT-2
    max_position_embeddings: int = 64
    layer_norm_eps: float = 1e-5  # the GPT-2 default
    dropout: float = 0.0  # eval-mode determinism
    seq_len: int = 8  # length of example_input, at most max_position_embeddings

    def __post_init__(self) -> None:
        check_at_least(
            1,
            vocab_size=self.vocab_size,
            num_layers=self.num_layers,
            intermediate_size=self.intermediate_size,
            max_position_embeddings=self.max_position_embeddings,
            seq_len=self.seq_len,
        )
        check_heads(self.hidden_size, self.num_heads)
        check_dropout(self.dropout)
        if self.seq_len > self.max_position_embeddings:
            raise ValueError(
                f"seq_len={self.seq_len!r} exceeds max_position_embeddings={self.max_position_embeddings}"
            )
        if self.layer_norm_eps <= 0:
            raise ValueError(f"layer_norm_eps={self.layer_norm_eps!r} must be positive")


class TiedLM(nn.Module):
    r"""GPT-style causal LM with the head tied to the token embedding (or untied, the twin).

    Args:
        config (TiedEmbeddingsConfig): sizes.
        shared (bool): ``lm_head.weight`` is ``wte.weight`` (True) or its own tensor (False).

    Shape:
        - Input: :math:`(N, L)` token ids, ``L <= max_position_embeddings``.
        - Output: :math:`(N, L, V)` next-token logits.

    Attributes:
        wte: ``(V, C)`` token embedding; wpe: ``(P, C)`` position embedding.
        layers: ``num_layers`` pre-norm causal blocks; ln_f: final LayerNorm ``(C)``.
        lm_head: ``Linear(C, V, bias=False)``, weight ``(V, C)``; the same Parameter as ``wte.weight``
            in the shared model.

    Sharing:
        ``lm_head.weight`` is ``wte.weight``: ``2 V C -> V C``. Both also hold
        ``P C + L P_block + 2 C`` with ``P_block = 4 (C^2 + C) + 2 C I + I + C + 4 C``.
    """

    def __init__(self, config: TiedEmbeddingsConfig, shared: bool = True) -> None:
        super().__init__()
        c = self.config = config
        C = c.hidden_size
        self.wte = nn.Embedding(c.vocab_size, C)
        self.wpe = nn.Embedding(c.max_position_embeddings, C)
        self.drop = nn.Dropout(c.dropout)
        self.layers = nn.ModuleList(
            make_block(C, c.num_heads, c.intermediate_size, pre_norm=True, causal=True,
                       layer_norm_eps=c.layer_norm_eps, dropout=c.dropout)
            for _ in range(c.num_layers)
        )
        self.ln_f = nn.LayerNorm(C, eps=c.layer_norm_eps)
        self.lm_head = nn.Linear(C, c.vocab_size, bias=False)
        if shared:
            self.lm_head.weight = self.wte.weight  # tied embeddings (Press & Wolf, 2017)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)  # (L,)
        x = self.drop(self.wte(input_ids) + self.wpe(positions))  # (N, L, C)
        for block in self.layers:
            x = block(x)
        return self.lm_head(self.ln_f(x))  # (N, L, V)


def param_count(config: TiedEmbeddingsConfig, shared: bool) -> int:
    """Unique parameters of :class:`TiedLM`, the ``Sharing:`` formula."""
    c = config
    C, V = c.hidden_size, c.vocab_size
    head = 0 if shared else V * C
    return V * C + c.max_position_embeddings * C + c.num_layers * block_params(
        C, c.num_heads, c.intermediate_size) + 2 * C + head


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    # The shared state dict lists the tied tensor under both names, wte.weight and lm_head.weight.
    unshared.load_state_dict(shared.state_dict())


def footprint(config: TiedEmbeddingsConfig, shared: bool, batch: int) -> Footprint:
    """Costs of building :class:`TiedLM` and one forward on ``example_input`` (see :class:`Footprint`)."""
    c = config
    C, tokens = c.hidden_size, batch * c.seq_len
    per_layer = tokens * (12 * C + 2 * c.intermediate_size) + 2 * batch * c.num_heads * c.seq_len**2
    activations = tokens * (1 + 3 * C) + c.num_layers * per_layer + tokens * (C + c.vocab_size)
    return Footprint(param_count(c, shared), 0, tokens, activations, modules=7 + 12 * c.num_layers,
                     ops=9 + 38 * c.num_layers)


register(
    Form(
        name="tied_embeddings",
        config_cls=TiedEmbeddingsConfig,
        build=lambda config, shared: TiedLM(config, shared),
        example_input=lambda config, batch: torch.randint(config.vocab_size, (batch, config.seq_len)),
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="Language model whose output head is its input embedding (twin: a separate head)",
    )
)
