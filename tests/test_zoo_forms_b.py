"""Per-form tests for albert, universal_transformer, tied_embeddings, multitask, gqa and lora."""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import paramshare_viz as psv
from paramshare_viz.models import albert, lora, registry, universal_transformer


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def perturb_and_copy(form: str, shared: nn.Module, unshared: nn.Module, seed: int = 0) -> None:
    """Random values in every shared tensor (LayerNorms and zero-initialised ones included),
    then copy into the twin: a copy that misses a tensor cannot go unnoticed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in shared.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g))
        registry.get(form).copy_to_twin(shared, unshared)


# Reference widths. BERT-style: the albert twin with E = H (no projection) and BERT's vocabulary.
ALBERT_BASE = dict(vocab_size=30000, embedding_size=128, hidden_size=768, num_layers=12, num_heads=12,
                   intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2, add_pooler=True)
BERT_BASE = ALBERT_BASE | dict(vocab_size=30522, embedding_size=768)
ALBERT_LARGE = ALBERT_BASE | dict(num_layers=24, hidden_size=1024, num_heads=16, intermediate_size=4096)
BERT_LARGE = ALBERT_LARGE | dict(vocab_size=30522, embedding_size=1024)


# --- counts: (form, overrides, shared count, unshared count), arithmetic in comments ---
# albert defaults: V=100, E=16, H=32, L=4, I=128, P=64, T=2.
# embeddings (100+64+2)*16 + 2*16 = 2688; projection 16*32 + 32 = 544; together 3232.
# P_attn = 4*(32*32 + 32) = 4224; P_ffn = 2*32*128 + 128 + 32 = 8352; P_norm = 4*32 = 128;
# P_block = 12704; twin 3232 + 4*12704 = 54048.
COUNTS = [
    ("albert", {}, 3232 + 12704, 54048),  # 15936
    ("albert", dict(share="attention"), 3232 + 4224 + 4 * 8352 + 128, 54048),  # 40992
    ("albert", dict(share="ffn"), 3232 + 4 * 4224 + 8352 + 128, 54048),  # 28608
    ("albert", dict(share_layernorm=False), 3232 + 4224 + 8352 + 4 * 128, 54048),  # 16320
    ("albert", dict(share="attention", share_layernorm=False), 3232 + 4224 + 4 * (8352 + 128), 54048),  # 41376
    # pooler 32*32 + 32 = 1056 in both
    ("albert", dict(add_pooler=True), 15936 + 1056, 54048 + 1056),
    # E = H = 32: no projection; embeddings 166*32 + 64 = 5376
    ("albert", dict(embedding_size=32), 5376 + 12704, 5376 + 4 * 12704),  # 18080, 56192
    # universal_transformer: embedding 100*32 = 3200, P_block 12704, 4 steps
    ("universal_transformer", {}, 3200 + 12704, 3200 + 4 * 12704),  # 15904, 54016
    # halting unit 32 + 1 = 33, one or one per step
    ("universal_transformer", dict(act=True), 15904 + 33, 54016 + 4 * 33),  # 15937, 54148
    # tied_embeddings: wte 100*32 = 3200, wpe 64*32 = 2048, 2 blocks 25408, ln_f 64; twin adds a 3200 head
    ("tied_embeddings", {}, 3200 + 2048 + 2 * 12704 + 64, 30720 + 3200),  # 30720, 33920
    # multitask: encoder 16*32 + 32 + 32*32 + 32 = 1600; head 32*4 + 4 = 132; 3 tasks
    ("multitask", {}, 1600 + 3 * 132, 3 * (1600 + 132)),  # 1996, 5196
    # gqa: C=32, h=8, d=4, g=2, no bias: q + o 2*32*32 = 2048; k + v 2*32*(2*4) = 512; twin 4*32*32
    ("gqa", {}, 2048 + 512, 4096),
    # MQA (g=1): k + v 2*32*4 = 256
    ("gqa", dict(groups=1), 2048 + 256, 4096),  # 2304
    # with bias: + 2*32 (q, o) + 2*4 (k, v) = 72; twin + 4*32 = 128
    ("gqa", dict(groups=1, bias=True), 2304 + 72, 4096 + 128),  # 2376, 4224
    # lora: base 32*32 + 32 = 1056 (frozen, counted); adapters 3 tasks * 4 * (32 + 32) = 768
    ("lora", {}, 1056 + 768, 3 * 1056),  # 1824, 3168
    ("lora", dict(bias=False, rank=1, num_tasks=2), 1024 + 2 * 64, 2 * 1024),  # 1152, 2048
]


@pytest.mark.parametrize(("form", "overrides", "shared", "unshared"), COUNTS, ids=lambda v: str(v)[:30])
def test_counts(form, overrides, shared, unshared):
    config = psv.zoo.make_config(form, **overrides)
    spec = registry.get(form)
    assert spec.param_count(config, True) == shared
    assert spec.param_count(config, False) == unshared
    assert n_params(psv.zoo.build(form, shared=True, device="meta", **overrides)) == shared
    assert n_params(psv.zoo.build(form, shared=False, device="meta", **overrides)) == unshared


# --- reference models, counted on the meta device ---
@pytest.mark.parametrize(
    ("overrides", "shared", "expected"),
    [
        (ALBERT_BASE, True, 11_683_584),  # HF albert-base-v2
        (BERT_BASE, False, 109_482_240),  # HF bert-base-uncased
        (ALBERT_LARGE, True, 17_683_968),  # HF albert-large-v2
        (BERT_LARGE, False, 335_141_888),  # HF bert-large-uncased
    ],
    ids=["albert-base", "bert-base", "albert-large", "bert-large"],
)
def test_albert_and_bert_reference_counts(overrides, shared, expected):
    model = psv.zoo.build("albert", shared=shared, device="meta", **overrides)
    assert n_params(model) == expected
    assert albert.param_count(psv.zoo.make_config("albert", **overrides), shared) == expected


def test_albert_reference_counts_match_transformers():
    transformers = pytest.importorskip("transformers")

    def hf(cls, config_cls, o):
        config = config_cls(vocab_size=o["vocab_size"], embedding_size=o["embedding_size"],
                            hidden_size=o["hidden_size"], num_hidden_layers=o["num_layers"],
                            num_attention_heads=o["num_heads"], intermediate_size=o["intermediate_size"])
        with torch.device("meta"):
            return n_params(cls(config))

    assert hf(transformers.AlbertModel, transformers.AlbertConfig, ALBERT_BASE) == 11_683_584
    assert hf(transformers.AlbertModel, transformers.AlbertConfig, ALBERT_LARGE) == 17_683_968
    assert hf(transformers.BertModel, transformers.BertConfig, BERT_BASE) == 109_482_240
    assert hf(transformers.BertModel, transformers.BertConfig, BERT_LARGE) == 335_141_888


def test_gpt2_and_mistral_attention_reference_counts():
    gpt2 = dict(vocab_size=50257, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072,
                max_position_embeddings=1024)
    # 50257*768 + 1024*768 + 12*7087872 + 2*768 = 124439808 (HF gpt2); the untied head adds 50257*768
    assert n_params(psv.zoo.build("tied_embeddings", device="meta", **gpt2)) == 124_439_808
    assert n_params(psv.zoo.build("tied_embeddings", shared=False, device="meta", **gpt2)) == 163_037_184
    # Mistral-7B attention: 2*4096^2 + 2*4096*(8*128) = 41943040; full MHA 4*4096^2 = 67108864
    mistral = dict(hidden_size=4096, num_heads=32, groups=8)
    assert n_params(psv.zoo.build("gqa", device="meta", **mistral)) == 41_943_040
    assert n_params(psv.zoo.build("gqa", shared=False, device="meta", **mistral)) == 67_108_864


# --- equivalence with Hugging Face at a tiny size ---
TINY = dict(vocab_size=50, embedding_size=8, hidden_size=16, num_layers=3, num_heads=2, intermediate_size=32,
            max_position_embeddings=20, type_vocab_size=2, add_pooler=True, seq_len=7)
ALBERT_TO_HF = [  # (our name, HF AlbertModel name)
    (r"^(word|position|token_type)_embeddings\.", r"embeddings.\1_embeddings."),
    (r"^embedding_norm\.", "embeddings.LayerNorm."),
    (r"^projection\.", "encoder.embedding_hidden_mapping_in."),
    (r"^layers\.0\.attention\.q_proj\.", "encoder.albert_layer_groups.0.albert_layers.0.attention.query."),
    (r"^layers\.0\.attention\.k_proj\.", "encoder.albert_layer_groups.0.albert_layers.0.attention.key."),
    (r"^layers\.0\.attention\.v_proj\.", "encoder.albert_layer_groups.0.albert_layers.0.attention.value."),
    (r"^layers\.0\.attention\.out_proj\.", "encoder.albert_layer_groups.0.albert_layers.0.attention.dense."),
    (r"^layers\.0\.norm1\.", "encoder.albert_layer_groups.0.albert_layers.0.attention.LayerNorm."),
    (r"^layers\.0\.ffn\.fc1\.", "encoder.albert_layer_groups.0.albert_layers.0.ffn."),
    (r"^layers\.0\.ffn\.fc2\.", "encoder.albert_layer_groups.0.albert_layers.0.ffn_output."),
    (r"^layers\.0\.norm2\.", "encoder.albert_layer_groups.0.albert_layers.0.full_layer_layer_norm."),
]
BERT_TO_HF = [
    (r"^(word|position|token_type)_embeddings\.", r"embeddings.\1_embeddings."),
    (r"^embedding_norm\.", "embeddings.LayerNorm."),
    (r"^layers\.(\d+)\.attention\.([qkv])_proj\.", lambda m: f"encoder.layer.{m[1]}.attention.self."
     + {"q": "query", "k": "key", "v": "value"}[m[2]] + "."),
    (r"^layers\.(\d+)\.attention\.out_proj\.", r"encoder.layer.\1.attention.output.dense."),
    (r"^layers\.(\d+)\.norm1\.", r"encoder.layer.\1.attention.output.LayerNorm."),
    (r"^layers\.(\d+)\.ffn\.fc1\.", r"encoder.layer.\1.intermediate.dense."),
    (r"^layers\.(\d+)\.ffn\.fc2\.", r"encoder.layer.\1.output.dense."),
    (r"^layers\.(\d+)\.norm2\.", r"encoder.layer.\1.output.LayerNorm."),
    (r"^pooler\.", "pooler.dense."),
]


def renamed(state: dict, rules) -> dict:
    out = {}
    for name, tensor in state.items():
        for pattern, repl in rules:
            new, hits = re.subn(pattern, repl, name)
            if hits:
                out[new] = tensor
                break
        else:
            if not name.startswith("layers."):  # layers 1..L-1 of ALBERT alias layer 0
                out[name] = tensor
    return out


def load_into_hf(hf: nn.Module, state: dict, add_pooler: bool) -> None:
    missing, unexpected = hf.load_state_dict(state, strict=False)
    assert not unexpected
    assert all(name.startswith("pooler.") for name in missing) and bool(missing) != add_pooler


def hf_output(hf: nn.Module, x: torch.Tensor, add_pooler: bool) -> torch.Tensor:
    out = hf(input_ids=x)
    return out.pooler_output if add_pooler else out.last_hidden_state


@pytest.mark.parametrize("add_pooler", [False, True], ids=["states", "pooled"])
def test_albert_matches_transformers_albert_model(add_pooler):
    transformers = pytest.importorskip("transformers")
    o = TINY | dict(add_pooler=add_pooler)
    shared, unshared = psv.zoo.pair("albert", **o)
    perturb_and_copy("albert", shared, unshared)
    hf = transformers.AlbertModel(transformers.AlbertConfig(
        vocab_size=o["vocab_size"], embedding_size=o["embedding_size"], hidden_size=o["hidden_size"],
        num_hidden_layers=o["num_layers"], num_attention_heads=o["num_heads"],
        intermediate_size=o["intermediate_size"], max_position_embeddings=o["max_position_embeddings"],
        hidden_act="gelu",  # HF ALBERT defaults to gelu_new (tanh approximation); ours is exact GELU
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)).eval()
    load_into_hf(hf, renamed(shared.state_dict(), ALBERT_TO_HF), add_pooler)
    x = psv.zoo.example_input("albert", **o)
    with torch.no_grad():
        torch.testing.assert_close(shared(x), hf_output(hf, x, add_pooler))


@pytest.mark.parametrize("add_pooler", [False, True], ids=["states", "pooled"])
def test_albert_twin_matches_transformers_bert_model(add_pooler):
    transformers = pytest.importorskip("transformers")
    o = TINY | dict(embedding_size=16, add_pooler=add_pooler)  # BERT: E = H, no projection
    shared, unshared = psv.zoo.pair("albert", **o)
    perturb_and_copy("albert", shared, unshared)
    with torch.no_grad():  # make the twin's layers differ, so a layer mix-up would show
        for p in unshared.layers[1].parameters():
            p.mul_(1.5)
    hf = transformers.BertModel(transformers.BertConfig(
        vocab_size=o["vocab_size"], hidden_size=o["hidden_size"], num_hidden_layers=o["num_layers"],
        num_attention_heads=o["num_heads"], intermediate_size=o["intermediate_size"],
        max_position_embeddings=o["max_position_embeddings"], layer_norm_eps=1e-12,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)).eval()
    load_into_hf(hf, renamed(unshared.state_dict(), BERT_TO_HF), add_pooler)
    x = psv.zoo.example_input("albert", **o)
    with torch.no_grad():
        torch.testing.assert_close(unshared(x), hf_output(hf, x, add_pooler))


# --- sharing by identity ---
@pytest.mark.parametrize(
    ("overrides", "attention", "ffn", "norm"),
    [({}, True, True, True), (dict(share="attention"), True, False, True),
     (dict(share="ffn", share_layernorm=False), False, True, False)],
)
def test_albert_shares_by_identity(overrides, attention, ffn, norm):
    model = psv.zoo.build("albert", device="meta", **overrides)
    first, second = model.layers[0], model.layers[1]
    assert (first.attention is second.attention) == attention
    assert (first.ffn is second.ffn) == ffn
    assert (first.norm1 is second.norm1) == (first.norm2 is second.norm2) == norm
    assert (first is second) == (attention and ffn and norm)  # one block object for share="all"
    twin = psv.zoo.build("albert", shared=False, device="meta", **overrides)
    assert len({id(p) for p in twin.parameters()}) == len(list(twin.named_parameters()))


def test_tied_embeddings_head_is_the_embedding():
    shared, unshared = psv.zoo.pair("tied_embeddings")
    assert shared.lm_head.weight is shared.wte.weight
    assert unshared.lm_head.weight is not unshared.wte.weight
    torch.testing.assert_close(unshared.lm_head.weight, unshared.wte.weight)  # starts as a copy


def test_multitask_runs_the_shared_encoder_once():
    model = psv.zoo.build("multitask", num_tasks=4)
    calls = []
    model.encoder.register_forward_hook(lambda *_: calls.append(1))
    out = model(psv.zoo.example_input("multitask", batch=5, num_tasks=4))
    assert out.shape == (5, 4, 4) and len(calls) == 1


def test_gqa_query_heads_of_a_group_read_one_kv_head():
    shared, unshared = psv.zoo.pair("gqa", hidden_size=24, num_heads=6, groups=2, bias=True)
    d = 24 // 6
    for name in ("k_proj", "v_proj"):
        rows = getattr(unshared, name).weight.unflatten(0, (6, d))  # (heads, d, C)
        groups = getattr(shared, name).weight.unflatten(0, (2, d))  # (groups, d, C)
        for head in range(6):
            torch.testing.assert_close(rows[head], groups[head // 3])  # 6 / 2 = 3 query heads per group


# --- LoRA ---
def test_lora_with_b_zero_equals_the_base():
    model = psv.zoo.build("lora", init_lora_weights=True)
    x = psv.zoo.example_input("lora", batch=3, init_lora_weights=True)
    with torch.no_grad():
        out = model(x)  # (N, T, F_out)
        for t in range(out.shape[1]):
            torch.testing.assert_close(out[:, t], model.base(x))


def test_lora_trains_adapters_only():
    model = psv.zoo.build("lora")
    assert not any(p.requires_grad for p in model.base.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == 3 * 4 * (32 + 32)  # T r (F_in + F_out) = 768 of 1824
    assert lora.param_count(model.config, True) == n_params(model)  # frozen base counted too


# --- Universal Transformer halting ---
def test_act_that_never_halts_equals_the_plain_loop():
    plain = psv.zoo.build("universal_transformer")
    act = psv.zoo.build("universal_transformer", act=True)
    act.load_state_dict(plain.state_dict(), strict=False)  # same embedding and block
    with torch.no_grad():
        act.halting[0].weight.zero_()
        act.halting[0].bias.fill_(-50.0)  # p ~ 0: every position runs to the last step, which takes weight 1
        x = psv.zoo.example_input("universal_transformer")
        torch.testing.assert_close(act(x), plain(x))


def test_act_that_halts_at_once_is_one_step():
    model = psv.zoo.build("universal_transformer", act=True)
    with torch.no_grad():
        model.halting[0].weight.zero_()
        model.halting[0].bias.fill_(50.0)  # p ~ 1: every position halts at step 0 with weight 1
        x = psv.zoo.example_input("universal_transformer")
        h = model.embeddings(x)
        L, C = x.shape[1], h.shape[-1]
        signal = universal_transformer.timing_signal(torch.arange(L, dtype=torch.float32), C)
        signal = signal + universal_transformer.timing_signal(torch.zeros(1), C)  # depth 0
        torch.testing.assert_close(model(x), model.layers[0](h + signal))


@pytest.mark.parametrize(
    ("form", "overrides"),
    [("universal_transformer", {}), ("universal_transformer", dict(act=True)), ("tied_embeddings", {}),
     ("multitask", {}), ("gqa", dict(groups=1)), ("gqa", dict(bias=True)), ("lora", {})],
    ids=lambda v: str(v)[:30],
)
def test_twin_equivalence_with_random_weights(form, overrides):
    shared, unshared = psv.zoo.pair(form, **overrides)
    perturb_and_copy(form, shared, unshared)
    x = psv.zoo.example_input(form, **overrides)
    with torch.no_grad():
        torch.testing.assert_close(unshared(x), shared(x))


# --- bad configs: (form, overrides, fragment of the message) ---
BAD = [
    ("albert", dict(num_heads=5), "num_heads=5 must be positive and divide hidden_size=32"),
    ("albert", dict(num_layers=1), "num_layers=1 must be at least 2"),
    ("albert", dict(num_layers=0), "num_layers=0"),
    ("albert", dict(share="none"), "share='none' must be one of"),
    ("albert", dict(embedding_size=0), "embedding_size=0"),
    ("albert", dict(seq_len=65), "seq_len=65 exceeds max_position_embeddings=64"),
    ("albert", dict(dropout=1.0), "dropout=1.0"),
    ("albert", dict(hidden_size=2.5), "hidden_size=2.5"),
    ("universal_transformer", dict(num_layers=1), "num_layers=1 must be at least 2"),
    ("universal_transformer", dict(act_threshold=0.0), "act_threshold=0.0"),
    ("tied_embeddings", dict(num_layers=0), "num_layers=0"),
    ("tied_embeddings", dict(hidden_size=30, num_heads=4), "num_heads=4 must be positive and divide hidden_size=30"),
    ("multitask", dict(num_tasks=1), "num_tasks=1 must be at least 2"),
    ("multitask", dict(num_layers=0), "num_layers=0"),
    ("gqa", dict(groups=3), "groups=3 must divide num_heads=8"),
    ("gqa", dict(groups=8), "groups=8 equals num_heads=8"),
    ("gqa", dict(groups=0), "groups=0"),
    ("gqa", dict(num_heads=0), "num_heads=0"),
    ("lora", dict(rank=33), "rank=33 exceeds min(in_features, out_features)=32"),
    ("lora", dict(rank=0), "rank=0"),
    ("lora", dict(num_tasks=1), "num_tasks=1 must be at least 2"),
    # 2 tasks * 16 * (32 + 32) = 2048 adapter weights + 1056 base >= 2 * 1056 for two full copies
    ("lora", dict(rank=16, num_tasks=2), "rank=16 with in_features=32, out_features=32: the base plus 2 adapters hold 3104 parameters"),
    ("lora", dict(alpha=0.0), "alpha=0.0 must be positive"),
]


@pytest.mark.parametrize(("form", "overrides", "fragment"), BAD, ids=lambda v: str(v)[:40])
def test_bad_config(form, overrides, fragment):
    with pytest.raises(ValueError) as info:
        psv.zoo.make_config(form, **overrides)
    assert fragment in str(info.value)


# --- property: random valid albert configs ---
@st.composite
def albert_configs(draw) -> dict:
    heads = draw(st.integers(1, 3))
    seq_len = draw(st.integers(1, 5))
    return dict(
        vocab_size=draw(st.integers(2, 20)),
        embedding_size=draw(st.integers(1, 8)),
        hidden_size=heads * draw(st.integers(1, 4)),
        num_heads=heads,
        num_layers=draw(st.integers(2, 3)),
        intermediate_size=draw(st.integers(1, 16)),
        max_position_embeddings=seq_len + draw(st.integers(0, 3)),
        type_vocab_size=draw(st.integers(1, 3)),
        share=draw(st.sampled_from(list(albert.Share))),
        share_layernorm=draw(st.booleans()),
        add_pooler=draw(st.booleans()),
        seq_len=seq_len,
    )


@settings(max_examples=20, deadline=None)
@given(overrides=albert_configs(), seed=st.integers(0, 2**16))
def test_albert_twin_equivalence_and_count_property(overrides, seed):
    config = psv.zoo.make_config("albert", **overrides)
    shared, unshared = psv.zoo.pair("albert", seed=seed, **overrides)
    assert n_params(shared) == albert.param_count(config, True)
    assert n_params(unshared) == albert.param_count(config, False) > n_params(shared)
    perturb_and_copy("albert", shared, unshared, seed=seed)
    x = psv.zoo.example_input("albert", batch=2, seed=seed, **overrides)
    with torch.no_grad():
        torch.testing.assert_close(unshared(x), shared(x))
