"""The pure helpers behind the tutorial notebooks."""

from __future__ import annotations

import math

import pytest
import torch

import paramshare_viz as psv
from paramshare_viz import tutorial
from paramshare_viz.learn.data import digits


def test_conv_counts_match_pytorch():
    counts = tutorial.conv_counts(3, 64, 3, image_size=8)
    assert counts["conv"] == 64 * 3 * 3 * 3 + 64 == 1792
    assert counts["locally_connected"] == 8 * 8 * 1792  # padding 1 keeps 8x8 positions


def test_pair_counts_agree_with_the_closed_form():
    meta = tutorial.pair_counts("albert", num_layers=3)
    assert meta == tutorial.formula_counts("albert", num_layers=3)
    assert meta.unshared > meta.shared and math.isclose(meta.ratio, meta.unshared / meta.shared)


def test_training_cost_shared_albert_same_flops_less_memory():
    s = tutorial.training_cost("albert", shared=True, num_layers=3)
    u = tutorial.training_cost("albert", shared=False, num_layers=3)
    assert s.flops == u.flops > 0
    assert u.memory_bytes > s.memory_bytes and u.params > s.params


def test_md_table_formats_numbers_and_escapes_pipes():
    assert tutorial.md_table(["a", "b"], [(1234567, 0.12345), ("x|y", True)]).splitlines() == [
        "| a | b |", "|---|---|", "| 1,234,567 | 0.123 |", "| x\\|y | True |",
    ]


def test_length_transfer_shared_loads_twin_does_not():
    out = tutorial.length_transfer("rnn", trained_on=3, run_on=4)
    # the 4-step twin needs cell 3's weight_ih, weight_hh, bias_ih, bias_hh, which the 3-step one lacks
    assert out == {"shared": "loads", "unshared": "does not load: the 4-step model needs 4 tensors the 3-step "
                   "state dict does not have, from `cells.3.bias_hh` to `cells.3.weight_ih`"}


def test_second_task_related_is_parity_unrelated_is_ten_equal_bins():
    data = digits()
    train, test = tutorial.second_task(data, related=True)
    assert torch.equal(train, data.y_train % 2) and torch.equal(test, data.y_test % 2)
    train, test = tutorial.second_task(data, related=False)
    labels = torch.cat([train, test])
    # 1,797 images in ten quantile bins: every bin holds 179 or 180 of them
    assert len(labels) == 1797 and set(torch.bincount(labels, minlength=10).tolist()) <= {179, 180}


def test_multitask_accuracy_is_seeded_and_both_sides_learn():
    a = tutorial.multitask_accuracy(shared=True, related=True, steps=30)
    assert a == tutorial.multitask_accuracy(shared=True, related=True, steps=30)  # same seed, same number
    assert 0.5 < a <= 1.0  # digits (10 classes) and parity: far above chance after 30 Adam steps


def test_spread_median_range_and_overlap():
    s = tutorial.Spread((0.3, 0.1, 0.2))
    assert (s.median, s.low, s.high) == (0.2, 0.1, 0.3) and s.fmt(".1f") == "0.2 (0.1–0.3)"
    assert s.overlaps(tutorial.Spread((0.25, 0.5))) and not s.overlaps(tutorial.Spread((0.4, 0.5)))
    cost = tutorial.ForcedSharing(tutorial.Spread((0.9, 0.8)), tutorial.Spread((0.7, 0.8))).cost
    assert cost.values == pytest.approx((0.2, 0.0))  # separate - shared, seed by seed


def test_ledger_rows_say_computed_or_sourced():
    md = tutorial.ledger_md([
        tutorial.computed("the conv holds 1,792", "1,792", "A section"),
        tutorial.sourced("ALBERT-base holds 12M", "albert_table1"),
    ])
    assert md.splitlines()[0] == tutorial.LEDGER_TITLE
    assert "| the conv holds 1,792 | computed in “A section”: `1,792` |" in md
    assert "| ALBERT-base holds 12M | source: Lan et al. (2020), Table 1: BERT-base 108M vs ALBERT-base 12M" in md
    with pytest.raises(ValueError, match="quote='nope'"):
        tutorial.sourced("x", "nope")
    with pytest.raises(ValueError, match="needs its value"):
        tutorial.computed("x", "", "A section")


def test_every_quote_cites_a_reference():
    for key, (ref, where, figure) in tutorial.QUOTES.items():
        assert ref in tutorial.REFERENCES and where and figure, key


def test_calls_per_module_reads_one_block_under_six_names_as_one():
    model = psv.zoo.build("albert", num_layers=6)
    calls = psv.analyze(model, psv.zoo.example_input("albert", num_layers=6)).calls
    (block,) = [m for m in tutorial.calls_per_module(model, calls) if m.kind == "Block"]
    assert block.names == tuple(f"layers.{i}" for i in range(6)) and block.calls == 6  # 6 calls, not 36


def test_selective_steps_one_projection_many_matrices():
    sel = tutorial.selective_steps(d_model=8, d_state=4, steps=6)
    assert (sel.params, sel.distinct_b) == (8 * 4, 6)  # one 4x8 projection; a different B at each of 6 steps


def test_save_pair_tie_survives_load_model_not_a_plain_untied_load(tmp_path):
    small = dict(vocab_size=50, hidden_size=8, num_layers=1, num_heads=2, intermediate_size=16)
    saved = tutorial.save_pair("tied_embeddings", str(tmp_path), **small)
    assert "lm_head.weight" in saved.tied_keys and "wte.weight" not in saved.tied_keys  # one name per storage
    assert saved.tie_after_load and saved.missing_in_untied == ("wte.weight",)
    assert saved.untied_bytes - saved.tied_bytes >= 50 * 8 * 4  # one more float32 matrix, plus its header entry


def test_references_cover_the_issue_list_and_cite_formats():
    for key in ("lecun1989", "fukushima1980", "press2017", "lan2020", "dehghani2018", "zhang2018", "chen2015",
                "hu2021", "touvron2023", "ainslie2023", "nowlan1992", "gu2022", "gu2023"):
        assert key in tutorial.REFERENCES
    assert tutorial.cite("lecun1989") == "LeCun et al. (1989)"


def test_verdicts_follow_the_seeds():
    S = tutorial.Spread
    assert tutorial.seed_verdict(S((0.008, 0.013, 0.011))) == "higher in every seed, by +0.011 (+0.008–+0.013)"
    assert tutorial.seed_verdict(S((-0.01, -0.02))).startswith("lower in every seed")
    assert tutorial.seed_verdict(S((-0.01, 0.02))) == "higher in some seeds and lower in others: no consistent difference"
    # own - shared accuracy per seed: 0.05 and 0.07 -> sharing costs; median 0.06 -> -6.0 points
    hurt = tutorial.ForcedSharing(S((0.80, 0.90)), S((0.75, 0.83)))
    assert tutorial.forced_sharing_verdict(hurt) == "costs accuracy in every seed (median -6.0 points)"
    mixed = tutorial.ForcedSharing(S((0.80, 0.90)), S((0.82, 0.89)))
    assert tutorial.forced_sharing_verdict(mixed) == "changes accuracy by a median of +0.5 points, with seeds on both sides"
    inf = float("inf")
    soft = tutorial.SoftTyingSeeds({0.0: S((0.90, 0.91)), 0.01: S((0.92, 0.90)), inf: S((0.85, 0.86))}, [])
    # lambda=0.01: median 0.91 beats 0.905; per seed +2.0% and -1.0%
    assert tutorial.soft_tying_verdict(soft) == (
        0.01, "λ = 0.01 has the best median, better than independent training in 1 of 2 seeds (change +0.5% (-1.0%–+2.0%))")
    assert tutorial.soft_tying_verdict(tutorial.SoftTyingSeeds({0.0: S((0.9,)), inf: S((0.8,))}, []))[0] == 0.0
