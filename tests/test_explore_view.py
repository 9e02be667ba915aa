"""Explore's view: one change makes one config and one shared/twin pair, and everything shown comes from it."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from paramshare_viz import zoo
from paramshare_viz.analysis import twin_counts as twin_counts_module
from paramshare_viz.app import make_dashboard
from paramshare_viz.models import registry
from paramshare_viz.views import explore as view_module
from paramshare_viz.views.explore import explore_view


@pytest.fixture
def made():
    """Counts configs constructed (any form) and models built (``Form.build``) until the test ends."""
    counter: Counter = Counter()
    saved = []
    for form in registry.names():
        spec = registry.get(form)
        init, build = spec.config_cls.__init__, spec.build
        saved.append((spec, init, build))

        def counting_init(self, *args, _init=init, **kwargs):
            counter["configs"] += 1
            _init(self, *args, **kwargs)

        def counting_build(config, shared, _build=build):
            counter["models"] += 1
            return _build(config, shared)

        spec.config_cls.__init__ = counting_init
        object.__setattr__(spec, "build", counting_build)  # Form is frozen
    yield counter
    for spec, init, build in saved:
        spec.config_cls.__init__ = init
        object.__setattr__(spec, "build", build)


def test_one_change_makes_one_config_and_one_pair(made):
    panel = make_dashboard().tabs.panel("Explore")
    explore_view.cache_clear()  # a setting not seen before (other tests may have shown kernel_size=5)
    made.clear()
    panel.editor.inputs["kernel_size"].value = "5"
    assert panel.worker.wait(timeout=120)
    # Before issue 23 this change made 19 configs and 4 models (2 on cpu for the counts, 2 on meta for the graph).
    assert made == {"configs": 1, "models": 2}
    assert panel.view.counts.config.kernel_size == 5
    # 8*3*5*5 + 8 = 608 shared; output 8 + 2 - 5 + 1 = 6, 36 positions for the twin
    assert re.findall(r'data-count="(\d+)"', panel.bars.value)[:2] == ["608", str(608 * 36)]


def test_returning_to_a_setting_builds_nothing(made):
    panel = make_dashboard().tabs.panel("Explore")
    panel.editor.inputs["kernel_size"].value = "5"
    panel.editor.inputs["kernel_size"].value = "3"
    assert panel.worker.wait(timeout=120)
    made.clear()
    panel.editor.inputs["kernel_size"].value = "5"  # seen before: the cached view
    assert panel.worker.wait(timeout=120)
    assert made["models"] == 0 and made["configs"] == 1  # the typed values still make their config


def test_the_graphs_come_from_the_models_that_were_counted(monkeypatch):
    counted, drawn = [], []
    analyze, sharing_graph = twin_counts_module.analyze, view_module.sharing_graph
    monkeypatch.setattr(twin_counts_module, "analyze", lambda m, x: counted.append(m) or analyze(m, x))
    monkeypatch.setattr(view_module, "sharing_graph", lambda m, **kw: drawn.append(m) or sharing_graph(m, **kw))
    config = zoo.make_config("albert", num_layers=3)
    explore_view.cache_clear()
    view = explore_view("albert", config, "cpu", "float32")
    assert len(counted) == 2 and [id(m) for m in drawn] == [id(m) for m in counted]
    # The shared ALBERT: one block object under 3 layer names, run 3 times; the twin: 3 blocks, once each.
    def layers(graph):
        return [(m.copies, m.objects, m.runs) for m in graph.modules if m.name == "layers.[0-2]"]

    assert layers(view.graphs[0]) == [(3, 1, 3)] and layers(view.graphs[1]) == [(3, 3, 1)]
    assert view.tables["shared"].groups_title.endswith(": 16 groups")  # 16 tensors of the block, each 3 names
    assert view.tables["twin"].groups_title.endswith(": 0 groups")
    assert "layers.0 runs 3× per forward" in view.cards and view.graph_note == "layers.0 runs 3× per forward"


def test_a_large_setting_is_counted_on_meta_and_says_why():
    config = zoo.make_config("albert", **zoo.presets("albert")["BERT-base, one shared block"])
    view = explore_view("albert", config, "cpu", "float32")
    # 109,482,240 twin parameters * 4 bytes = 417.6 MiB, over Explore's 64 MiB on cpu: counted on meta
    assert view.counts.device == "meta" and view.status.startswith("albert on meta in float32")
    assert "417.6 MiB twin &gt; 64.0 MiB budget on cpu" in view.bars
    assert view.graph_note == "one block reused at 12 layers"  # the registry's meta note: no forward ran


def test_a_refusal_supersedes_a_count_still_running():
    app = make_dashboard()
    panel = app.tabs.panel("Explore")
    panel.editor.inputs["image_size"].value = "130"  # 224 * 130*130 twin parameters: counted in the worker
    assert app.state.status_level == "busy"
    panel.editor.inputs["in_channels"].value = "abc"
    assert app.state.status_level == "error"
    assert panel.worker.wait(timeout=120)
    # The image_size=130 view was dropped: the error stays, over the default's numbers (224 shared).
    assert app.state.status_level == "error" and "'abc' is not a whole number" in app.state.status
    assert re.findall(r'data-count="(\d+)"', panel.bars.value)[0] == "224"


@pytest.mark.parametrize(
    ("form", "labels", "reference"),
    [
        # conv's dense reference: 3*8*8 = 192 inputs -> 8*8*8 = 512 outputs, + 512 biases = 98,816
        ("conv", ("Conv2d (shared)", "Locally connected"), ("Dense", 98_816)),
        ("albert", ("Shared", "Unshared twin"), None),
    ],
)
def test_per_form_words_are_registry_fields(form, labels, reference):
    entry = registry.get(form)
    assert entry.side_labels == labels
    config = zoo.default_config(form)
    assert (entry.reference and (entry.reference.label, entry.reference.count(config))) == reference


def test_a_made_config_is_used_as_given():
    config = zoo.make_config("conv", kernel_size=5)
    assert zoo.default_config("conv") is zoo.default_config("conv")  # frozen: one object per form
    shared, twin = zoo.pair("conv", config=config)
    assert shared.weight.shape == (8, 3, 5, 5)  # out_channels, in_channels, kernel_size x kernel_size
    assert zoo.example_input("conv", config=config).shape == (2, 3, 8, 8)  # batch 2, 3 channels, 8x8 image
    with pytest.raises(ValueError, match=r"conv: pass config= or the field overrides \['kernel_size'\], not both"):
        zoo.build("conv", config=config, kernel_size=3)
    with pytest.raises(ValueError, match=r"conv: config=RNNConfig\(.*\) is not a ConvConfig"):
        zoo.build("conv", config=zoo.make_config("rnn"))
