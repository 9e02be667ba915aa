"""The Learn tab without a browser: runs finish in the worker, Stop keeps results, bad input is named."""

from __future__ import annotations

import pytest

from paramshare_viz.app import make_dashboard
from paramshare_viz.app.learn import LearnPanel, parse_lams
from paramshare_viz.learn.growl import GrowlConfig, GrowlResult
from paramshare_viz.learn.hashing import HashingPoint, HashingTradeoff
from paramshare_viz.learn.soft_tying import SoftTyingRun, SoftTyingSweep
from paramshare_viz.plots import theme
from paramshare_viz.plots.learn import (
    make_growl_figure,
    make_hashing_figure,
    make_soft_tying_figure,
    make_tradeoff_figure,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def panel():
    app = make_dashboard(tab="Learn")
    panel = app.tabs.panels["Learn"]
    assert isinstance(panel, LearnPanel)
    return panel


def test_soft_tying_run_finishes_and_shows_its_curves(panel):
    panel.steps.value = 20
    panel.lam.value = "0.1"
    panel.start()
    assert panel.worker.wait(120)
    run = panel.result
    assert isinstance(run, SoftTyingRun) and run.steps[-1] == 20
    # Two loss curves and one distance curve per Linear layer (2), in the one figure widget.
    assert [t.name for t in panel.plot.figure.data] == ["task A: digits", "task B: mirrored", "layer 1 (64→32)", "layer 2 (32→10)"]
    assert "λ = 0.1" in panel.plot.figure.layout.title.text
    assert f"{run.final_distance:.3g}" in panel.summary.value
    assert panel.state.status_level == "info" and "finished" in panel.state.status
    assert not panel.run.disabled and panel.stop.disabled


def test_stopped_sweep_keeps_what_was_trained(panel):
    panel.steps.value = 2000
    panel.lams.value = "0, inf"
    panel.start(sweep=True)
    assert panel.run.disabled and not panel.stop.disabled
    while panel.progress.value < 5:  # let it take a few steps
        panel.worker.wait(0.05)
    panel.stop.click()
    assert panel.worker.wait(60)
    sweep = panel.result
    assert isinstance(sweep, SoftTyingSweep) and len(sweep.runs) == 1 and sweep.runs[0].stopped
    assert "stopped" in panel.state.status and not panel.run.disabled and panel.stop.disabled


def test_growl_and_hashing_run(panel):
    panel.experiment.value = "HashedNets"
    assert panel.sweep.layout.display == "none"
    panel.compressions.value = "1, 8"
    panel.steps.value = 15
    panel.start()
    assert panel.worker.wait(120)
    assert [p.compression for p in panel.result.points] == [1, 8]
    assert panel.plot.figure.data[1].type == "heatmap"  # the bucket map beside the trade-off
    assert "×8: 256 buckets" in panel.summary.value  # 64 inputs * 32 hidden / 8


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("lam", "abc", "λ value 'abc' is not a number"), ("lam", "-1", "λ value '-1' must be non-negative"),
     ("lam", "0.1 0.2", "give one value here"), ("lams", "", "λ values are empty")],
)
def test_bad_values_are_named_and_nothing_starts(panel, field, value, message):
    getattr(panel, field).value = value
    panel.start(sweep=field == "lams")
    assert panel.state.status_level == "error" and message in panel.state.status
    assert not panel.worker.running and not panel.run.disabled


@pytest.mark.parametrize(
    ("value", "message"),
    # Typed into the page by the browser fuzz: 2.5 and "1, inf" trained at 2 and 1 without a word.
    [("2.5", "compressions='2.5' must be positive whole numbers"),
     ("1, inf", "compressions='1, inf' must be positive whole numbers")],
)
def test_compressions_must_be_whole(panel, value, message):
    panel.experiment.value = "HashedNets"
    panel.compressions.value = value
    panel.start()
    assert panel.state.status_level == "error" and message in panel.state.status
    assert not panel.worker.running and "Nothing was started" in panel.state.status


def test_refusal_from_the_run_is_worded_without_its_class(panel):
    # Also from the fuzz: the worker's ValueError reached the status as "Learn: ValueError: ...".
    panel.experiment.value = "HashedNets"
    panel.compressions.value = "100000"
    panel.steps.value = 10
    panel.start()
    assert panel.worker.wait(60)
    assert panel.state.status == (
        "Learn: compression=100000 leaves no bucket for a 32x64 layer (2048 virtual weights); use at most 2048"
    )
    assert not panel.run.disabled


def test_parse_lams():
    assert parse_lams("0, 0.01 inf ∞") == [0.0, 0.01, float("inf"), float("inf")]


def test_figures_from_results():
    run = SoftTyingRun(lam=0.0, steps=[10, 20], loss_a=[1.0, 0.5], loss_b=[1.2, 0.6], distance={"layer 1 (2→2)": [0.0, 1.0]})
    fig = make_soft_tying_figure(run)
    assert fig.data[2].y == (1e-12, 1.0)  # an exact 0 drawn at the log axis' floor
    assert "0 (independent)" in fig.layout.title.text
    rows = SoftTyingSweep([run]).rows()
    assert make_tradeoff_figure(rows).data[0].x == ("0 (independent)",)
    point = HashingPoint(4, 512, 874, 2048, 0.97, 0.07)
    fig = make_hashing_figure(HashingTradeoff("digits", 32, [point]).points)
    assert fig.data[0].text == ("×4",) and fig.layout.xaxis.type == "log"
    growl = GrowlResult(GrowlConfig(), "planted", column_norms=[0.5, 0.5, 0.0], removed=[2], clusters={0: [0, 1]})
    fig = make_growl_figure(growl, groups=(0, 0, -1))
    assert fig.data[0].marker.color[2] == theme.DENSE  # removed neuron in grey
    assert fig.data[0].customdata[0] == "tied: cluster 0 of 2 neurons, planted group 0"
    assert "1 neuron removed, 1 group tied" in fig.layout.title.text
