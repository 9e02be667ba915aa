"""The modules table: direct counts add up to the totals, containers carry what is beneath, aliases say so."""

from __future__ import annotations

import re

import pytest
from torch import nn

import paramshare_viz as psv
from paramshare_viz.analysis.twin_counts import twin_counts
from paramshare_viz.app.show import model_cards
from paramshare_viz.plots.tables import module_lines, modules_table_html, reused_modules
from paramshare_viz.views.explore import reuse_note


@pytest.mark.parametrize("form", psv.zoo.forms())
def test_rows_add_up_to_the_totals(form):
    counts = twin_counts(form)
    for report in (counts.shared, counts.unshared):
        lines = module_lines(report)
        assert sum(line.direct for line in lines) == report.unique_params
        root = lines[0]
        assert root.name == "" and root.total == report.unique_params and root.naive == report.naive_params
        for line in lines:  # a container's total is its own plus every shown row beneath it
            beneath = [x for x in lines if x.name.startswith(line.name + ".") or not line.name and x.name]
            assert line.total == line.direct + sum(x.direct for x in beneath), (form, line.name)
        names = [line.name for line in lines]
        assert len(names) == len(set(names))


def test_albert_aliases_say_same_module_and_calls_appear_once():
    report = twin_counts("albert").shared
    lines = {line.name: line for line in module_lines(report)}
    assert lines["layers.0"].calls == 4 and lines["layers.0"].total == 12_704  # the one block, run 4 times
    for i in (1, 2, 3):
        assert lines[f"layers.{i}"].same_as == "layers.0" and lines[f"layers.{i}"].calls is None
    assert not any(name.startswith("layers.1.") for name in lines)  # its inside is on layers.0's rows
    assert lines["layers"].direct == 0 and lines["layers"].total == 12_704  # a container carries its block
    text = modules_table_html(report)
    assert text.count("same module as <code>layers.0</code>") == 3
    assert re.search(r"all modules.*15,936", text)  # the shared model's unique total
    assert "naive: summed over every parameter name beneath it, aliases included" in text  # on hover


def test_reuse_note_names_the_shared_ffn():
    # share="ffn": attention per layer, the FFN (and the two LayerNorms) shared
    note = reuse_note(twin_counts("albert", share="ffn"))
    assert note.startswith("layers.0.ffn runs 4× per forward")


def test_in_call_reuse_is_said_where_calls_are_shown():
    counts = twin_counts("conv")
    text = modules_table_html(counts.shared, note="one kernel reused at 64 positions")
    assert "Reuse inside one call is not a call: one kernel reused at 64 positions" in text


class TiedHead(nn.Module):
    """A user's language-model head tied to its embedding: ``head.weight`` is ``embed.weight``."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.body = nn.Linear(16, 16)
        self.head = nn.Linear(16, 100, bias=False)
        self.head.weight = self.embed.weight  # tied


def _naive_adds_up(lines, report) -> None:
    """Each row's naive count is its own names plus the naive counts of the rows just beneath it."""
    own = {row.name: row.naive_params for row in report.modules}
    for line in lines:
        if line.same_as:
            continue  # its inside is not listed: its naive count is its whole subtree
        depth = line.name.count(".") + 1 if line.name else 0
        beneath = [x for x in lines if x.name.startswith(line.name + "." if line.name else "")
                   and x.name and x.name.count(".") + 1 == depth + 1]
        assert line.naive == own[line.name] + sum(x.naive for x in beneath), line.name


def test_an_alias_only_module_is_listed_and_both_columns_add_up():
    report = psv.analyze(TiedHead())
    lines = {line.name: line for line in module_lines(report)}
    # embed 100*16 = 1,600 held once; body 16*16 + 16 = 272; head's 1,600 are embed's again
    assert (report.unique_params, report.naive_params) == (1_872, 3_472)
    head = lines["head"]
    assert head.alias_only and head.direct == 0 and head.naive == 1_600 and head.shares_with == ("embed.weight",)
    assert sum(line.direct for line in lines.values()) == 1_872
    assert lines[""].naive == 3_472 and sum(lines[n].naive for n in ("embed", "body", "head")) == 3_472
    _naive_adds_up(list(lines.values()), report)
    text = modules_table_html(report)
    assert "<code>head</code>" in text
    assert "holds none of its own: the same tensor as <code>embed.weight</code>" in text


def test_gpt2_lm_head_is_listed():
    report = psv.analyze(psv.load_model("hf:gpt2"))
    lines = module_lines(report)
    head = next(line for line in lines if line.name == "lm_head")
    # lm_head.weight is transformer.wte.weight: 50,257 * 768 = 38,597,376 elements counted naively only
    assert head.alias_only and head.naive == 38_597_376 and head.direct == 0
    assert sum(line.direct for line in lines) == report.unique_params
    _naive_adds_up(lines, report)


@pytest.mark.parametrize("form", ["albert", "tied_embeddings", "tied_autoencoder"])
def test_naive_column_adds_up_for_the_zoo(form):
    for report in (twin_counts(form).shared, twin_counts(form).unshared):
        _naive_adds_up(module_lines(report), report)


def test_reused_modules_count_objects_with_parameters():
    # ALBERT, 4 layers, one block at every layer: the block, its attention (itself and q, k, v, out
    # projections), its FFN (itself, fc1, fc2) and its two norms = 1 + 5 + 3 + 2 = 11 objects, each run
    # 4 times (not 12 objects x 4 names = 48 names); the twin's only repeated modules are parameter-free
    counts = twin_counts("albert")
    shared = reused_modules(counts.shared)
    assert len(shared) == 11 and {line.calls for line in shared} == {4}
    assert reused_modules(counts.unshared) == []
    card = {c.key: c for c in model_cards(counts.shared)}["groups"]
    # ... and with the run-time trace, the block's 16 tensors are each read at every one of the 4 layers
    assert card.note == ("modules with parameters run more than once: 11; tensors used more than once: 16 "
                         "(0 read by a module that does not hold it)")
    assert {c.key: c for c in model_cards(counts.unshared)}["groups"].note.startswith("modules with parameters run more than once: 0;")
