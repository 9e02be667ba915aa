"""Explore stays responsive without a browser: busy while counting, newest request wins, honest inputs."""

from __future__ import annotations

import re

import pytest

from paramshare_viz import zoo
from paramshare_viz.app import make_dashboard
from paramshare_viz.app.explore import ExplorePanel
from paramshare_viz.typed_numbers import read_number
from paramshare_viz.views.explore import is_quick


@pytest.fixture
def app():
    return make_dashboard()


def explore(app) -> ExplorePanel:
    return app.tabs.panel("Explore")


def counts(panel: ExplorePanel) -> list[int]:
    return [int(n) for n in re.findall(r'data-count="(\d+)"', panel.bars.value)]


def test_a_large_value_then_a_form_switch_shows_busy_then_the_new_form(app):
    panel = explore(app)
    before = counts(panel)
    # image_size=130: the twin holds 224 * 130*130 = 3,785,600 parameters, plus activations: not waited for.
    assert not is_quick("conv", zoo.make_config("conv", image_size=130), "cpu")
    assert is_quick("conv", zoo.make_config("conv", image_size=60), "cpu")
    panel.editor.inputs["image_size"].value = "130"
    assert app.state.status_level == "busy" and "counting" in app.state.status
    assert "psv-stale" in panel.cards._dom_classes and counts(panel) == before  # old numbers, dimmed
    app.state.form = "gqa"  # at once, while conv is still being counted
    assert app.state.status_level == "info" and app.state.status.startswith("gqa on cpu"), app.state.status
    assert panel.worker.wait(timeout=120)
    # The superseded conv result was dropped: gqa's numbers stay, 32*32 + 2*32*8 + 32*32 = 2,560 shared.
    assert app.state.status.startswith("gqa on cpu") and counts(panel)[0] == 2_560
    assert "psv-stale" not in panel.cards._dom_classes


def test_a_large_value_finishes_in_the_worker(app):
    panel = explore(app)
    panel.editor.inputs["image_size"].value = "130"
    assert panel.worker.wait(timeout=120)
    # 130 + 2 - 3 + 1 = 130 output side: 16,900 positions * 224
    assert app.state.status_level == "info" and counts(panel)[:2] == [224, 224 * 16_900]


def test_a_newer_value_replaces_an_older_one(app):
    panel = explore(app)
    panel.editor.inputs["image_size"].value = "130"
    panel.editor.inputs["image_size"].value = "120"
    assert panel.worker.wait(timeout=120)
    assert counts(panel)[:2] == [224, 224 * 120 * 120]  # never 130's numbers


def test_a_huge_value_is_refused_at_once_naming_the_field(app):
    panel = explore(app)
    app.state.form = "rnn"
    panel.editor.inputs["seq_len"].value = "100000"
    assert app.state.status_level == "error"
    assert "seq_len=100,000 would give the unshared twin 100,002 module names to walk" in app.state.status
    assert "seq_len=4,998 fits" in app.state.status and "memory_budget" not in app.state.status


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2.5", "In channels (in_channels): '2.5' is not a whole number; the nearest whole numbers are 2 and 3"),
        ("abc", "In channels (in_channels): 'abc' is not a whole number; type it in digits."),
        ("", "In channels (in_channels) is empty; type a whole number"),
    ],
)
def test_an_integer_field_never_rewrites_what_was_typed(app, typed, message):
    panel = explore(app)
    before = counts(panel)
    panel.editor.inputs["in_channels"].value = typed
    assert app.state.status_level == "error" and message in app.state.status
    assert panel.editor.inputs["in_channels"].value == typed  # shown as typed, not 25 or the old value
    assert counts(panel) == before and "psv-stale" in panel.cards._dom_classes
    panel.editor.inputs["in_channels"].value = "4"
    assert app.state.status_level == "info" and counts(panel)[0] == 8 * 4 * 9 + 8  # 296


def test_read_number():
    assert read_number("seq_len", int, " 16 ") == 16
    assert read_number("alpha", float, "8") == 8.0 and read_number("alpha", float, "0.5") == 0.5
    with pytest.raises(ValueError, match=r"Alpha \(alpha\): 'x' is not a number"):
        read_number("alpha", float, "x")
    with pytest.raises(ValueError, match="not a whole number"):
        read_number("seq_len", int, "True")


def test_limits_are_shown_beside_the_fields(app):
    panel = explore(app)
    # conv default: image 8 + 2*padding 1 = 10 pixels; groups must divide 3 and 8
    assert "≤ 10" in panel.editor.limits.value and "divides in_channels=3 and out_channels=8" in panel.editor.limits.value
    assert panel.editor.inputs["kernel_size"].tooltip.startswith("≤ 10")
    panel.editor.inputs["padding"].value = "3"
    assert panel.editor.inputs["kernel_size"].tooltip.startswith("≤ 14")  # the limit follows the values
