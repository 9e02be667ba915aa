"""The pure helpers behind the tutorial notebooks."""

from __future__ import annotations

import math

import pytest
import torch

from paramshare_viz import tutorial


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


def test_arxiv_date():
    assert tutorial.arxiv_date("see https://arxiv.org/abs/1706.03762 for details") == (2017, 6)
    with pytest.raises(ValueError, match="arxiv"):
        tutorial.arxiv_date("no link")


def test_md_table_formats_numbers_and_escapes_pipes():
    assert tutorial.md_table(["a", "b"], [(1234567, 0.12345), ("x|y", True)]).splitlines() == [
        "| a | b |", "|---|---|", "| 1,234,567 | 0.123 |", "| x\\|y | True |",
    ]


def test_length_transfer_shared_loads_twin_does_not():
    out = tutorial.length_transfer("rnn", trained_on=3, run_on=4)
    assert out["shared"] == "loads" and "Missing key(s)" in out["unshared"]


def test_unrelated_tasks_scramble_pixels_and_shift_labels():
    a, b = tutorial.unrelated_digit_tasks(train_size=50)
    assert a.x_train.shape == b.x_train.shape == (50, 64)
    assert torch.equal(torch.sort(b.x_test[0]).values, torch.sort(a.x_test[0]).values)
    assert torch.equal(b.y_test, (a.y_test + 5) % 10)


def test_references_cover_the_issue_list_and_cite_formats():
    for key in ("lecun1989", "fukushima1980", "press2017", "lan2019", "dehghani2018", "zhang2018", "chen2015",
                "hu2021", "ainslie2023"):
        assert key in tutorial.REFERENCES
    assert tutorial.cite("lecun1989") == "LeCun et al. (1989)"
    assert tutorial.lower_or_higher(1, 2) == "lower" and tutorial.lower_or_higher(2, 1) == "higher"
