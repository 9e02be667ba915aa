"""Sharing analysis: counts, groups, per-module rows, calls, FLOPs, memory ledger, untie.

One table of cases (``CASES``), each with literal expected counts and the
arithmetic in a comment; every check is parametrised over it. Hand-built
cases run on CPU and on the meta device (where every ``data_ptr`` is 0).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paramshare_viz as psv
from paramshare_viz.analysis import count_calls, count_flops, training_memory

# --------------------------------------------------------------------------- models


class TiedLM(nn.Module):
    """Embedding + output head tied to it (Press & Wolf, 2017)."""

    def __init__(self, vocab: int = 10, dim: int = 4) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied embeddings

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.wte(ids))


class Repeated(nn.Module):
    """``nn.ModuleList([blk] * n)``: one block registered under n names."""

    def __init__(self, n: int = 4, dim: int = 4) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(dim, dim)] * n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return x


class AlbertLike(nn.Module):
    """One block object applied ``depth`` times (registered once)."""

    def __init__(self, depth: int = 3, dim: int = 4) -> None:
        super().__init__()
        self.depth = depth
        self.block = nn.Sequential(nn.Linear(dim, dim), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.depth):
            x = self.block(x)
        return x


class Siamese(nn.Module):
    """One branch registered as ``left`` and ``right``."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
        self.right = self.left  # one branch, two names

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (self.left(a) - self.right(b)).abs().sum(-1)


class Views(nn.Module):
    """Parameters that are views of one storage: the whole, a slice, a transpose, a flat view."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(6, 4))
        base = self.w.detach()
        self.top = nn.Parameter(base[:2])  # rows 0-1: 8 elements of w
        self.wt = nn.Parameter(base.t())  # (4, 6), all 24 elements of w
        self.flat = nn.Parameter(base.view(-1))  # (24,), all of w

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 4)
        return x @ self.wt @ self.w + (x @ self.top.t()).sum(-1, keepdim=True) + self.flat[:4]


class Slices(nn.Module):
    """Slices of one storage: disjoint (no group), interleaved columns (no group), overlapping (group)."""

    def __init__(self) -> None:
        super().__init__()
        halves = torch.randn(6, 4)
        self.a = nn.Parameter(halves[:3])  # rows 0-2
        self.b = nn.Parameter(halves[3:])  # rows 3-5: disjoint from a
        cols = torch.randn(3, 4)
        self.c1 = nn.Parameter(cols[:, :2])  # strided, interleaves with c2 but shares nothing
        self.c2 = nn.Parameter(cols[:, 2:])
        z = torch.randn(10)
        self.z1 = nn.Parameter(z[:5])  # elements 0-4
        self.z2 = nn.Parameter(z[3:8])  # elements 3-7: overlaps z1 on 3, 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 4)
        return (x @ self.a.t()).sum(-1) + (x @ self.b.t()).sum(-1) + (self.c1.sum() + self.z1 @ self.z2)


class SharedBuffers(nn.Module):
    """One mask buffer in two modules, a row view of it, and a buffer viewing a parameter."""

    def __init__(self) -> None:
        super().__init__()
        mask = torch.ones(4, 4)
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.a.register_buffer("mask", mask)
        self.b.register_buffer("mask", mask)  # same tensor, second name
        self.b.register_buffer("row", mask[0])  # view: 4 elements of mask
        self.register_buffer("bias_copy", self.a.bias.detach())  # aliases a parameter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x) * self.a.mask[0]) * self.b.row + self.bias_copy


class Frozen(nn.Module):
    """A frozen base and a trainable head."""

    def __init__(self) -> None:
        super().__init__()
        self.base = nn.Linear(4, 4).requires_grad_(False)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.base(x)))


class Nested(nn.Module):
    """A block holding one layer twice, itself held twice: 4 names of one Linear."""

    def __init__(self) -> None:
        super().__init__()
        inner = nn.Linear(2, 2)
        block = nn.Sequential(inner, nn.Tanh(), inner)
        self.stack = nn.Sequential(block, block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stack(x)


class UnrolledCell(nn.Module):
    """One ``nn.RNNCell`` called at each of ``steps`` steps."""

    def __init__(self, steps: int = 7) -> None:
        super().__init__()
        self.cell = nn.RNNCell(3, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, L, 3)
        h = torch.zeros(x.shape[0], 5, device=x.device)
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        return h


def _hf(config_name: str, model_name: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        transformers = pytest.importorskip("transformers")
        config = getattr(transformers, config_name)()
        with torch.device("meta"):
            return getattr(transformers, model_name)(config).eval()

    return build


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[], nn.Module]
    example_input: Callable[[], object] | None
    naive_params: int
    unique_params: int
    groups: list[tuple[list[str], int, str]] = field(default_factory=list)  # names, numel, kind
    naive_buffers: int = 0
    unique_buffers: int = 0
    trainable_params: int | None = None  # None: all unique params are trainable
    views: bool = False  # parameter objects alias one storage (PyTorch's own count differs)
    cpu: bool = True  # also run on CPU (hand-built cases); every case runs on meta
    hf: bool = False


CASES = [
    Case(
        "tied_lm", TiedLM, lambda: torch.tensor([[1, 2, 3]]),
        # wte.weight = lm_head.weight: 10 * 4 = 40, counted twice by name
        naive_params=80, unique_params=40,
        groups=[(["lm_head.weight", "wte.weight"], 40, "same-tensor")],
    ),
    Case(
        "modulelist_one_block", Repeated, lambda: torch.randn(2, 4),
        # 4 names * (4*4 + 4) = 80; one block: 20
        naive_params=80, unique_params=20,
        groups=[
            ([f"layers.{i}.bias" for i in range(4)], 4, "same-tensor"),
            ([f"layers.{i}.weight" for i in range(4)], 16, "same-tensor"),
        ],
    ),
    Case(
        "siamese", Siamese, lambda: (torch.randn(2, 3), torch.randn(2, 3)),
        # branch: (3*5 + 5) + (5*2 + 2) = 32; two names: 64
        naive_params=64, unique_params=32,
        groups=[
            (["left.0.bias", "right.0.bias"], 5, "same-tensor"),
            (["left.0.weight", "right.0.weight"], 15, "same-tensor"),
            (["left.2.bias", "right.2.bias"], 2, "same-tensor"),
            (["left.2.weight", "right.2.weight"], 10, "same-tensor"),
        ],
    ),
    Case(
        "views_slice_transpose", Views, lambda: torch.randn(2, 4),
        # w 24 + top 8 + wt 24 + flat 24 = 80 by name; one 6*4 storage: 24
        naive_params=80, unique_params=24,
        groups=[(["flat", "top", "w", "wt"], 24, "aliased-storage")],
        views=True,
    ),
    Case(
        "slices", Slices, lambda: torch.randn(2, 4),
        # a 12 + b 12 (disjoint) + c1 6 + c2 6 (interleaved, disjoint) + z1 5 + z2 5 = 46;
        # z1 = z[0:5], z2 = z[3:8] share z[3:5]: union 8 -> 46 - 2 = 44
        naive_params=46, unique_params=44,
        groups=[(["z1", "z2"], 8, "aliased-storage")],
        views=True,
    ),
    Case(
        "shared_buffers", SharedBuffers, lambda: torch.randn(2, 4),
        # params: a, b = 2 * (16 + 4) = 40, no sharing
        # buffers: a.mask 16 + b.mask 16 + b.row 4 + bias_copy 4 = 40 by name;
        # held: mask 16 (row inside it); bias_copy is a.bias's memory, a parameter element -> 16
        naive_params=40, unique_params=40,
        groups=[
            (["a.bias", "bias_copy"], 4, "aliased-storage"),
            (["a.mask", "b.mask", "b.row"], 16, "aliased-storage"),
        ],
        naive_buffers=40, unique_buffers=16,
    ),
    Case(
        "frozen", Frozen, lambda: torch.randn(2, 4),
        # base 4*4 + 4 = 20 frozen; head 4*2 + 2 = 10 trainable
        naive_params=30, unique_params=30, trainable_params=10,
    ),
    Case(
        "nested_reuse", Nested, lambda: torch.randn(2, 2),
        # one Linear(2, 2) under stack.{0,1}.{0,2}: 4 * (2*2 + 2) = 24; held 6
        naive_params=24, unique_params=6,
        groups=[
            ([f"stack.{i}.{j}.bias" for i in (0, 1) for j in (0, 2)], 2, "same-tensor"),
            ([f"stack.{i}.{j}.weight" for i in (0, 1) for j in (0, 2)], 4, "same-tensor"),
        ],
    ),
    Case(
        "torch_rnn", lambda: nn.RNN(4, 8, num_layers=2, batch_first=True), lambda: torch.randn(2, 5, 4),
        # layer 0: 8*4 + 8*8 + 8 + 8 = 112; layer 1: 8*8 + 8*8 + 8 + 8 = 144; total 256, no sharing
        naive_params=256, unique_params=256,
    ),
    Case(
        "unrolled_cell", UnrolledCell, lambda: torch.randn(2, 7, 3),
        # RNNCell(3, 5): 5*3 + 5*5 + 5 + 5 = 50, one object called 7 times
        naive_params=50, unique_params=50,
    ),
    Case(
        "hf_gpt2", _hf("GPT2Config", "GPT2LMHeadModel"), None,
        # unique 124,439,808; lm_head.weight = wte.weight (50257 * 768 = 38,597,376) named twice:
        # 124,439,808 + 38,597,376 = 163,037,184 (torchinfo's total)
        naive_params=163_037_184, unique_params=124_439_808,
        groups=[(["lm_head.weight", "transformer.wte.weight"], 38_597_376, "same-tensor")],
        cpu=False, hf=True,
    ),
    Case(
        "hf_albert", _hf("AlbertConfig", "AlbertForMaskedLM"), None,
        # unique 206,368,944; decoder.weight = word_embeddings (30000 * 128 = 3,840,000),
        # decoder.bias = predictions.bias (30,000): 206,368,944 + 3,870,000 = 210,238,944.
        # Buffers position_ids (1, 512) + token_type_ids (1, 512) = 1024.
        naive_params=210_238_944, unique_params=206_368_944,
        groups=[
            (["albert.embeddings.word_embeddings.weight", "predictions.decoder.weight"], 3_840_000, "same-tensor"),
            (["predictions.bias", "predictions.decoder.bias"], 30_000, "same-tensor"),
        ],
        naive_buffers=1024, unique_buffers=1024,
        cpu=False, hf=True,
    ),
    Case(
        "hf_t5", _hf("T5Config", "T5ForConditionalGeneration"), None,
        # shared (32128 * 512 = 16,449,536) is also encoder/decoder.embed_tokens and lm_head:
        # 60,506,624 + 3 * 16,449,536 = 109,855,232
        naive_params=109_855_232, unique_params=60_506_624,
        groups=[
            (
                ["decoder.embed_tokens.weight", "encoder.embed_tokens.weight", "lm_head.weight", "shared.weight"],
                16_449_536,
                "same-tensor",
            )
        ],
        cpu=False, hf=True,
    ),
]

# Hand-built cases run on CPU and on meta; HF cases are built on meta already.
DEVICE_CASES = [
    pytest.param(case, device, id=f"{case.id}-{device}")
    for case in CASES
    for device in (["cpu", "meta"] if case.cpu else ["meta"])
]
RUNNABLE = [pytest.param(case, id=case.id) for case in CASES if case.example_input is not None]


def _build(case: Case, device: str) -> nn.Module:
    torch.manual_seed(0)
    if case.hf:
        return case.build()
    with torch.device(device):
        return case.build()


def _call(model: nn.Module, x: object) -> torch.Tensor:
    out = model(*x) if isinstance(x, tuple) else model(x)
    return out[0] if isinstance(out, tuple) else out


# --------------------------------------------------------------------------- counts and groups


@pytest.mark.parametrize(("case", "device"), DEVICE_CASES)
def test_counts_and_groups(case: Case, device: str) -> None:
    report = psv.analyze(_build(case, device))
    assert (report.naive_params, report.unique_params) == (case.naive_params, case.unique_params)
    assert (report.naive_buffers, report.unique_buffers) == (case.naive_buffers, case.unique_buffers)
    assert [(g.names, g.numel, g.kind) for g in sorted(report.groups, key=lambda g: g.names)] == case.groups
    expected_trainable = case.unique_params if case.trainable_params is None else case.trainable_params
    assert report.trainable_params == expected_trainable
    assert report.frozen_params == case.unique_params - expected_trainable
    assert report.saving_params == case.naive_params - case.unique_params


@pytest.mark.parametrize(("case", "device"), DEVICE_CASES)
def test_invariants_against_pytorch(case: Case, device: str) -> None:
    model = _build(case, device)
    report = psv.analyze(model)
    params = list(model.parameters())
    named = list(model.named_parameters(remove_duplicate=False))
    assert report.naive_params == sum(p.numel() for _, p in named)
    assert report.num_param_names == len(named)
    assert report.num_param_tensors == len(params)
    if not case.views:  # without storage aliasing, PyTorch's deduplicated count is exact
        assert report.unique_params == sum(p.numel() for p in params)
    assert report.naive_bytes == sum(p.numel() * p.element_size() for _, p in named)
    assert report.unique_bytes == report.unique_params * 4  # every case is float32
    assert report.bytes_by_dtype == (
        {"float32": {"naive": report.naive_bytes, "unique": report.unique_bytes}} if named else {}
    )
    for group in report.groups:
        assert len(group.names) >= 2 and group.names == sorted(group.names)
        assert group.naive_numel >= group.numel


@pytest.mark.parametrize(("case", "device"), DEVICE_CASES)
def test_module_rows_add_up_to_totals(case: Case, device: str) -> None:
    model = _build(case, device)
    report = psv.analyze(model)
    rows = report.modules
    assert [r.name for r in rows] == [n for n, _ in model.named_modules(remove_duplicate=False)]
    assert rows[0].name == "" and rows[0].depth == 0
    for field_name in (
        "naive_params", "unique_params", "naive_bytes", "unique_bytes",
        "naive_buffers", "unique_buffers", "naive_buffer_bytes", "unique_buffer_bytes",
    ):
        assert sum(getattr(r, field_name) for r in rows) == getattr(report, field_name), field_name
    own = {name for r in rows for name in r.params}
    assert own == {n for n, _ in model.named_parameters(remove_duplicate=False)}
    grouped = {name: g for g in report.groups for name in g.names}
    for row in rows:
        expected = sorted({n for name in row.params + row.buffers if name in grouped for n in grouped[name].names}
                          - set(row.params + row.buffers))
        assert list(row.shared_with) == expected


def test_module_rows_name_aliases_and_shared_with() -> None:
    report = psv.analyze(Repeated())
    rows = {r.name: r for r in report.modules}
    assert rows["layers.2"].aliases == ("layers.0", "layers.1", "layers.3")
    # the first name holds the block's 20 elements; the other three hold none
    assert [rows[f"layers.{i}"].unique_params for i in range(4)] == [20, 0, 0, 0]
    assert [rows[f"layers.{i}"].naive_params for i in range(4)] == [20, 20, 20, 20]
    lm = {r.name: r for r in psv.analyze(TiedLM()).modules}
    assert lm["lm_head"].shared_with == ("wte.weight",)
    assert lm["wte"].shared_with == ("lm_head.weight",)


def test_to_dict_is_json_and_round_trips() -> None:
    model = Repeated()
    report = psv.analyze(model, torch.randn(2, 4))
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["naive_params"] == 80 and data["unique_params"] == 20
    assert data["groups"][0]["names"] == report.groups[0].names
    assert len(data["modules"]) == len(report.modules)
    assert data["flops"]["forward"] == report.flops.forward
    assert data["calls"]["layers.3"] == 4


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(lambda: nn.Sequential(nn.LazyLinear(3)), "0.weight is an uninitialized lazy", id="lazy"),
    ],
)
def test_analyze_rejects_in_plain_words(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        psv.analyze(build())


# --------------------------------------------------------------------------- runtime: calls, flops


def test_calls_rnn_cell_runs_every_step() -> None:
    # one RNNCell object, T = 7 steps
    calls = psv.analyze(UnrolledCell(), torch.randn(2, 7, 3)).calls
    assert calls == {"": 1, "cell": 7}


def test_calls_albert_like_block_runs_every_layer() -> None:
    # one block applied L = 3 times; its Linear and Tanh too
    assert count_calls(AlbertLike(depth=3), torch.randn(2, 4)) == {"": 1, "block": 3, "block.0": 3, "block.1": 3}


def test_calls_module_under_several_names_reported_under_every_name() -> None:
    # ModuleList([blk] * 4): one object called 4 times, whatever name the loop used
    calls = psv.analyze(Repeated(), torch.randn(2, 4)).calls
    assert calls == {"": 1, "layers": 0, "layers.0": 4, "layers.1": 4, "layers.2": 4, "layers.3": 4}


def test_calls_hf_albert_layer_group_runs_num_hidden_layers_times() -> None:
    transformers = pytest.importorskip("transformers")
    config = transformers.AlbertConfig(
        hidden_size=64, embedding_size=16, num_attention_heads=4, intermediate_size=128, num_hidden_layers=6
    )
    with torch.device("meta"):
        model = transformers.AlbertModel(config).eval()
    ids = torch.zeros(1, 8, dtype=torch.long, device="meta")
    report = psv.analyze(model, {"input_ids": ids})
    assert report.calls["encoder.albert_layer_groups.0"] == 6
    assert report.calls["encoder.albert_layer_groups.0.albert_layers.0.ffn"] == 6
    assert report.flops.forward > 0


class UnfoldConv(nn.Module):
    """A convolution written as unfold + Linear: the same MACs as Conv2d."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.k = conv.kernel_size
        self.proj = nn.Linear(conv.in_channels * self.k[0] * self.k[1], conv.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W)
        n, _, h, w = x.shape
        patches = F.unfold(x, self.k).transpose(1, 2)  # (N, H'W', C*kh*kw)
        out = self.proj(patches)  # (N, H'W', C_out)
        return out.transpose(1, 2).reshape(n, -1, h - self.k[0] + 1, w - self.k[1] + 1)


FLOP_PAIRS = [
    # Conv2d(3, 8, 3) on (1, 3, 10, 10): 8 * 8 output positions * 8 out * 27 in = 13,824 MACs
    pytest.param(lambda: nn.Conv2d(3, 8, 3), UnfoldConv, (1, 3, 10, 10), 13_824, id="conv3x3-vs-unfold-linear"),
    # a 1x1 conv is a Linear over channels: 6 * 6 * 8 * 4 = 1,152 MACs
    pytest.param(lambda: nn.Conv2d(4, 8, 1), UnfoldConv, (1, 4, 6, 6), 1_152, id="conv1x1-vs-linear"),
]


@pytest.mark.parametrize(("make_conv", "make_twin", "shape", "macs"), FLOP_PAIRS)
def test_flops_conv_equals_equivalent_module(make_conv, make_twin, shape, macs) -> None:
    conv = make_conv()
    twin = make_twin(conv)
    x = torch.randn(shape)
    a, b = count_flops(conv, x), count_flops(twin, x)
    assert a.macs == b.macs == macs
    assert a.forward == 2 * macs
    # same parameters (C_out * C_in * k * k + C_out) and same MACs: same reuse factor
    ra, rb = psv.analyze(conv, x), psv.analyze(twin, x)
    assert ra.unique_params == rb.unique_params
    assert ra.reuse == pytest.approx(rb.reuse) == pytest.approx(macs / ra.unique_params)


def test_count_flops_backward_and_per_module_names() -> None:
    model = nn.Sequential(nn.Linear(4, 8, bias=False), nn.ReLU(), nn.Linear(8, 2, bias=False))
    x = torch.randn(3, 4)
    result = count_flops(model, x, backward=True)
    # forward: 2 * 3 * (4*8 + 8*2) = 288; backward: weight grads (288) + input grad of layer 2 (2*3*8*2 = 96)
    assert (result.forward, result.backward, result.macs) == (288, 384, 144)
    assert result.per_module == {"": 288, "0": 192, "2": 96}
    assert all(p.grad is None for p in model.parameters())  # torch.autograd.grad, not .backward()
    assert count_flops(model, x).backward is None


def test_flops_reuse_shared_block_counts_every_call() -> None:
    # Linear(4, 4) on (2, 4), 3 times: 3 * 2 * 4 * 4 = 96 MACs over 20 parameters
    report = psv.analyze(AlbertLike(depth=3), torch.randn(2, 4))
    assert report.macs == 96
    assert report.reuse == pytest.approx(96 / 20)
    row = {r.name: r for r in report.modules}["block"]
    assert (row.calls, row.macs) == (3, 96)


def test_analyze_keeps_mode_grads_and_removes_hooks_even_on_error() -> None:
    class Boom(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.inner(x)
            raise RuntimeError("boom")

    model = Boom().train()
    report = psv.analyze(model, torch.randn(1, 2))  # the static report, and why the forward failed
    assert report.forward_error == "the forward on the example input failed (RuntimeError: boom)"
    assert report.calls is None and report.uses is None and report.unique_params == 6
    for module in model.modules():
        assert not module._forward_pre_hooks and not module._forward_hooks
    assert model.training and model.inner.training
    model = Frozen().train()
    psv.analyze(model, torch.randn(2, 4))
    assert model.training and all(p.grad is None for p in model.parameters())


# --------------------------------------------------------------------------- untie


@pytest.mark.parametrize("case", RUNNABLE)
def test_untie_same_outputs_no_groups_input_untouched(case: Case) -> None:
    model = _build(case, "cpu").eval()
    before = psv.analyze(model)
    untied = psv.untie(model)
    x = case.example_input()
    with torch.no_grad():
        torch.testing.assert_close(_call(untied, x), _call(model, x))
    after = psv.analyze(untied)
    assert after.groups == []
    assert after.unique_params == after.naive_params == before.naive_params
    assert after.trainable_params == before.naive_trainable_params
    # the input is untouched: same groups, and no tensor is shared with the copy
    assert psv.analyze(model).groups == before.groups
    ptrs = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    assert not ptrs & {t.untyped_storage().data_ptr() for t in (*untied.parameters(), *untied.buffers())}


def test_untie_separates_module_objects_and_keeps_rnn_flat_weights() -> None:
    untied = psv.untie(Repeated())
    assert len({id(m) for m in untied.layers}) == 4
    rnn = psv.untie(nn.RNN(2, 3))
    assert rnn._flat_weights[0] is rnn.weight_ih_l0
    hf = psv.untie(_hf("GPT2Config", "GPT2LMHeadModel")())
    assert hf.lm_head.weight is not hf.transformer.wte.weight
    assert psv.analyze(hf).unique_params == 163_037_184


# --------------------------------------------------------------------------- memory ledger


def _real_training_bytes(model: nn.Module, optimizer: str, x: object) -> tuple[int, int, int]:
    """Bytes actually held after one optimizer step: params (distinct storages), grads, state."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = {
        "sgd": lambda: torch.optim.SGD(trainable, lr=0.1),
        "momentum": lambda: torch.optim.SGD(trainable, lr=0.1, momentum=0.9),
        "adam": lambda: torch.optim.Adam(trainable, lr=0.1),
    }[optimizer]()
    _call(model, x).sum().backward()
    opt.step()
    storages = {p.untyped_storage()._cdata: p.untyped_storage().nbytes() for p in model.parameters()}
    grads = sum(p.grad.numel() * p.grad.element_size() for p in trainable)
    state = sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values() if torch.is_tensor(t))
    return sum(storages.values()), grads, state


MEMORY_CASES = [
    pytest.param(TiedLM, lambda: torch.tensor([[1, 2, 3]]), id="tied_lm"),
    pytest.param(Frozen, lambda: torch.randn(2, 4), id="frozen"),
    pytest.param(Views, lambda: torch.randn(2, 4), id="views"),
]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize(("build", "make_input"), MEMORY_CASES)
def test_memory_ledger_matches_a_real_optimizer_step(build, make_input, optimizer: str) -> None:
    torch.manual_seed(0)
    model = build()
    ledger = training_memory(model, optimizer)
    untied_model = psv.untie(model)
    shared = _real_training_bytes(model, optimizer, make_input())
    untied = _real_training_bytes(untied_model, optimizer, make_input())
    assert (ledger.shared.params, ledger.shared.grads, ledger.shared.optimizer_state) == shared
    assert (ledger.untied.params, ledger.untied.grads, ledger.untied.optimizer_state) == untied
    assert ledger.shared.total == sum(shared)
    assert ledger.saving_bytes == sum(untied) - sum(shared)
    json.dumps(ledger.to_dict())


def test_memory_ledger_tied_lm_literal() -> None:
    # 40 float32 params held (160 B), named twice (320 B untied); Adam: 2 moments + 4 B step per parameter
    ledger = training_memory(TiedLM(), "adam")
    assert ledger.shared == psv.analysis.MemoryBreakdown(160, 160, 2 * 160 + 4, 160 + 160 + 324)
    assert ledger.untied == psv.analysis.MemoryBreakdown(320, 320, 2 * 320 + 8, 320 + 320 + 648)


@pytest.mark.parametrize("bad", ["rmsprop", "", "ADAMW"])
def test_memory_ledger_rejects_unknown_optimizer(bad: str) -> None:
    with pytest.raises(ValueError, match="optimizer="):
        training_memory(TiedLM(), bad)


# --------------------------------------------------------------------------- scale: 7B on meta


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_llama_7b_on_meta_analyses_without_allocating() -> None:
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(
        vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32
    )
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(config)
    start = _rss_bytes()
    report = psv.analyze(model)
    ledger = training_memory(model)
    untied = psv.untie(model)
    grown = _rss_bytes() - start
    # 32 layers * (4 * 4096^2 + 3 * 4096 * 11008 + 2 * 4096) + 2 * 32000 * 4096 + 4096 = 6,738,415,616
    assert report.unique_params == report.naive_params == 6_738_415_616
    assert report.groups == [] and len(report.modules) == len(list(model.named_modules()))
    assert ledger.shared.params == 4 * 6_738_415_616
    assert next(untied.parameters()).is_meta
    assert grown < 200 * 1024**2


# --------------------------------------------------------------------------- the zoo, as its forms land


def _zoo_forms() -> list[str]:
    return psv.zoo.forms()


@pytest.mark.parametrize("form", _zoo_forms())
def test_zoo_form_counts_match_its_formula_and_untie(form: str) -> None:
    from paramshare_viz.models import registry

    shared, unshared = psv.zoo.pair(form)
    x = psv.zoo.example_input(form)
    config = psv.zoo.make_config(form)
    report = psv.analyze(shared, x)
    assert report.unique_params == registry.get(form).param_count(config, True)
    twin = psv.analyze(unshared)
    assert twin.groups == []
    assert twin.unique_params == registry.get(form).param_count(config, False)
    assert report.flops.forward > 0 and report.calls[""] == 1
    untied = psv.untie(shared)
    assert psv.analyze(untied).groups == []
    with torch.no_grad():
        torch.testing.assert_close(_call(untied, x), _call(shared, x))


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_flops_count_attention_on_cpu_too(device: str) -> None:
    """torch has no formula for SDPA's CPU kernel; without ours attention would count 0 on CPU."""
    n, heads, length, d = 2, 4, 8, 16
    q = k = v = torch.randn(n, heads, length, d, device=device)

    class Attention(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v)

    # Q K^T and A V: 2 matmuls * 2 FLOPs * N*H*L*L*d = 4 * 2*4*8*8*16 = 32,768
    assert count_flops(Attention(), (q, k, v)).forward == 32_768
