"""Every use of a tensor (issue 20): ``report.uses``, ``report.used_in``, borrowed uses, applications.

One table of small models written for these tests, each with the uses and
readers a person counts from its ``forward``; then the zoo's forms against
their docstrings, a handful of transformers types on meta, and the trace's
promises (meta, no_grad, bit-identical outputs and grads, a failing input).
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paramshare_viz as psv
from paramshare_viz import zoo
from paramshare_viz.analysis.summary import format_summary
from paramshare_viz.graph import sharing_graph
from paramshare_viz.graph_page import graph_payload

# --- the table of small models ------------------------------------------------------------------


class FunctionalHead(nn.Module):
    """A language model whose output head is the embedding, read in code: ``F.linear(h, self.emb.weight)``."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.mix = nn.Linear(4, 4)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.linear(self.mix(self.emb(ids)), self.emb.weight)  # tied head, written in code


class Decoder(nn.Module):
    def __init__(self, encoder: nn.Linear) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(6))
        self.__dict__["encoder"] = encoder  # a reference, not a submodule: the decoder holds no name of it

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.linear(z, self.encoder.weight.t(), self.bias)  # W^T: a view, then one use


class TransposedAutoencoder(nn.Module):
    """``dec`` reads ``enc.weight.t()`` in its own forward: ``dec`` borrows it."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(6, 3)
        self.dec = Decoder(self.enc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dec(torch.sigmoid(self.enc(x)))


class Mixer(nn.Module):
    def forward(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return x @ weight  # reads a tensor it was handed


class SiblingArgument(nn.Module):
    """A weight passed into a sibling module's forward as an argument."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 4, bias=False)
        self.mixer = Mixer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mixer(self.proj(x), self.proj.weight)


class LoopThree(nn.Module):
    """One parameter used three times in a Python loop: ``h = tanh(h @ W)``."""

    def __init__(self) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.randn(4, 4) / 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for _ in range(3):
            h = torch.tanh(h @ self.W)
        return h


class OtherWeightT(nn.Module):
    """``x @ other.weight.T`` in the root's forward, where ``other`` is never called."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(4, 4)
        self.other = nn.Linear(4, 4, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.first(x) @ self.other.weight.T


class OtherRanWeightT(nn.Module):
    """``other(x) @ other.weight.T`` in the root's forward: ``other`` reads its weight, then the root does."""

    def __init__(self) -> None:
        super().__init__()
        self.other = nn.Linear(4, 4, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.other(x) @ self.other.weight.T


class CalledFour(nn.Module):
    """ALBERT-like: one block called four times."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(4):
            x = torch.relu(self.block(x))
        return x


class ReadsChild(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.decoder = nn.Linear(4, 10, bias=False)  # never called: its parent computes with its weight

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.decoder.weight.t()


class TiedByNameReadByParent(nn.Module):
    """MobileBERT-like: a head ties ``decoder.weight`` to the embedding by name and reads it itself."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.head = ReadsChild()
        self.head.decoder.weight = self.emb.weight  # tied embeddings, declared by name

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.emb(ids))


def plain_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    build: object
    example: object
    uses: dict[str, int]
    used_in: dict[str, tuple[str, ...]]
    borrowed: list[tuple[str, tuple[str, ...], tuple[str, ...]]]  # (name, holders, borrowers)


CASES = [
    Case(
        "functional head", FunctionalHead, lambda: torch.zeros(2, 3, dtype=torch.long),
        # emb.weight: the lookup in emb, then F.linear in the root's forward
        {"emb.weight": 2, "mix.weight": 1, "mix.bias": 1},
        {"emb.weight": ("emb", ""), "mix.weight": ("mix",), "mix.bias": ("mix",)},
        [("emb.weight", ("emb",), ("",))],
    ),
    Case(
        "transposed-weight autoencoder", TransposedAutoencoder, lambda: torch.randn(2, 6),
        # enc.weight: enc's F.linear, then dec's F.linear on its .t() (the .t() itself is no use)
        {"enc.weight": 2, "enc.bias": 1, "dec.bias": 1},
        {"enc.weight": ("enc", "dec"), "enc.bias": ("enc",), "dec.bias": ("dec",)},
        [("enc.weight", ("enc",), ("dec",))],
    ),
    Case(
        "weight passed to a sibling's forward", SiblingArgument, lambda: torch.randn(2, 4),
        {"proj.weight": 2},
        {"proj.weight": ("proj", "mixer")},
        [("proj.weight", ("proj",), ("mixer",))],
    ),
    Case(
        "parameter used three times in a loop", LoopThree, lambda: torch.randn(2, 4),
        {"W": 3}, {"W": ("",)}, [],  # the root holds W: reuse, not a borrow
    ),
    Case(
        "x @ other.weight.T", OtherWeightT, lambda: torch.randn(2, 4),
        # other.weight is read only by the root, its parent: one use in one place, not a borrow
        {"first.weight": 1, "first.bias": 1, "other.weight": 1},
        {"first.weight": ("first",), "first.bias": ("first",), "other.weight": ("",)},
        [],
    ),
    Case(
        "other(x) @ other.weight.T", OtherRanWeightT, lambda: torch.randn(2, 4),
        # other reads its weight itself, so the root's second read is a borrow
        {"other.weight": 2}, {"other.weight": ("other", "")}, [("other.weight", ("other",), ("",))],
    ),
    Case(
        "module called four times", CalledFour, lambda: torch.randn(2, 4),
        {"block.weight": 4, "block.bias": 4}, {"block.weight": ("block",), "block.bias": ("block",)}, [],
    ),
    Case(
        "tie by name, read by the holder's parent", TiedByNameReadByParent, lambda: torch.zeros(2, 3, dtype=torch.long),
        # head reads it for decoder, whose forward never runs: decoder's own use, done by its parent
        {"emb.weight": 2}, {"emb.weight": ("emb", "head")}, [],
    ),
    Case(
        "nn.MultiheadAttention", lambda: nn.MultiheadAttention(4, 2), lambda: (torch.randn(3, 1, 4),) * 3,
        # one F.multi_head_attention_forward call reads all four, out_proj's included (its forward never runs)
        {"in_proj_weight": 1, "in_proj_bias": 1, "out_proj.weight": 1, "out_proj.bias": 1},
        {"in_proj_weight": ("",), "in_proj_bias": ("",), "out_proj.weight": ("",), "out_proj.bias": ("",)},
        [],
    ),
    Case(
        "plain MLP", plain_mlp, lambda: torch.randn(2, 4),
        {"0.weight": 1, "0.bias": 1, "2.weight": 1, "2.bias": 1},
        {"0.weight": ("0",), "0.bias": ("0",), "2.weight": ("2",), "2.bias": ("2",)},
        [],
    ),
    Case(
        "nn.RNN over 7 steps", lambda: nn.RNN(3, 5), lambda: torch.randn(7, 2, 3),
        # one fused call (torch._VF.rnn_tanh) reads all four tensors
        {"weight_ih_l0": 1, "weight_hh_l0": 1, "bias_ih_l0": 1, "bias_hh_l0": 1},
        {"weight_ih_l0": ("",), "weight_hh_l0": ("",), "bias_ih_l0": ("",), "bias_hh_l0": ("",)},
        [],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_uses_table(case: Case) -> None:
    torch.manual_seed(0)
    report = psv.analyze(case.build(), case.example())
    assert report.uses == case.uses
    assert report.used_in == case.used_in
    assert [(g.names[0], tuple(g.holders), tuple(g.borrowers)) for g in report.borrowed] == case.borrowed
    assert all(g.kind == "functional" for g in report.borrowed)


def test_functional_group_numbers_and_words() -> None:
    report = psv.analyze(FunctionalHead(), torch.zeros(2, 3, dtype=torch.long))
    (g,) = report.groups
    # Embedding(10, 4): 40 elements, 160 bytes; a tie in code adds nothing to a naive count.
    assert (g.names, g.numel, g.naive_numel, g.nbytes, g.kind) == (["emb.weight"], 40, 40, 160, "functional")
    assert report.naive_params == report.unique_params == 40 + 16 + 4
    assert report.reused == {"emb.weight": 2}
    sentence = format_summary(report)
    assert "1 of 3 parameters more than once (emb.weight 2×)" in sentence
    assert "emb.weight held by emb, read by (root)" in sentence
    assert "functional                  40 elements  emb.weight: held by emb, read by (root)" in sentence
    assert "borrowed emb.weight" in str(report)
    d = json.loads(json.dumps(report.to_dict()))
    assert d["uses"]["emb.weight"] == 2 and d["used_in"]["emb.weight"] == ["emb", ""]
    assert d["groups"][0]["holders"] == ["emb"] and d["groups"][0]["borrowers"] == [""]


def test_rnn_counts_the_call_and_notes_its_steps() -> None:
    report = psv.analyze(nn.LSTM(3, 5, batch_first=True), torch.randn(2, 9, 3))
    # one torch._VF.lstm call over 9 steps: 1 use, 9 applications, for each of the 4 tensors
    assert set(report.uses.values()) == {1}
    assert report.applications == dict.fromkeys(report.uses, 9)
    assert set(report.applied_over.values()) == {"steps"}
    assert "weight_ih_l0: 1 call, applied at 9 steps" in format_summary(report)


def test_conv_counts_the_call_and_notes_its_positions() -> None:
    report = psv.analyze(nn.Conv2d(1, 2, 3), torch.randn(1, 1, 6, 6))
    # 6x6 input, 3x3 kernel, no padding: 4 x 4 = 16 output positions, one call
    assert report.uses == {"weight": 1, "bias": 1}
    assert report.applications == {"weight": 16, "bias": 16}


def test_views_are_not_uses_and_metadata_reads_are_not_either() -> None:
    class Views(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(4, 4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            v = self.w.t().reshape(2, 8).view(4, 4)[:, :4].unsqueeze(0).expand(2, 4, 4).to(self.w.dtype)
            assert self.w.shape == (4, 4) and self.w.dtype == torch.float32
            return x.unsqueeze(1) @ v + x.type_as(self.w).sum()  # 1 use: the matmul; type_as reads the dtype

    assert psv.analyze(Views(), torch.randn(2, 4)).uses == {"w": 1}


def test_reading_a_tensor_twice_in_one_call_is_one_use() -> None:
    class Square(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(3, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ torch.matmul(self.w, self.w.T)

    assert psv.analyze(Square(), torch.randn(2, 3)).uses == {"w": 1}


def test_never_read_parameter_has_zero_uses() -> None:
    model = nn.Sequential(nn.Linear(2, 2))
    model.unused = nn.Parameter(torch.zeros(3))
    report = psv.analyze(model, torch.randn(1, 2))
    assert report.uses == {"0.weight": 1, "0.bias": 1, "unused": 0}
    assert "unused" not in report.used_in


def test_tied_names_use_the_canonical_name() -> None:
    lm = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
    lm[1].weight = lm[0].weight  # tied embeddings: both holders read it, nothing is borrowed
    report = psv.analyze(lm, torch.zeros(1, 3, dtype=torch.long))
    assert report.uses == {"0.weight": 2} and report.used_in == {"0.weight": ("0", "1")}
    assert [g.kind for g in report.groups] == ["same-tensor"]


def test_calls_and_uses_agree_for_every_module() -> None:
    # a module run N times reads each of its own tensors at least N times
    for form in zoo.forms():
        report = psv.analyze(zoo.build(form), zoo.example_input(form))
        canonical = {name for name in report.uses}
        for row in report.modules:
            for name in row.params:
                if name in canonical and row.calls:
                    assert report.uses[name] >= row.calls, (form, row.name, name)


# --- the zoo's forms against their docstrings -----------------------------------------------------

#: What each form's docstring says it uses more than once per forward (zoo defaults).
ZOO_REUSED = {
    "conv": {},  # one kernel at every position: 1 call, applications = positions
    "patch_embed": {},
    "rnn": {"cell.weight_ih": 5, "cell.weight_hh": 5, "cell.bias_ih": 5, "cell.bias_hh": 5},  # seq_len 5
    "ssm": {"log_a": 6, "B": 6, "C": 6, "D": 6},  # (a, B, C, D) at each of seq_len 6 steps
    "albert": "block",  # one block: every block tensor num_layers times
    "universal_transformer": "block",
    "tied_embeddings": {"wte.weight": 2},  # the input lookup and the output head
    "tied_autoencoder": {"encoder.weight": 2},  # W, then W^T
    "multitask": {},  # one encoder, run once
    "siamese": {"branch.0.weight": 2, "branch.0.bias": 2, "branch.2.weight": 2, "branch.2.bias": 2},
    "gqa": {},  # K/V heads shared inside one projection call
    "lora": {},  # the base runs once for all tasks
    "hashednet": {},  # buckets gathered once into the virtual matrix
}


@pytest.mark.parametrize("form", sorted(ZOO_REUSED))
def test_zoo_form_uses_match_its_docstring(form: str) -> None:
    config = zoo.default_config(form)
    report = psv.analyze(zoo.build(form), zoo.example_input(form))
    reused = report.reused
    expected = ZOO_REUSED[form]
    if expected == "block":
        layers = config.num_layers
        assert reused and set(reused.values()) == {layers}, reused
    else:
        assert reused == expected
    borrowed = [(g.names, g.holders, g.borrowers) for g in report.borrowed]
    # only the tied autoencoder reads a tensor outside its holder: decode() runs in the root's forward
    assert borrowed == ([(["encoder.weight"], ["encoder"], [""])] if form == "tied_autoencoder" else [])
    if form in ("conv", "patch_embed"):
        side = {"conv": lambda c: c.image_size + 2 * c.padding - c.dilation * (c.kernel_size - 1) - 1,
                "patch_embed": None}[form]
        positions = config.num_patches if form == "patch_embed" else ((side(config) // config.stride) + 1) ** 2
        assert set(report.applications.values()) == {positions}


# --- transformers on meta -------------------------------------------------------------------------


#: Most uses of one tensor in one forward of 8 tokens: the tied embedding's lookup(s) and head
#: (T5: encoder lookup, decoder lookup, head), ALBERT's one layer at 12 depths, Llama's untied head.
HF_MAX_USES = {"gpt2": 2, "t5": 3, "albert": 12, "bert": 2, "llama": 1}


@pytest.mark.parametrize("model_type", sorted(HF_MAX_USES))
def test_transformers_types_trace_on_meta_without_borrows(model_type: str) -> None:
    pytest.importorskip("transformers")
    from paramshare_viz.analysis.atlas import build_default
    from paramshare_viz.analysis.loading import example_input_for

    model = build_default(model_type)
    example = example_input_for(f"hf:{model_type}", model, (1, 8))  # 8 random token ids
    report = psv.analyze(model, example)
    assert report.forward_error is None
    assert report.borrowed == []  # transformers declares its ties by name; none is written in code
    assert min(report.uses.values()) == 1  # every parameter is read
    assert max(report.uses.values()) == HF_MAX_USES[model_type]


# --- the trace's promises -------------------------------------------------------------------------


def test_outputs_and_grads_are_bit_identical_with_and_without_tracing() -> None:
    from paramshare_viz.analysis.runtime import CallCounter, call_model, output_tensors
    from paramshare_viz.analysis.uses import UseTracer

    def run(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
        outs = list(output_tensors(call_model(model, x)))
        sum(o.sum() for o in outs).backward()
        return [o.detach().clone() for o in outs] + [p.grad.clone() for p in model.parameters()]

    for case in CASES:
        torch.manual_seed(0)
        model, x = case.build(), case.example()
        plain = run(model, x)
        model.zero_grad(set_to_none=True)
        with CallCounter(model) as counter, UseTracer(model, counter.innermost) as tracer:
            traced = run(model, x)
        assert tracer.trace.uses == case.uses  # the trace ran, with grad enabled
        assert len(plain) == len(traced)
        for a, b in zip(plain, traced, strict=True):
            assert torch.equal(a, b)


def test_meta_device_and_no_grad() -> None:
    with torch.device("meta"):
        model = FunctionalHead()
    with torch.no_grad():
        report = psv.analyze(model, torch.zeros(2, 3, dtype=torch.long, device="meta"))
    assert report.uses == {"emb.weight": 2, "mix.weight": 1, "mix.bias": 1}
    assert [g.borrowers for g in report.borrowed] == [[""]]


def test_failing_input_gives_the_static_report_and_says_why() -> None:
    model = plain_mlp()
    report = psv.analyze(model, torch.randn(2, 5))  # Linear(4, 8) cannot take 5 features
    assert report.forward_error is not None and report.forward_error.startswith(
        "the forward on the example input failed (RuntimeError: mat1 and mat2 shapes cannot be multiplied"
    )
    assert (report.uses, report.calls, report.flops) == (None, None, None)
    assert report.unique_params == 4 * 8 + 8 + 8 * 2 + 2  # 58: the static counts stand
    for module in model.modules():
        assert not module._forward_pre_hooks and not module._forward_hooks


# --- the graph --------------------------------------------------------------------------------------


def test_graph_draws_a_borrow_from_the_borrower_to_the_tensor() -> None:
    g = sharing_graph(TransposedAutoencoder(), torch.randn(2, 6))
    k = next(t.index for t in g.tensors if t.names == ("enc.weight",))
    assert g.borrows == [("dec", k)] and g.borrowers(k) == ["dec"] and g.holders(k) == ["enc"]
    t = g.tensors[k]
    assert (t.uses, t.shared, t.group) == (2, True, None)
    assert g.to_dict()["borrows"] == [["dec", k]]
    payload = graph_payload(g)
    rows = {r["name"]: r for r in payload["rows"]}
    # the front end lights the holder and the borrower, and draws a dashed line from the borrower
    assert k in rows["enc"]["holds"] and rows["dec"]["borrows"] == [k] and k not in rows["dec"]["holds"]
    assert payload["tensors"][k]["kind"] == "borrowed"
    assert "read by a module that does not hold it" in payload["summary"]


def test_graph_without_input_has_no_borrows_or_uses() -> None:
    g = sharing_graph(TransposedAutoencoder())
    assert g.borrows == [] and all(t.uses is None for t in g.tensors)


def test_folded_graph_sums_uses_over_copies() -> None:
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(3)])
    g = sharing_graph(model, torch.randn(1, 4))
    # [0-2].weight folds three Linear weights, each used once: 3 uses in all copies
    assert {t.label: t.uses for t in g.tensors} == {"[0-2].weight": 3, "[0-2].bias": 3}


def test_borrowed_use_in_the_groups_table_and_the_cards() -> None:
    pytest.importorskip("ipywidgets")
    from paramshare_viz.app.show import model_cards
    from paramshare_viz.plots.tables import groups_table_html

    report = psv.analyze(TransposedAutoencoder(), torch.randn(2, 6))
    html = groups_table_html(report)
    assert "functional: held by <code>enc</code>, read by <code>dec</code>" in html
    groups = next(c for c in model_cards(report) if c.key == "groups")
    # enc.weight is used twice (enc, dec) and read by dec, which does not hold it
    assert groups.value == "1" and "tensors used more than once: 1 (1 read by a module that does not hold it)" in (
        groups.note
    )


def test_writing_a_parameter_in_place_is_not_a_use() -> None:
    class Rescale(nn.Module):  # RWKV-like: weights rescaled in place inside the forward
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(3, 3)
            self.src = nn.Parameter(torch.ones(3, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                self.lin.weight.div_(2)  # a write to lin.weight
                self.lin.weight.copy_(self.src)  # a write to lin.weight, a read of src
                self.lin.bias += 1  # a write
            return self.lin(x)

    report = psv.analyze(Rescale(), torch.randn(1, 3))
    assert report.uses == {"lin.weight": 1, "lin.bias": 1, "src": 1}
    assert report.used_in == {"src": ("",), "lin.weight": ("lin",), "lin.bias": ("lin",)}
    assert report.borrowed == []  # the root reads src, which it holds


def test_the_tied_autoencoders_graph_shows_its_borrow() -> None:
    shared, twin = zoo.pair("tied_autoencoder")
    x = zoo.example_input("tied_autoencoder")
    g = sharing_graph(shared, x)
    (borrow,) = g.borrows
    assert borrow[0] == "" and g.tensors[borrow[1]].names == ("encoder.weight",)
    assert graph_payload(g)["rows"][0]["borrows"] == [borrow[1]]  # the root row reads it, drawn dashed
    assert sharing_graph(twin, x).borrows == []  # the twin's decoder holds its own weight
