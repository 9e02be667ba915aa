"""The modules table: direct counts add up to the totals, containers carry what is beneath, aliases say so."""

from __future__ import annotations

import re

import pytest

import paramshare_viz as psv
from paramshare_viz.analysis.twin_counts import twin_counts
from paramshare_viz.app.explore import reuse_note
from paramshare_viz.plots.tables import module_lines, modules_table_html


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
