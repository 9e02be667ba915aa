"""The dashboard's widgets without a browser: state, numbers, bars updated in place."""

from __future__ import annotations

import re

import pytest

import paramshare_viz as psv
from paramshare_viz.analysis.twin_counts import twin_counts
from paramshare_viz.app import explore as explore_module
from paramshare_viz.app import make_dashboard
from paramshare_viz.app.explore import ExplorePanel
from paramshare_viz.plots.param_bars import times
from paramshare_viz.views.explore import reuse_note


@pytest.fixture
def app():
    return make_dashboard()


def bar_counts(panel: ExplorePanel) -> list[int]:
    """The counts the HTML bars show, in order (their data-count attributes)."""
    return [int(n) for n in re.findall(r'data-count="(\d+)"', panel.bars.value)]


def explore(app) -> ExplorePanel:
    assert app.tabs.titles[0] == "Explore"
    return app.tabs.panel("Explore")


def test_initial_numbers_and_status(app):
    panel = explore(app)
    # The library's default conv (as psv.zoo and the CLI start): 3 -> 8 channels, 3x3, padding 1 on 8x8:
    # 8*3*3*3 + 8 = 224; 8*8 positions; dense 192 -> 512.
    assert psv.zoo.default_config("conv") == psv.zoo.make_config("conv", **panel.editor.values())
    assert bar_counts(panel) == [224, 224 * 64, 192 * 512 + 512]
    assert 'data-key="shared"' in panel.cards.value and "224" in panel.cards.value
    assert "64 positions" in panel.cards.value
    assert "896 B" in panel.cards.value  # 224 * 4 bytes
    assert app.state.status_level == "info"
    assert "shared 224 parameters, twin 14,336 (64.0× the shared model)" in app.state.status


def test_change_updates_the_same_bars(app):
    panel = explore(app)
    bars = panel.bars
    panel.editor.inputs["kernel_size"].value = "5"
    assert panel.bars is bars  # updated in place, never rebuilt
    # 8*3*25 + 8 = 608; output 8 + 2 - 5 + 1 = 6, so 36 positions; dense 192 -> 8*36
    assert bar_counts(panel) == [608, 608 * 36, 192 * 288 + 288]
    assert re.findall(r'psv-bar-value">([\d,]+)<', bars.value) == ["608", "21,888", "55,584"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kernel_size", 35, "kernel_size=35 is larger than the padded input"),
        ("in_channels", 0, "in_channels=0 must be a positive integer"),
        ("out_channels", -4, "out_channels=-4 must be a positive integer"),
        ("stride", 0, "stride=0 must be a positive integer"),
        ("padding", -1, "padding=-1 must be a non-negative integer"),
    ],
)
def test_bad_input_is_reported_and_the_app_recovers(app, field, value, message):
    panel = explore(app)
    before = bar_counts(panel)
    panel.editor.inputs[field].value = str(value)
    assert app.state.status_level == "error"
    assert message in app.state.status
    assert bar_counts(panel) == before  # last valid numbers kept
    assert "psv-stale" in panel.cards._dom_classes

    panel.editor.inputs[field].value = {"kernel_size": "1", "in_channels": "1", "out_channels": "2", "stride": "2", "padding": "0"}[field]
    assert app.state.status_level == "info"
    assert "psv-stale" not in panel.cards._dom_classes
    assert bar_counts(panel) != before


def test_a_refusal_names_the_form_once(app):
    panel = explore(app)
    panel.editor.inputs["image_size"].value = "1000000000"
    assert app.state.status_level == "error"
    assert app.state.status.startswith("conv: image_size=1,000,000,000 ")  # once: not "conv: conv:"
    assert "conv: conv:" not in app.state.status


@pytest.mark.parametrize("form", psv.zoo.forms())
def test_every_form_shows_both_twins(app, form):
    panel = explore(app)
    app.state.form = form
    shared, unshared = psv.zoo.pair(form)  # the page starts where the library does
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert bar_counts(panel)[:2] == [count(shared), count(unshared)]
    assert set(panel.editor.inputs) <= {f for f in psv.zoo.default_config(form).__dataclass_fields__}
    assert app.state.status_level == "info", app.state.status


def test_albert_reuse_and_groups_are_shown(app):
    panel = explore(app)
    app.state.form = "albert"
    # One block object under 4 layer names: the groups table lists them, the block runs 4 times.
    assert "layers.0" in panel.groups.value and "same-tensor" in panel.groups.value
    assert "runs 4× per forward" in panel.cards.value


def test_the_tables_follow_the_graphs_toggle(app):
    panel = explore(app)
    app.state.form = "albert"
    # The shared ALBERT: 16 tensors of the one block (4 Linear x 2, 2 norms x 2, fc1/fc2 x 2 = 16), each
    # under 4 layer names; the twin holds every tensor once.
    assert panel.groups_box.titles == ("Tensors under several names, shared model: 16 groups",)
    assert panel.modules_box.titles == ("Modules, shared model: calls and parameters",)
    panel.graph.side.value = "twin"
    assert panel.graph.widget.side == "twin" and panel.graph.widget.payloads["twin"]["twin"] is True
    assert panel.groups_box.titles == ("Tensors under several names, unshared twin: 0 groups",)
    assert "No tensor is reachable under two names." in panel.groups.value  # its dropouts' reruns share nothing
    assert "reuse at run time" not in panel.groups.value
    assert panel.modules_box.titles == ("Modules, unshared twin: calls and parameters",)
    assert "same module as" not in panel.modules.value  # the twin has a block per layer
    panel.graph.side.value = "shared"
    assert "same module as <code>layers.0</code>" in panel.modules.value


def test_gqa_head_map_and_lora_split_under_the_graph(app):
    panel = explore(app)
    app.state.form = "gqa"
    shared, twin = (panel.graph.widget.payloads[side] for side in ("shared", "twin"))
    # 8 query heads, 2 K/V heads: heads 0-3 read K/V head 0, heads 4-7 K/V head 1 (drawn under the graph)
    (hm,) = shared["head_maps"]
    assert (hm["num_heads"], hm["kv_heads"], hm["readers"]) == (8, 2, [[0, 1, 2, 3], [4, 5, 6, 7]])
    assert twin["head_maps"] == []  # the twin: a K/V head per query head, nothing grouped
    app.state.form = "lora"
    shared = panel.graph.widget.payloads["shared"]
    # base 32*32 + 32 = 1,056 frozen; adapters 3 * (4*32 + 32*4) = 768 trainable
    assert (shared["frozen_params"], shared["trainable_params"]) == (1_056, 768)


def test_enum_and_bool_fields(app):
    panel = explore(app)
    app.state.form = "rnn"
    panel.editor.inputs["cell"].value = "lstm"
    assert "shared 464 parameters" in app.state.status  # 4*(8*4 + 8*8 + 2*8) + 2*8 (h0, c0) = 464
    panel.editor.inputs["bias"].value = False
    assert app.state.status_level == "info"


def test_device_and_dtype(app):
    panel = explore(app)
    assert panel.device.options == tuple(psv.zoo.available_devices())  # only devices that exist here
    app.state.dtype = "float64"
    assert "1.8 KiB" in panel.cards.value  # 224 * 8 bytes
    app.state.device = "meta"
    assert "on meta in float64" in app.state.status


@pytest.mark.parametrize(("ratio", "text"), [(1024.0, "1,024×"), (112384.0, "112,384×"), (2.5, "2.5×"), (9.96, "10.0×")])
def test_ratio_text(ratio, text):
    assert times(ratio) == text



@pytest.mark.parametrize(
    ("form", "note"),
    [
        ("conv", "one kernel reused at 64 positions"),  # 8x8 output at the zoo default
        ("rnn", "cell runs 5× per forward"),  # found by counting calls
        ("albert", "layers.0 runs 4× per forward"),  # the block, not the dropout inside it
        ("siamese", "branch runs 2× per forward"),
        ("tied_embeddings", "lm_head.weight is wte.weight"),  # found by tensor identity
        ("gqa", "each K/V head serves 4 query heads"),  # 8 heads / 2 groups
        ("hashednet", "128 virtual weights from 32 buckets"),  # 8*16 virtual entries
        # base 32*32 + 32 = 1,056 frozen; 3 tasks * (A 4*32 + B 32*4) = 768 trainable
        ("lora", "one frozen base shared by 3 tasks; 1,056 frozen, 768 trainable"),
    ],
)
def test_reuse_note_says_how_each_form_shares(form, note):
    assert reuse_note(twin_counts(form)) == note


def test_an_unexpected_error_still_lands_in_the_status_line(app, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(explore_module, "explore_view", out_of_memory)
    explore(app).editor.inputs["kernel_size"].value = "5"
    assert app.state.status_level == "error"
    assert "RuntimeError: CUDA out of memory" in app.state.status


def test_tabs_build_their_panel_when_first_opened(app):
    tabs = app.tabs
    assert set(tabs.panels) == {"Explore"}  # the page loads one panel only
    for index, title in enumerate(tabs.titles):
        tabs.selected_index = index
        assert title in tabs.panels, title
        assert tabs.children[index].children == (tabs.panels[title],)
        assert app.state.status_level != "error", (title, app.state.status)
    assert tabs.titles == ("Explore", "Slide", "Unroll", "Compare", "Inspect", "Learn")  # DESIGN.md's order
    compare = tabs.panels["Compare"]
    assert compare.jobs.worker.wait(120)  # Compare measures when it opens, in its worker
    assert app.state.status_level != "error", app.state.status


def test_header_says_where_it_runs(app):
    header = app.children[0].value
    assert "Running on" in header
    assert ("CUDA" in header or "NVIDIA" in header) == ("cuda" in psv.zoo.available_devices())


def test_the_first_graph_goes_out_with_the_numbers(app):
    # The graph is the package's own front end (no plotly.js to start): its data is sent with the
    # numbers, before the page has drawn, and redrawn in place on a change.
    panel = explore(app)
    assert not app.state.drawn and 'data-key="shared"' in panel.cards.value
    widget = panel.graph.widget
    assert widget.payloads["shared"]["model_type"] == "Conv2d" and widget.payloads["twin"]["twin"] is True
    app.state.form = "albert"
    assert panel.graph.widget is widget and widget.payloads["shared"]["model_type"] == "Albert"


def test_tabs_opened_after_the_page_has_drawn_do_not_wait(app):
    app.children[2]._answer(app.children[2], {"drawn": True}, [])
    app.tabs.selected_index = app.tabs.titles.index("Unroll")
    unroll = app.tabs.panels["Unroll"]
    assert unroll.plot.shown is not None


def test_form_and_preset_changes_do_not_pile_up_widgets(app):
    # A long visit switches forms and presets many times; old inputs must not stay in kernel and page.
    import ipywidgets

    panel = explore(app)
    app.state.form = "albert"
    boxes = dict(panel.editor.inputs)
    panel.preset.value = "ALBERT-base"  # same form: the same boxes, new values
    assert panel.editor.inputs == boxes and boxes["hidden_size"].value == "768"
    before = len(ipywidgets.widgets.widget._instances)
    for form in ("conv", "albert", "rnn", "albert"):
        app.state.form = form
    assert len(ipywidgets.widgets.widget._instances) <= before  # the last form's boxes replace the first's
    assert all(box.comm is None for box in boxes.values())  # closed, layout and style too
    assert all(box.layout.comm is None and box.style.comm is None for box in boxes.values() if hasattr(box, "style"))
