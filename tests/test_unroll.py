"""Unrolling: the shared weight's gradient is the sum of one part per step, counts flat vs linear, the tab."""

from __future__ import annotations

import json
import math

import pytest
import torch

from paramshare_viz import zoo
from paramshare_viz.app import make_dashboard
from paramshare_viz.app.unroll import MAX_STEPS, MIN_STEPS, UnrollPanel, UnrollSettings, unroll_view
from paramshare_viz.plots.unroll import grad_traces, make_unroll_figure, update_unroll_figure
from paramshare_viz.unroll import count_curve, grad_contributions, unroll_chain
from tests.golden import golden

# --- the gradient, split by step --------------------------------------------------------------

GRAD_CASES = [
    ("rnn", {"cell": "rnn"}, 4),  # weight_ih, weight_hh, bias_ih, bias_hh
    ("rnn", {"cell": "gru"}, 4),
    ("rnn", {"cell": "lstm"}, 4),
    ("albert", {"share": "all"}, 16),  # 8 attention + 4 FFN + 4 LayerNorm tensors
    ("albert", {"share": "attention"}, 12),  # attention + LayerNorms; own FFN per layer
    ("albert", {"share": "ffn"}, 8),  # FFN + LayerNorms; own attention per layer
    ("albert", {"share": "all", "share_layernorm": False}, 12),  # LayerNorms per layer
    ("universal_transformer", {}, 16),
    ("universal_transformer", {"act": True}, 18),  # + the halting unit's weight and bias
]


@pytest.mark.parametrize(("form", "overrides", "n_tensors"), GRAD_CASES)
def test_step_parts_add_up_to_autograd(form, overrides, n_tensors):
    grads = grad_contributions(form, 3, **overrides)
    assert grads.steps == 3 and len(grads.tensors) == n_tensors
    for part in grads.tensors:
        assert part.per_step.shape == (3, *part.grad.shape)
        torch.testing.assert_close(part.per_step.sum(0), part.grad)
    assert grads.max_abs_diff < 1e-4
    # Not trivially true: the first two steps' parts are non-zero and differ from each other and from .grad.
    first = grads.tensors[0].per_step
    assert first[0].abs().sum() > 0 and first[1].abs().sum() > 0
    assert not torch.allclose(first[0], first[1]) and not torch.allclose(first[0], grads.tensors[0].grad)


def test_rnn_step_parts_match_a_hand_written_loop():
    """Step t's part of weight_hh is dL/dD_t for a zero D_t added to the weight at step t only."""
    T = 4
    grads = grad_contributions("rnn", T, cell="rnn")
    shared, _ = zoo.pair("rnn", seq_len=T, cell="rnn")
    x = zoo.example_input("rnn", seq_len=T, cell="rnn")
    cell = shared.cell
    deltas = [torch.zeros_like(cell.weight_hh, requires_grad=True) for _ in range(T)]
    h = shared.h0.expand(x.shape[0], -1)
    outputs = []
    for t in range(T):  # torch.nn.RNNCell written out: tanh(x W_ih^T + b_ih + h (W_hh + D_t)^T + b_hh)
        h = torch.tanh(x[:, t] @ cell.weight_ih.T + cell.bias_ih + h @ (cell.weight_hh + deltas[t]).T + cell.bias_hh)
        outputs.append(h)
    out = torch.stack(outputs, dim=1)
    target = torch.randn(out.shape, generator=torch.Generator().manual_seed(0))  # the same seeded y
    by_hand = torch.autograd.grad(0.5 * (out - target).pow(2).sum(), deltas)  # the stated loss, ½ Σ (out − y)²
    torch.testing.assert_close(grads.tensor("cell.weight_hh").per_step, torch.stack(by_hand))


@pytest.mark.parametrize("form", ["rnn", "albert", "universal_transformer"])
def test_parts_along_grad_add_up_to_its_norm(form):
    """Σ_t ⟨g_t, G⟩/‖G‖ = ⟨G, G⟩/‖G‖ = ‖G‖, while the norms Σ ‖g_t‖ overshoot it."""
    grads = grad_contributions(form)
    for part in grads.tensors:
        bars, totals, rest = grad_traces(grads, part.name)  # what the chart draws for this tensor
        assert math.isclose(sum(bars["y"]), totals["y"][0], rel_tol=1e-9)  # the step bars make the Σ bar
        assert math.isclose(totals["y"][0], totals["y"][1], rel_tol=1e-5, abs_tol=1e-7), part.name  # = ‖.grad‖
        assert rest["y"] == part.across and rest["x"] == bars["x"] == list(grads.step_labels)
    for part in grads.tensors:
        along, across, norms = part.along, part.across, part.step_norms
        grad_norm = float(part.grad.double().norm())
        assert math.isclose(sum(along), grad_norm, rel_tol=1e-5, abs_tol=1e-7), part.name
        for a, r, n in zip(along, across, norms, strict=True):  # Pythagoras: ‖g_t‖² = along² + remainder²
            assert math.isclose(a * a + r * r, n * n, rel_tol=1e-4, abs_tol=1e-9), part.name
    # The case the issue saw: RNN weight_hh's step norms sum to 22.68, more than twice ‖.grad‖ = 10.85.
    hh = grad_contributions("rnn").tensor("cell.weight_hh")
    assert sum(hh.step_norms) > 2 * float(hh.grad.norm())
    assert math.isclose(sum(hh.along), float(hh.grad.norm()), rel_tol=1e-5)


def test_to_dict_is_json():
    d = grad_contributions("rnn", 2).to_dict()
    json.dumps(d)
    assert d["step_labels"] == ["t=0", "t=1"] and len(d["tensors"][1]["step_norms"]) == 2


# --- the chain and the counts ------------------------------------------------------------------


def test_rnn_chain_names_shapes_bytes():
    chain = unroll_chain("rnn", 5, cell="lstm")
    # LSTM, I=4, H=8: 4 gates stacked, so 32 rows.
    assert [(t.name, t.shape, t.nbytes) for t in chain.tensors] == [
        ("cell.weight_ih", (32, 4), 32 * 4 * 4),
        ("cell.weight_hh", (32, 8), 32 * 8 * 4),
        ("cell.bias_ih", (32,), 32 * 4),
        ("cell.bias_hh", (32,), 32 * 4),
    ]
    assert chain.tensors[1].twin_names == tuple(f"cells.{t}.weight_hh" for t in range(5))
    assert chain.shared_numel == 448  # 4 * (8*4 + 8*8 + 2*8)
    assert chain.twin_numel == 5 * 448 and chain.twin_bytes == 5 * 448 * 4
    assert chain.step_labels == ("t=0", "t=1", "t=2", "t=3", "t=4")


@pytest.mark.parametrize(
    ("share", "numel"),
    [
        ("all", 12704),  # attention 4*(32*32+32) = 4224 + FFN 2*32*128+128+32 = 8352 + LayerNorms 4*32 = 128
        ("attention", 4352),  # 4224 + 128
        ("ffn", 8480),  # 8352 + 128
    ],
)
def test_albert_chain_counts_what_every_layer_reuses(share, numel):
    chain = unroll_chain("albert", 6, share=share)
    assert chain.shared_numel == numel
    assert chain.step_labels[-1] == "layer 5"
    assert all(t.twin_names == tuple(f"layers.{i}.{t.name[len('layers.0.'):]}" for i in range(6))
               for t in chain.tensors)


def test_counts_shared_flat_twin_linear():
    rnn = count_curve("rnn", range(2, 6))
    # one cell 1*(8*4 + 8*8 + 2*8) = 112 plus h0 (8): 120 at any T; the twin adds a cell per step.
    assert rnn.shared == (120, 120, 120, 120)
    assert rnn.twin == (232, 344, 456, 568)  # T*112 + 8
    albert = count_curve("albert", [2, 4, 8])
    # embeddings (100+64+2)*16 + 2*16 = 2688, projection 16*32 + 32 = 544, one block 12,704.
    assert albert.shared == (15936, 15936, 15936)  # 2688 + 544 + 12704
    assert albert.twin == (28640, 54048, 104864)  # 3232 + L*12704
    ut = count_curve("universal_transformer", [2, 4])
    assert ut.shared == (15904, 15904)  # embeddings 100*32 = 3200 + 12704
    assert ut.twin == (28608, 54016)  # 3200 + L*12704
    # sharing attention only: the shared model still grows by one FFN (8,352) per layer.
    assert count_curve("albert", [2, 4], share="attention").shared == (24288, 40992)


def test_counts_agree_with_built_models():
    chain_counts = count_curve("rnn", [7], cell="gru")
    shared, twin = zoo.pair("rnn", seq_len=7, cell="gru")
    assert chain_counts.shared[0] == sum(p.numel() for p in shared.parameters()) == 3 * 112 + 8
    assert chain_counts.twin[0] == sum(p.numel() for p in twin.parameters()) == 7 * 3 * 112 + 8


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: unroll_chain("conv", 3), "form='conv' does not unroll"),
        (lambda: unroll_chain("rnn", 1), "seq_len=1 must be at least 2"),
        (lambda: unroll_chain("albert", 1), "num_layers=1 must be at least 2"),
        (lambda: unroll_chain("rnn", 4, hidden_size=0), "hidden_size=0 must be a positive integer"),
        (lambda: unroll_chain("rnn", 4, cell="elman"), "cell='elman' is not one of"),
        (lambda: unroll_chain("albert", 4, hidden_size=30), "divide hidden_size=30"),
        (lambda: unroll_chain("albert", 4, share="heads"), "share='heads' must be one of"),
        (lambda: unroll_chain("rnn", 4, seq_len=5), "steps=4 and seq_len=5 disagree"),
        (lambda: count_curve("rnn", []), "steps=() is empty"),
        (lambda: count_curve("universal_transformer", [0]), "num_layers=0 must be at least 2"),
        (lambda: grad_contributions("rnn", 2).tensor("nope"), "tensor='nope' is not reused"),
    ],
)
def test_bad_input_names_field_and_value(call, message):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert message in str(info.value)


# --- the figure -------------------------------------------------------------------------------


def trim(fig) -> dict:
    """What a user sees of the figure: each trace's data and labels, the subplot titles."""
    keep = ("type", "name", "x", "y", "text", "hovertext")
    d = fig.to_plotly_json()
    return {
        "data": [{k: t[k] for k in keep if k in t} for t in d["data"]],
        "titles": [a["text"] for a in d["layout"]["annotations"]],
        "steps_axis": d["layout"]["xaxis2"]["title"]["text"],
    }


def plain(value):
    """JSON-ready: tuples and numpy arrays as lists."""
    return json.loads(json.dumps(value, default=lambda o: o.tolist()))


def assert_matches(got, want, path="figure"):
    """Equal, floats to 1e-4 relative (float rounding differs across CPUs)."""
    if isinstance(want, float) or isinstance(got, float):
        assert math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-9), f"{path}: {got} != {want}"
    elif isinstance(want, dict):
        assert got.keys() == want.keys(), path
        for k in want:
            assert_matches(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), f"{path}: {len(got)} != {len(want)} items"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_matches(g, w, f"{path}[{i}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def check_golden(name: str, fig) -> None:
    got = plain(trim(fig))
    assert_matches(got, golden(name, got))


def test_figure_rnn_shared_golden():
    chain, curve = unroll_chain("rnn", 4), count_curve("rnn", range(2, 7))
    fig = make_unroll_figure(chain, curve, grad_contributions("rnn", 4, seed=0), tensor="cell.weight_hh")
    check_golden("unroll_rnn_shared.json", fig)
    # one weight node feeding 4 steps; the counts marker sits at T=4: 120 shared, 4*112 + 8 = 456 twin.
    assert len(fig.data[1].x) == 1 and list(fig.data[2].text) == ["t=0", "t=1", "t=2", "t=3"]
    assert list(fig.data[5].y) == [120, 456]
    assert fig.data[7].x == ("Σ steps", "‖.grad‖")
    # What is drawn adds up: the step bars sum to the Σ bar, which equals the ‖.grad‖ bar.
    assert math.isclose(sum(fig.data[6].y), fig.data[7].y[0], rel_tol=1e-9)
    assert math.isclose(fig.data[7].y[0], fig.data[7].y[1], rel_tol=1e-5)
    assert fig.layout.annotations[2].text == "∂L/∂cell.weight_hh by step: parts along .grad add up"
    assert fig.layout.yaxis3.title.text == "component along .grad"
    assert fig.data[6].name == "along .grad: adds up"
    assert fig.data[8].name == "orthogonal rest: cancels" and fig.data[8].type == "scatter"


def test_figure_albert_twin_golden():
    chain, curve = unroll_chain("albert", 3, share="ffn"), count_curve("albert", range(2, 5), share="ffn")
    fig = make_unroll_figure(chain, curve, None, shared=False)
    check_golden("unroll_albert_ffn_twin.json", fig)
    assert len(fig.data[1].x) == 3  # one block copy per layer
    assert "layers.2.ffn.fc1.weight (128, 32)" in fig.data[1].hovertext[2]
    assert "computing" in fig.layout.annotations[2].text


def test_update_in_place_equals_a_fresh_figure():
    small = make_unroll_figure(unroll_chain("rnn", 2), count_curve("rnn", [2, 3]))
    chain, curve = unroll_chain("universal_transformer", 3), count_curve("universal_transformer", [2, 3, 4])
    grads = grad_contributions("universal_transformer", 3)
    update_unroll_figure(small, chain, curve, grads, shared=False)
    assert trim(small) == trim(make_unroll_figure(chain, curve, grads, shared=False))


# --- the tab, without a browser -----------------------------------------------------------------


@pytest.fixture
def panel() -> UnrollPanel:
    app = make_dashboard()
    titles = app.tabs.titles
    assert titles.index("Unroll") > titles.index("Explore")
    assert "Compare" not in titles or titles.index("Unroll") < titles.index("Compare")
    p = app.tabs.panel("Unroll")
    p.worker.wait(60)
    return p


def card(panel, key: str) -> str:
    start = panel.cards.value.index(f'data-key="{key}"')
    count = panel.cards.value.index('class="psv-count">', start) + len('class="psv-count">')
    return panel.cards.value[count:panel.cards.value.index("<", count)]


def test_panel_slider_updates_counts_figure_and_gradient(panel):
    state = panel.state
    assert (panel.steps.min, panel.steps.max) == (MIN_STEPS, MAX_STEPS)
    assert card(panel, "shared") == "120" and card(panel, "unshared") == "568"  # 5*112 + 8
    panel.steps.value = 12
    panel.worker.wait(60)
    assert card(panel, "shared") == "120" and card(panel, "unshared") == "1,352"  # 12*112 + 8
    figure = panel.plot.figure
    assert list(figure.data[5].y) == [120, 1352]
    shown = panel.plot.shown  # what the page draws
    assert list(shown["data"][5]["y"]) == [120, 1352]
    assert len(figure.data[2].x) == 12
    assert len(figure.data[6].y) == 12  # one gradient part per step
    assert "max |Σ − .grad|" in panel.grad_note.value and state.status_level == "info"
    assert "12 per-step parts of every reused tensor add up to the shared .grad" in state.status


def test_panel_albert_bad_width_keeps_last_view(panel):
    panel.model.value = "ALBERT block over L layers"
    panel.worker.wait(60)
    assert panel.steps.description == "L layers" and panel.steps.value == 4
    assert card(panel, "shared") == "15,936" and card(panel, "unshared") == "54,048"
    before = list(panel.plot.figure.data[4].y)
    panel.hidden.value = "30"
    panel.worker.wait(60)
    assert panel.state.status_level == "error"
    assert "hidden_size=30" in panel.state.status and "num_heads=4" in panel.state.status
    assert list(panel.plot.figure.data[4].y) == before and "psv-stale" in panel.cards._dom_classes
    panel.hidden.value = "16"  # a valid width again: everything follows
    panel.worker.wait(60)
    assert panel.state.status_level != "error" and "psv-stale" not in panel.cards._dom_classes
    assert list(panel.plot.figure.data[4].y) != before


@pytest.mark.parametrize(
    "typed, message",
    [("2.5", "Hidden size (hidden_size): '2.5' is not a whole number; the nearest whole numbers are 2 and 3"),
     ("", "Hidden size (hidden_size) is empty; type a whole number")],
)
def test_panel_width_is_read_as_typed(panel, typed, message):
    panel.hidden.value = typed  # an IntText would have made 2.5 into 2 without a word
    assert panel.state.status_level == "error" and message in panel.state.status
    assert panel.hidden.value == typed and "psv-stale" in panel.cards._dom_classes


@pytest.mark.parametrize(
    "hidden, message",
    [
        # Typed into the page by the browser fuzz: a TypeError ("Overflow when unpacking long long")
        # or a RuntimeError (storage size overflowed) from the meta build reached the status line.
        (10**40, "past the 4.0 EiB torch can size a tensor in"),
        (2**31, "hidden_size=2,147,483,648 would describe about 16.0 EiB"),
        # Fine on meta, too large to train: the gradient's budget says so without "ValueError:".
        (20_000, "the gradient could not be split: rnn: hidden_size=20,000 needs about 1.5 GiB"),
    ],
)
def test_panel_huge_width_is_refused_in_words(panel, hidden, message):
    panel.hidden.value = str(hidden)
    panel.worker.wait(60)
    assert panel.state.status_level == "error" and message in panel.state.status
    assert "Error" not in panel.state.status and ".." not in panel.state.status
    panel.hidden.value = "8"  # a valid width again: everything follows
    panel.worker.wait(60)
    assert panel.state.status_level == "info"


def test_panel_share_side_and_tensor(panel):
    panel.model.value = "ALBERT block over L layers"
    panel.share.value = "attention"
    panel.side.value = False
    panel.worker.wait(60)
    assert len(panel.plot.figure.data[1].x) == 4  # a block copy per layer
    assert panel.plot.figure.layout.annotations[0].text == "Twin: one attention sublayer per layer, 4 × 4,352 = 17,408 parameters"
    assert "attention sublayer reused at 4 layers" in panel.cards.value
    panel.tensor.value = "layers.0.norm1.weight"
    panel.worker.wait(60)
    assert "norm1.weight" in panel.plot.figure.layout.annotations[2].text
    assert "∂L/∂layers.0.norm1.weight" in panel.grad_note.value
    assert "Loss: L = ½ Σ (output − y)²" in panel.grad_note.value and "seeded N(0, 1) random target" in panel.grad_note.value
    shown = panel.plot.figure.data
    assert math.isclose(sum(shown[6].y), shown[7].y[1], rel_tol=1e-5)  # the drawn parts sum to the drawn ‖.grad‖


# --- the view, without widgets -------------------------------------------------------------------


def test_unroll_view_is_computed_from_settings_alone():
    view = unroll_view(UnrollSettings("GRU cell over T time steps", steps=6, hidden_size=8))
    # a GRU cell over input_size=4, hidden 8: 24*4 + 24*8 + 24 + 24 = 336, plus h0 (8): 344; twin 6*336 + 8
    assert "shared 344 parameters, twin 2,024 (5.9×)" in view.status and not view.failed
    assert (view.figure.data[3].y[4], view.figure.data[4].y[4]) == (344, 2024)  # T = 2..32: index 4 is T = 6
    assert 'class="psv-count">2,024<' in view.cards
    assert "6 per-step parts of every reused tensor add up to the shared .grad" in view.status
    assert view.tensor == "cell.weight_hh" and "cell.weight_ih" in view.tensors
    assert len(view.figure.data[6].y) == 6  # one gradient part per step
    twin_side = unroll_view(UnrollSettings("GRU cell over T time steps", 6, 8, shared=False, tensor="cell.weight_ih"))
    assert len(twin_side.figure.data[1].x) == 6 and twin_side.tensor == "cell.weight_ih"  # a cell copy per step


def test_unroll_view_refuses_by_field():
    with pytest.raises(ValueError, match="hidden_size=30"):
        unroll_view(UnrollSettings("ALBERT block over L layers", steps=4, hidden_size=30))
