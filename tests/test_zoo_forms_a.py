"""Per-form tests for conv, patch_embed, rnn, ssm, tied_autoencoder, siamese and hashednet."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

import paramshare_viz as psv
from paramshare_viz.models import conv, hashednet


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- counts: (form, overrides, shared count, unshared count), arithmetic in comments ---
COUNTS = [
    # 8*(3*3*3) + 8 = 224; 8*8 positions * 224 = 14336
    ("conv", {}, 224, 14336),
    # 6*(4/2*3*3) = 108, no bias; out side (9-3)//2+1 = 4 -> 16*108 = 1728
    (
        "conv",
        dict(in_channels=4, out_channels=6, stride=2, padding=0, groups=2, image_size=9, bias=False),
        108,
        1728,
    ),
    # dilation 2 spans 5 pixels: out side 8-5+1 = 4 -> 16*224 = 3584
    ("conv", dict(padding=0, dilation=2), 224, 3584),
    # 1*1 + 1 = 2; 2*2 positions * 2 = 8
    ("conv", dict(in_channels=1, out_channels=1, kernel_size=1, padding=0, image_size=2), 2, 8),
    # 16*(3*4*4) + 16 = 784; (8/4)**2 = 4 patches * 784 = 3136
    ("patch_embed", {}, 784, 3136),
    # 10*(1*8*8) = 640, no bias; (32/8)**2 = 16 patches * 640 = 10240
    ("patch_embed", dict(image_size=32, patch_size=8, in_channels=1, embed_dim=10, bias=False), 640, 10240),
    # cell 1*(8*4 + 8*8 + 2*8) = 112, + h0 8 = 120; 5 cells * 112 + 8 = 568
    ("rnn", {}, 120, 568),
    # cell 3*(8*4 + 8*8 + 2*8) = 336, + h0 8 = 344; 3*336 + 8 = 1016
    ("rnn", dict(cell="gru", seq_len=3), 344, 1016),
    # cell 4*(3*2 + 3*3) = 60, + h0, c0 2*3 = 66; 4*60 + 6 = 246
    ("rnn", dict(cell="lstm", input_size=2, hidden_size=3, seq_len=4, bias=False), 66, 246),
    # step 8 + 2*8*4 + 4 = 76, + h0 8 = 84; 6*76 + 8 = 464
    ("ssm", {}, 84, 464),
    # step 1 + 2*1*1 + 1 = 4, + h0 1 = 5; 2*4 + 1 = 9
    ("ssm", dict(d_model=1, d_state=1, seq_len=2), 5, 9),
    # 16*4 + 4 + 16 = 84; 2*16*4 + 4 + 16 = 148
    ("tied_autoencoder", {}, 84, 148),
    # 10*3 = 30; 2*10*3 = 60
    ("tied_autoencoder", dict(in_features=10, hidden_features=3, bias=False), 30, 60),
    # 8*16 + 16 + 16*4 + 4 = 212; 2*212 = 424
    ("siamese", {}, 212, 424),
    # 3*5 + 5*2 = 25; 2*25 = 50
    ("siamese", dict(in_features=3, hidden_features=5, embed_dim=2, bias=False), 25, 50),
    # 32 buckets + 8 bias = 40; 8*16 + 8 = 136
    ("hashednet", {}, 40, 136),
    # 7 buckets; 5*10 = 50
    ("hashednet", dict(in_features=10, out_features=5, num_buckets=7, bias=False), 7, 50),
]


@pytest.mark.parametrize(("form", "overrides", "shared", "unshared"), COUNTS)
def test_counts(form, overrides, shared, unshared):
    config = psv.zoo.make_config(form, **overrides)
    spec = psv.models.registry.get(form)
    assert spec.param_count(config, True) == shared
    assert spec.param_count(config, False) == unshared
    assert n_params(psv.zoo.build(form, shared=True, device="meta", **overrides)) == shared
    assert n_params(psv.zoo.build(form, shared=False, device="meta", **overrides)) == unshared


# --- bad configs: (form, overrides, fragment of the message) ---
BAD = [
    (
        "conv",
        dict(kernel_size=9, padding=0),
        "kernel_size=9 is larger than the padded input of 8 pixels (image_size=8 plus twice padding=0)",
    ),
    ("conv", dict(in_channels=4, groups=3), "groups=3 does not divide in_channels=4"),
    ("conv", dict(in_channels=4, out_channels=6, groups=4), "groups=4 does not divide out_channels=6"),
    ("conv", dict(in_channels=0), "in_channels=0"),
    ("conv", dict(out_channels=0), "out_channels=0"),
    ("conv", dict(stride=0), "stride=0"),
    ("conv", dict(padding=-1), "padding=-1"),
    ("conv", dict(in_channels=2.5), "in_channels=2.5"),
    ("conv", dict(kernel_size=3, dilation=4, padding=0), "dilation=4 spans 9 pixels"),
    ("conv", dict(image_size=3, padding=0), "output is 1x1"),
    ("conv", dict(stride=8, padding=0), "output is 1x1"),
    ("patch_embed", dict(patch_size=3), "patch_size=3 does not divide image_size=8"),
    ("patch_embed", dict(patch_size=8), "a single patch"),
    ("patch_embed", dict(embed_dim=0), "embed_dim=0"),
    ("patch_embed", dict(in_channels=-1), "in_channels=-1"),
    ("rnn", dict(cell="transformer"), "cell='transformer' is not one of ['rnn', 'gru', 'lstm']"),
    ("rnn", dict(seq_len=1), "seq_len=1 must be at least 2"),
    ("rnn", dict(seq_len=0), "seq_len=0"),
    ("rnn", dict(hidden_size=0), "hidden_size=0"),
    ("rnn", dict(input_size=1.5), "input_size=1.5"),
    ("ssm", dict(d_state=0), "d_state=0"),
    ("ssm", dict(seq_len=1), "seq_len=1 must be at least 2"),
    ("ssm", dict(d_model=True), "d_model=True"),
    ("tied_autoencoder", dict(in_features=0), "in_features=0"),
    ("tied_autoencoder", dict(hidden_features=-2), "hidden_features=-2"),
    ("siamese", dict(embed_dim=1), "embed_dim=1 must be at least 2"),
    ("siamese", dict(hidden_features=0), "hidden_features=0"),
    ("hashednet", dict(num_buckets=0), "num_buckets=0"),
    (
        "hashednet",
        dict(num_buckets=128),
        "num_buckets=128 must be fewer than the virtual weight's out_features*in_features = 8*16 = 128",
    ),
    ("hashednet", dict(seed=-1), "seed=-1"),
    ("hashednet", dict(in_features=0), "in_features=0"),
]


@pytest.mark.parametrize(("form", "overrides", "fragment"), BAD, ids=lambda v: str(v)[:40])
def test_bad_config(form, overrides, fragment):
    with pytest.raises(ValueError) as info:
        psv.zoo.make_config(form, **overrides)
    assert fragment in str(info.value)


# --- conv ---
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # 8*27 + 8 = 224; 64*224 = 14336; (3*8*8)*(8*8*8) + 8*8*8 = 98304 + 512 = 98816
        ({}, {"conv": 224, "locally_connected": 14336, "dense": 98816}),
        # out side (9-3)//2+1 = 4: 6*2*9 = 108; 16*108 = 1728; (4*81)*(6*16) = 31104, no bias
        (
            dict(in_channels=4, out_channels=6, stride=2, padding=0, groups=2, image_size=9, bias=False),
            {"conv": 108, "locally_connected": 1728, "dense": 31104},
        ),
        # 1x1 kernel on 2x2: 1 + 1 = 2; 4*2 = 8; 4*4 + 4 = 20
        (
            dict(in_channels=1, out_channels=1, kernel_size=1, padding=0, image_size=2),
            {"conv": 2, "locally_connected": 8, "dense": 20},
        ),
    ],
)
def test_conv_param_counts(overrides, expected):
    config = psv.zoo.make_config("conv", **overrides)
    counts = conv.conv_param_counts(config)
    assert counts == expected
    assert n_params(psv.zoo.build("conv", device="meta", **overrides)) == counts["conv"]
    assert (
        n_params(psv.zoo.build("conv", shared=False, device="meta", **overrides))
        == counts["locally_connected"]
    )
    with torch.device("meta"):
        dense = conv.build_dense(config)
    assert n_params(dense) == counts["dense"]
    h_out, w_out = conv.output_size(config)
    assert dense.in_features == config.in_channels * config.image_size**2
    assert dense.out_features == config.out_channels * h_out * w_out


def test_conv_output_size_matches_torch():
    config = conv.ConvConfig(kernel_size=3, stride=2, padding=1, dilation=2, image_size=11)
    y = psv.zoo.build("conv", **dataclasses.asdict(config))(
        psv.zoo.example_input("conv", **dataclasses.asdict(config))
    )
    assert tuple(y.shape[-2:]) == conv.output_size(config)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(),
        dict(stride=2),
        dict(padding=0, dilation=2),
        dict(stride=2, padding=2, dilation=2, image_size=9),
        dict(in_channels=4, out_channels=6, groups=2),
        dict(in_channels=4, out_channels=8, groups=4, kernel_size=2, stride=3, padding=1, bias=False),
    ],
    ids=str,
)
def test_locally_connected_equals_conv(overrides):
    shared, unshared = psv.zoo.pair("conv", **overrides)
    assert isinstance(shared, nn.Conv2d) and isinstance(unshared, conv.LocallyConnected2d)
    x = psv.zoo.example_input("conv", **overrides)
    torch.testing.assert_close(unshared(x), shared(x))


def test_locally_connected_kernels_are_independent():
    _, unshared = psv.zoo.pair("conv", padding=0)
    x = psv.zoo.example_input("conv", padding=0)
    with torch.no_grad():
        before = unshared(x)
        unshared.weight[0].add_(1.0)  # change the kernel of the top-left position only
        diff = (unshared(x) - before).abs().sum(dim=(0, 1))  # (H_out, W_out)
    assert diff[0, 0] > 0
    assert diff.flatten()[1:].max() == 0


@st.composite
def conv_configs(draw):
    groups = draw(st.integers(1, 3))
    kw = dict(
        in_channels=groups * draw(st.integers(1, 2)),
        out_channels=groups * draw(st.integers(1, 2)),
        kernel_size=draw(st.integers(1, 4)),
        stride=draw(st.integers(1, 3)),
        padding=draw(st.integers(0, 2)),
        dilation=draw(st.integers(1, 2)),
        groups=groups,
        image_size=draw(st.integers(2, 7)),
        bias=draw(st.booleans()),
    )
    try:
        conv.ConvConfig(**kw)
    except ValueError:
        assume(False)
    return kw


@settings(max_examples=25, deadline=None)
@given(conv_configs())
def test_conv_property(kw):
    shared, unshared = psv.zoo.pair("conv", **kw)
    x = psv.zoo.example_input("conv", **kw)
    torch.testing.assert_close(unshared(x), shared(x))
    counts = conv.conv_param_counts(conv.ConvConfig(**kw))
    assert n_params(shared) == counts["conv"] < counts["locally_connected"] == n_params(unshared)


# --- big configs: the twin is over the default 2 GiB budget, yet builds on meta ---
BIG = [
    # 256*256 positions * (64*64*9 + 64) = 2.42e9 parameters
    ("conv", dict(in_channels=64, out_channels=64, image_size=256)),
    # (1024/16)**2 = 4096 patches * (768*3*16*16 + 768) = 2.42e9
    ("patch_embed", dict(image_size=1024, patch_size=16, embed_dim=768)),
    # 256 steps * 4*(1024*1024 + 1024*1024 + 2*1024) = 2.15e9
    ("rnn", dict(cell="lstm", input_size=1024, hidden_size=1024, seq_len=256)),
    # 1024 steps * (1024 + 2*1024*1024 + 1024) = 2.15e9
    ("ssm", dict(d_model=1024, d_state=1024, seq_len=1024)),
    # 2*50000*20000 = 2e9
    ("tied_autoencoder", dict(in_features=50000, hidden_features=20000)),
    # 2*(40000*30000 + 30000*4) = 2.4e9
    ("siamese", dict(in_features=40000, hidden_features=30000)),
    # 50000*50000 = 2.5e9
    ("hashednet", dict(in_features=50000, out_features=50000, num_buckets=1000)),
]


@pytest.mark.parametrize(("form", "overrides"), BIG, ids=[f for f, _ in BIG])
def test_big_twin_builds_on_meta_and_is_refused_on_cpu(form, overrides):
    config = psv.zoo.make_config(form, **overrides)
    assert psv.zoo.estimated_bytes(form, config, shared=False) > psv.zoo.DEFAULT_MEMORY_BUDGET
    for shared in (True, False):
        model = psv.zoo.build(form, shared=shared, device="meta", **overrides)
        assert all(t.is_meta for t in [*model.parameters(), *model.buffers()])
        assert n_params(model) == psv.models.registry.get(form).param_count(config, shared)
    with pytest.raises(ValueError, match="meta"):
        psv.zoo.build(form, shared=False, **overrides)


# --- patch_embed ---
def test_patch_embed_is_vit_patchify_then_project():
    model = psv.zoo.build("patch_embed")
    x = psv.zoo.example_input("patch_embed")  # (2, 3, 8, 8)
    n, c, p = 2, 3, 4
    patches = x.view(n, c, 2, p, 2, p).permute(0, 2, 4, 1, 3, 5).reshape(n, 4, c * p * p)  # (N, T, C*P*P)
    expected = patches @ model.proj.weight.flatten(1).t() + model.proj.bias
    torch.testing.assert_close(model(x), expected)
    assert model(x).shape == (2, 4, 16)


# --- rnn ---
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_rnn_equals_torch_rnn(cell):
    shared, unshared = psv.zoo.pair("rnn", cell=cell)
    x = psv.zoo.example_input("rnn", cell=cell)
    assert shared.cell_at(0) is shared.cell_at(4)  # one cell object at every step
    assert len({id(unshared.cell_at(t)) for t in range(5)}) == 5
    reference = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](4, 8, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference, name + "_l0").copy_(getattr(shared.cell, name))
        h0 = shared.h0.expand(1, 2, -1).contiguous()
        state = (h0, shared.c0.expand(1, 2, -1).contiguous()) if cell == "lstm" else h0
        expected, _ = reference(x, state)
        torch.testing.assert_close(shared(x), expected)
        torch.testing.assert_close(unshared(x), expected)


def test_rnn_rejects_a_wrong_length():
    with pytest.raises(ValueError, match="seq_len=5"):
        psv.zoo.build("rnn")(torch.randn(2, 3, 4))


# --- ssm ---
def test_ssm_equals_its_closed_form():
    model = psv.zoo.build("ssm", dtype=torch.float64)
    x = psv.zoo.example_input("ssm").double()  # (N, L, d) = (2, 6, 4)
    with torch.no_grad():
        a = torch.exp(-torch.exp(model.log_a))
        ys = []
        for t in range(6):
            # h_t = a^(t+1) h0 + sum_s a^(t-s) B x_s
            h = a ** (t + 1) * model.h0 + sum(a ** (t - s) * (x[:, s] @ model.B.t()) for s in range(t + 1))
            ys.append(h @ model.C.t() + model.D * x[:, t])
        torch.testing.assert_close(model(x), torch.stack(ys, dim=1))
        assert bool(((a > 0) & (a < 1)).all())  # stable decay


# --- tied_autoencoder ---
def test_tied_autoencoder_decodes_with_the_encoder_parameter():
    model = psv.zoo.build("tied_autoencoder")
    x = psv.zoo.example_input("tied_autoencoder")
    w = model.encoder.weight
    expected = torch.sigmoid(x @ w.t() + model.encoder.bias) @ w + model.decoder_bias
    torch.testing.assert_close(model(x), expected)
    model(x).sum().backward()
    # one Parameter gets the gradient of both uses; the model holds no other weight matrix
    assert [n for n, p in model.named_parameters() if p.dim() == 2] == ["encoder.weight"]


# --- siamese ---
def test_siamese_shared_branch_is_symmetric():
    shared, unshared = psv.zoo.pair("siamese")
    x1, x2 = psv.zoo.example_input("siamese")
    assert shared.branch_for(0) is shared.branch_for(1)
    torch.testing.assert_close(shared(x1, x2), shared(x2, x1))
    with torch.no_grad():
        unshared.branches[1][0].weight.add_(0.5)  # the twins drift apart
        assert not torch.allclose(unshared(x1, x2), unshared(x2, x1))


# --- hashednet ---
def test_hashednet_map_is_deterministic_and_uses_every_bucket():
    config = psv.zoo.make_config("hashednet")
    idx, sign = hashednet.hash_maps(config)
    idx2, sign2 = hashednet.hash_maps(config)
    assert torch.equal(idx, idx2) and torch.equal(sign, sign2)
    other, _ = hashednet.hash_maps(dataclasses.replace(config, seed=1))
    assert not torch.equal(idx, other)
    assert idx.shape == (8, 16) and set(idx.flatten().tolist()) == set(range(32))
    assert set(sign.flatten().tolist()) == {-1, 1}
    # the seed, not the global RNG, fixes the map
    a = psv.zoo.build("hashednet")
    torch.manual_seed(123)
    b = psv.zoo.build("hashednet")
    assert torch.equal(a.index, b.index) and torch.equal(a.sign, b.sign)


@pytest.mark.parametrize("sign_hash", [True, False])
def test_hashednet_virtual_weight(sign_hash):
    model = psv.zoo.build("hashednet", sign_hash=sign_hash)
    w = model.virtual_weight()
    expected = model.buckets[model.index] * (model.sign if sign_hash else 1)
    torch.testing.assert_close(w, expected)
    assert set(w.abs().flatten().tolist()) <= set(model.buckets.abs().tolist())
    assert (model.sign is None) == (not sign_hash)


def test_hashednet_huge_index_map_is_refused_off_meta():
    # 100000*100000 virtual entries: few parameters (K + O), but an 80 GB index buffer
    overrides = dict(in_features=100_000, out_features=100_000, num_buckets=1000)
    with pytest.raises(ValueError, match="meta"):
        psv.zoo.build("hashednet", **overrides)
    assert psv.zoo.build("hashednet", device="meta", **overrides).index.is_meta
