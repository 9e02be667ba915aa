"""``albert``: one transformer block reused at every layer (Lan et al., 2019).

The twin is BERT-style: an own block per layer. The parameter layout follows
Hugging Face ``AlbertModel`` (names differ: ``q_proj``/``k_proj``/``v_proj``/
``out_proj`` for ``query``/``key``/``value``/``dense``, ``fc1``/``fc2`` for
``ffn``/``ffn_output``, ``norm1``/``norm2`` for the two LayerNorms), so the
counts match HF exactly. Unlike HF, the E -> H projection is left out when
``embedding_size == hidden_size`` (BERT has none), and the GELU is the exact
erf form (HF ALBERT defaults to ``gelu_new``, the tanh approximation).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import torch
from torch import nn

from paramshare_viz.models.registry import Footprint, Form, register
from paramshare_viz.models.transformer import (
    Block,
    FeedForward,
    SelfAttention,
    attention_params,
    check_at_least,
    check_dropout,
    check_heads,
    ffn_params,
    make_block,
    per_layer,
)


class Share(enum.StrEnum):
    """What the layers of the shared model reuse (``share=``)."""

    ALL = "all"  # attention and FFN: the ALBERT default
    ATTENTION = "attention"  # attention only, own FFN per layer
    FFN = "ffn"  # FFN only, own attention per layer


@dataclass(frozen=True)
class AlbertConfig:
    """Sizes of the ALBERT encoder and its BERT-style twin (Hugging Face field names,
    except ``num_layers``/``num_heads`` for ``num_hidden_layers``/``num_attention_heads``)."""

    vocab_size: int = 100
    embedding_size: int = 16  # factorised embedding E < H (ALBERT-base: 128 vs 768)
    hidden_size: int = 32
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 128  # 4 * hidden_size, as in BERT and ALBERT
    max_position_embeddings: int = 64
    type_vocab_size: int = 2
    share: Share = Share.ALL
    share_layernorm: bool = True  # one LayerNorm pair for every layer (ALBERT); False: per layer
    add_pooler: bool = False  # HF adds it by default; off so forward returns per-token states
    layer_norm_eps: float = 1e-12  # the HF AlbertConfig default
    dropout: float = 0.0  # eval-mode determinism; ALBERT-v2 also trains without dropout
    seq_len: int = 8  # length of example_input, at most max_position_embeddings

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "share", Share(self.share))
        except ValueError:
            raise ValueError(f"share={self.share!r} must be one of {[s.value for s in Share]}") from None
        check_at_least(
            1,
            vocab_size=self.vocab_size,
            embedding_size=self.embedding_size,
            intermediate_size=self.intermediate_size,
            max_position_embeddings=self.max_position_embeddings,
            type_vocab_size=self.type_vocab_size,
            seq_len=self.seq_len,
        )
        check_heads(self.hidden_size, self.num_heads)
        check_dropout(self.dropout)
        if not isinstance(self.num_layers, int) or self.num_layers < 2:
            raise ValueError(f"num_layers={self.num_layers!r} must be at least 2: with one layer nothing is shared")
        if self.seq_len > self.max_position_embeddings:
            raise ValueError(
                f"seq_len={self.seq_len!r} exceeds max_position_embeddings={self.max_position_embeddings}"
            )
        if self.layer_norm_eps <= 0:
            raise ValueError(f"layer_norm_eps={self.layer_norm_eps!r} must be positive")


class Albert(nn.Module):
    r"""ALBERT encoder (``shared=True``) or its BERT-style twin (``shared=False``).

    Embeddings of width ``E`` (word + position + token type 0, LayerNorm), a
    projection ``E -> H`` when ``E != H``, ``num_layers`` post-norm blocks, and
    optionally a pooler ``tanh(Linear(H, H))`` on the first token.

    Args:
        config (AlbertConfig): sizes and sharing options.
        shared (bool): reuse sublayers across layers per ``config.share`` and
            ``config.share_layernorm`` (True) or give every layer its own (False).

    Shape:
        - Input: :math:`(N, L)` token ids, ``N`` batch, ``L <= max_position_embeddings``.
        - Output: :math:`(N, L, H)`, or :math:`(N, H)` pooled when ``add_pooler``.

    Attributes:
        word_embeddings: ``(V, E)``; position_embeddings: ``(P, E)``;
        token_type_embeddings: ``(T, E)``; embedding_norm: LayerNorm ``(E)``.
        projection: ``Linear(E, H)`` or ``None`` when ``E == H``.
        layers: ``ModuleList`` of ``num_layers`` blocks; slots that share hold the same object
            (with ``share="all"`` and ``share_layernorm``, one block object at every layer).
        pooler: ``Linear(H, H)`` or ``None``.

    Sharing:
        ``P_attn = 4 (H^2 + H)``, ``P_ffn = 2 H I + I + H``, ``P_norm = 4 H``;
        the twin holds ``L * (P_attn + P_ffn + P_norm)``, the shared model
        ``a * P_attn + f * P_ffn + n * P_norm`` with ``a, f, n`` = 1 for a shared part, else ``L``
        (share="all": ``L * P_block -> P_block``). Both add embeddings ``(V + P + T) E + 2 E``,
        ``E H + H`` for the projection when ``E != H`` and ``H^2 + H`` for the pooler.
    """

    def __init__(self, config: AlbertConfig, shared: bool = True) -> None:
        super().__init__()
        c = self.config = config
        E, H, L = c.embedding_size, c.hidden_size, c.num_layers
        self.word_embeddings = nn.Embedding(c.vocab_size, E)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, E)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, E)
        self.embedding_norm = nn.LayerNorm(E, eps=c.layer_norm_eps)
        self.projection = nn.Linear(E, H) if E != H else None
        if shared and c.share == Share.ALL and c.share_layernorm:
            block = make_block(H, c.num_heads, c.intermediate_size, pre_norm=False,
                               layer_norm_eps=c.layer_norm_eps, dropout=c.dropout)
            layers = [block] * L  # one block object reused at every layer (ALBERT)
        else:
            attn = per_layer(lambda: SelfAttention(H, c.num_heads, dropout=c.dropout), L,
                             shared=shared and c.share != Share.FFN)
            ffn = per_layer(lambda: FeedForward(H, c.intermediate_size), L,
                            shared=shared and c.share != Share.ATTENTION)
            norm1, norm2 = (per_layer(lambda: nn.LayerNorm(H, eps=c.layer_norm_eps), L,
                                      shared=shared and c.share_layernorm) for _ in range(2))
            layers = [
                Block(*parts, pre_norm=False, dropout=c.dropout)
                for parts in zip(attn, ffn, norm1, norm2, strict=True)
            ]
        self.layers = nn.ModuleList(layers)
        self.pooler = nn.Linear(H, H) if c.add_pooler else None
        self.drop = nn.Dropout(c.dropout)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)  # (L,)
        x = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(positions)
            + self.token_type_embeddings(torch.zeros_like(input_ids))  # all tokens in segment 0
        )  # (N, L, E)
        x = self.drop(self.embedding_norm(x))
        if self.projection is not None:
            x = self.projection(x)  # (N, L, H)
        for layer in self.layers:
            x = layer(x)
        if self.pooler is None:
            return x
        return torch.tanh(self.pooler(x[:, 0]))  # (N, H)


def param_count(config: AlbertConfig, shared: bool) -> int:
    """Unique parameters of :class:`Albert`, the ``Sharing:`` formula."""
    c = config
    E, H, L = c.embedding_size, c.hidden_size, c.num_layers
    embeddings = (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * E + 2 * E
    projection = E * H + H if E != H else 0
    pooler = H * H + H if c.add_pooler else 0
    a = 1 if shared and c.share != Share.FFN else L
    f = 1 if shared and c.share != Share.ATTENTION else L
    n = 1 if shared and c.share_layernorm else L
    blocks = a * attention_params(H, c.num_heads) + f * ffn_params(H, c.intermediate_size) + n * 4 * H
    return embeddings + projection + blocks + pooler


def copy_to_twin(shared: nn.Module, unshared: nn.Module) -> None:
    # Both models have the same parameter names; the shared one reaches one
    # tensor through several names (layers.0..L-1), so its state dict already
    # holds every layer's copy.
    unshared.load_state_dict(shared.state_dict())


def footprint(config: AlbertConfig, shared: bool, batch: int) -> Footprint:
    """Costs of building :class:`Albert` and one forward on ``example_input`` (see :class:`Footprint`)."""
    c = config
    E, H, L, tokens = c.embedding_size, c.hidden_size, c.num_layers, batch * c.seq_len
    scores = 2 * batch * c.num_heads * c.seq_len**2  # attention scores and their softmax
    per_layer = tokens * (10 * H + 2 * c.intermediate_size) + scores
    activations = tokens * (1 + 6 * E + H) + L * per_layer + (batch * H if c.add_pooler else 0)
    outer = 7 + (E != H) + c.add_pooler  # the model, 3 embeddings, a norm, the layer list, dropout
    blocks = 12 * L  # per layer slot: a Block, attention (5), ffn (3), two norms, dropout; shared or not
    ops = 8 + 4 * (E != H) + 38 * L + 4 * c.add_pooler  # measured: 4 per Linear outside the layers
    return Footprint(param_count(c, shared), 0, tokens, activations, modules=outer + blocks, ops=ops)


#: What ``share=`` reuses at every layer, as the reuse note says it.
SHARED_PART = {Share.ALL: "one block", Share.ATTENTION: "one attention layer", Share.FFN: "one feed-forward layer"}

register(
    Form(
        name="albert",
        config_cls=AlbertConfig,
        build=lambda config, shared: Albert(config, shared),
        example_input=lambda config, batch: torch.randint(config.vocab_size, (batch, config.seq_len)),
        copy_to_twin=copy_to_twin,
        param_count=param_count,
        footprint=footprint,
        summary="ALBERT: one transformer block reused at every layer (twin: BERT, a block per layer)",
        meta_note=lambda c: f"{SHARED_PART[c.share]} reused at {c.num_layers} layers",
    )
)
