"""The dashboard's widgets without a browser: state, numbers, figure updated in place."""

from __future__ import annotations

import pytest

from paramshare_viz.app import make_dashboard
from paramshare_viz.app.conv_counts import ConvCountsPanel, times
from paramshare_viz.plots.conv_counts import make_conv_counts_figure


@pytest.fixture
def app():
    return make_dashboard()


def conv_panel(app) -> ConvCountsPanel:
    tabs = app.children[-1]
    assert tabs.titles[0] == "Explore"
    return tabs.children[0]


def test_initial_numbers_and_status(app):
    panel = conv_panel(app)
    # 16*3*3*3 + 16 = 448; 32*32 positions; dense 3072 -> 16384 with bias.
    assert list(panel.figure.data[0].y) == [448, 448 * 1024, 3072 * 16384 + 16384]
    assert 'data-key="conv"' in panel.cards.value and "448" in panel.cards.value
    assert "1,024 positions" in panel.cards.value
    assert app.state.status_level == "info"
    assert "32×32 output positions" in app.state.status


def test_change_updates_the_same_figure(app):
    panel = conv_panel(app)
    figure = panel.figure
    panel.inputs["kernel_size"].value = 5
    assert panel.figure is figure  # updated in place, never rebuilt
    assert list(figure.data[0].y) == [1216, 1216 * 900, 3072 * 16 * 900 + 16 * 900]  # 16*3*25 + 16 = 1216
    assert list(figure.data[0].text) == ["1,216", "1,094,400", "44,251,200"]


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
    panel = conv_panel(app)
    before = list(panel.figure.data[0].y)
    panel.inputs[field].value = value
    assert app.state.status_level == "error"
    assert message in app.state.status
    assert list(panel.figure.data[0].y) == before  # last valid numbers kept
    assert "psv-stale" in panel.cards._dom_classes

    panel.inputs[field].value = {"kernel_size": 1, "in_channels": 1, "out_channels": 2, "stride": 2, "padding": 0}[field]
    assert app.state.status_level == "info"
    assert "psv-stale" not in panel.cards._dom_classes
    assert list(panel.figure.data[0].y) != before


def test_figure_builder_is_pure():
    counts = {"conv": 10, "locally_connected": 1000, "dense": 10**6}
    fig = make_conv_counts_figure(counts)
    assert list(fig.data[0].y) == [10, 1000, 10**6]
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.range[0] == 0 and fig.layout.yaxis.range[1] > 6


@pytest.mark.parametrize(("ratio", "text"), [(1024.0, "1,024×"), (112384.0, "112,384×"), (2.25, "2.2×"), (9.96, "10.0×")])
def test_ratio_text(ratio, text):
    assert times(ratio) == text
