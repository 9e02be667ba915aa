"""The Learn tab without a browser: runs finish in the worker, Stop keeps results, bad input is named."""

from __future__ import annotations

import pytest

from paramshare_viz.app import make_dashboard
from paramshare_viz.app.learn import LAM_MESSAGES, LearnPanel
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
from paramshare_viz.typed_numbers import read_numbers

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
    assert panel.jobs.worker.wait(120)
    run = panel.result
    assert isinstance(run, SoftTyingRun) and run.steps[-1] == 20
    # Two loss curves and one distance curve per Linear layer (2), in the one figure widget.
    assert [t.name for t in panel.plot.figure.data] == ["task A: digits", "task B: mirrored", "layer 1 (64→32)", "layer 2 (32→10)"]
    assert "λ = 0.1" in panel.plot.figure.layout.title.text
    assert f"{run.final_distance:.3g}" in panel.summary.value
    assert panel.state.status_level == "info" and "finished" in panel.state.status
    assert not panel.run.disabled and panel.jobs.stop.disabled


def test_stopped_sweep_keeps_what_was_trained(panel):
    panel.steps.value = 2000
    panel.lams.value = "0, inf"
    panel.start(sweep=True)
    assert panel.run.disabled and not panel.jobs.stop.disabled
    while panel.jobs.bar.value < 5:  # let it take a few steps
        panel.jobs.worker.wait(0.05)
    panel.jobs.stop.click()
    assert panel.jobs.worker.wait(60)
    sweep = panel.result
    assert isinstance(sweep, SoftTyingSweep) and len(sweep.runs) == 1 and sweep.runs[0].stopped
    assert "stopped" in panel.state.status and not panel.run.disabled and panel.jobs.stop.disabled
    # The bar and the summary count the same steps (the bar's throttled updates lagged behind: 2,567 vs 2,580).
    done = sweep.runs[0].steps_done
    assert (panel.jobs.bar.value, panel.jobs.bar.max) == (done, 4000)  # 2 values of λ x 2,000 steps
    assert panel.jobs.line.value == f"{done:,} / 4,000 steps (stopped)"
    assert f"trained {done:,} / 4,000 steps (stopped)" in panel.summary.value


def test_typed_steps_beyond_the_limit_are_refused_not_rewritten(panel):
    panel.steps.value = 20000
    panel.start()
    assert panel.steps.value == 20000  # left as typed
    assert panel.state.status == ("Learn: Steps=20,000 is more than the limit of 5,000; type a number from 10 "
                                  "to 5,000. Nothing was started.")
    assert panel.jobs.kind is None
    panel.experiment.value = "GrOWL"
    panel.lambda1.value = 12.0
    panel.start()
    assert "λ1=12 must be from 0 to 10" in panel.state.status and panel.lambda1.value == 12.0


def test_sub_tabs_keep_their_own_plots(panel):
    panel.steps.value = 20
    panel.start()
    assert panel.jobs.worker.wait(120)
    soft = panel.plot.figure
    assert soft is not None and "trained 20 / 20 steps" in panel.summary.value
    panel.experiment.value = "HashedNets"  # nothing of the soft-tying run under HashedNets' controls
    assert panel.plot.figure is None and panel.summary.value == "" and panel.jobs.line.value == ""
    assert "Press Train" in panel.plot.message
    panel.experiment.value = "Soft tying"  # and back: its run is shown again
    assert panel.plot.figure is soft and "trained 20 / 20 steps" in panel.summary.value
    assert panel.jobs.line.value == "20 / 20 steps"


def test_a_collapsed_growl_run_says_so(panel):
    panel.experiment.value = "GrOWL"
    panel.dataset.value = "digits"
    panel.lambda1.value = 5.0  # zeroes every pixel in the first step
    panel.start()
    assert panel.jobs.worker.wait(120)
    assert panel.state.status_level == "error"
    assert panel.state.status.startswith("Learn: GrOWL two-stage on digits (8x8, scikit-learn) collapsed: "
                                         "stage 1 removed all 64 input neurons")
    assert "<b>Collapsed</b>" in panel.summary.value
    # 600 plain + 600 stage-1 steps; stage 2 has nothing to tie, so the bar stops at 1,200 of 1,500, as the summary says.
    assert panel.jobs.line.value == "1,200 / 1,500 steps"
    assert "trained 1,200 / 1,500 steps: stage 2 (tie and retrain) skipped" in panel.summary.value


def test_growl_and_hashing_run(panel):
    panel.experiment.value = "HashedNets"
    assert panel.sweep.layout.display == "none"
    panel.compressions.value = "1, 8"
    panel.steps.value = 15
    panel.start()
    assert panel.jobs.worker.wait(120)
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
    assert panel.jobs.kind is None and not panel.run.disabled


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
    assert panel.jobs.kind is None and "Nothing was started" in panel.state.status


def test_refusal_from_the_run_is_worded_without_its_class(panel):
    # Also from the fuzz: the worker's ValueError reached the status as "Learn: ValueError: ...".
    panel.experiment.value = "HashedNets"
    panel.compressions.value = "100000"
    panel.steps.value = 10
    panel.start()
    assert panel.jobs.worker.wait(60)
    assert panel.state.status == (
        "Learn: training HashedNets at 1 compression: compression=100000 leaves no bucket for a 32x64 layer "
        "(2048 virtual weights); use at most 2048."
    )
    assert not panel.run.disabled


def test_lam_boxes_take_inf_and_the_infinity_sign():
    assert read_numbers("0, 0.01 inf ∞", float, **LAM_MESSAGES) == [0.0, 0.01, float("inf"), float("inf")]


def test_figures_from_results():
    run = SoftTyingRun(lam=0.0, steps=[10, 20], loss_a=[1.0, 0.5], loss_b=[1.2, 0.6], distance={"layer 1 (2→2)": [0.0, 1.0]})
    fig = make_soft_tying_figure(run)
    # An exact 0 has no place on a log axis: a gap in the line, and a mark labelled 0 a decade below 1.0.
    assert fig.data[2].y == (None, 1.0) and fig.data[-1].name == "exactly 0 (drawn at the axis floor)"
    assert fig.data[-1].y == (0.1,) and fig.data[-1].text == ("0",) and fig.layout.yaxis2.range[0] < -1
    assert "0 (independent)" in fig.layout.title.text
    rows = SoftTyingSweep([run]).rows()
    assert make_tradeoff_figure(rows).data[0].x == ("0 (independent)",)
    hard = SoftTyingRun(lam=float("inf"), steps=[10], loss_a=[1.0], loss_b=[1.0], distance={"layer 1 (2→2)": [0.0]})
    fig = make_tradeoff_figure(SoftTyingSweep([run, hard]).rows())  # distances 1.0 and 0 exactly
    assert fig.data[0].y == (1.0, None)  # λ = ∞ is not plotted at 1e-12
    marks = fig.data[-1]
    assert marks.x == ("∞ (hard sharing)",) and marks.y == (0.1,) and marks.text == ("0",)
    assert make_soft_tying_figure(hard).layout.yaxis2.type == "linear"  # all 0: no log axis at all
    point = HashingPoint(4, 512, 874, 2048, 0.97, 0.07)
    fig = make_hashing_figure(HashingTradeoff("digits", 32, [point]).points)
    assert fig.data[0].text == ("×4",) and fig.layout.xaxis.type == "log"
    assert fig.layout.yaxis.range == (0, 1.05)  # one point after Stop: still a 0-100% accuracy axis
    growl = GrowlResult(GrowlConfig(), "planted", column_norms=[0.5, 0.5, 0.0], removed=[2], clusters={0: [0, 1]})
    fig = make_growl_figure(growl, groups=(0, 0, -1))
    assert fig.data[0].marker.color[2] == theme.DENSE  # removed neuron in grey
    assert fig.data[0].customdata[0] == "tied: cluster 0 of 2 neurons, planted group 0"
    assert "1 neuron removed, 1 group tied" in fig.layout.title.text
