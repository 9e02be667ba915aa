"""Learn tab: sharing that is learned — soft tying, GrOWL's two stages, HashedNets — trained live.

Every run goes through the tab's :class:`JobControls` to a worker thread, with a
progress bar and a Stop button that keeps what was trained; the page stays usable meanwhile. One
plot (a :class:`PlotOutput`) shows whichever result is current.
"""

from __future__ import annotations

import html
import math
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from paramshare_viz.app.jobs import JobControls
from paramshare_viz.app.plot_output import PlotOutput
from paramshare_viz.app.state import AppState
from paramshare_viz.learn.data import digits, planted_groups
from paramshare_viz.learn.growl import GrowlConfig, GrowlResult, two_stage
from paramshare_viz.learn.hashing import HashingTradeoff, hashing_tradeoff
from paramshare_viz.learn.soft_tying import (
    DEFAULT_LAMS,
    SoftTyingConfig,
    SoftTyingRun,
    SoftTyingSweep,
    soft_tying_sweep,
    train_soft_tied,
)
from paramshare_viz.plots.learn import (
    lam_label,
    make_growl_figure,
    make_hashing_figure,
    make_soft_tying_figure,
    make_tradeoff_figure,
)
from paramshare_viz.typed_numbers import read_numbers
from paramshare_viz.units import plural

EXPERIMENTS = ("Soft tying", "GrOWL", "HashedNets")
INTRO = {
    "Soft tying": "Two MLPs, one on digits and one on mirrored digits, trained together with "
    "λ·‖w_A − w_B‖². λ = 0 trains them independently; λ = ∞ is hard sharing (one set of weights, "
    "what the siamese form does by identity).",
    "GrOWL": "Stage 1 trains with group OWL on the first layer's input neurons: unimportant neurons go to 0, "
    "strongly correlated ones are pulled to a common value. Stage 2 ties each cluster to one Parameter "
    "and retrains (Zhang et al., 2018). Plain L1 (Lasso) is there to compare.",
    "HashedNets": "The first layer's virtual weight is read from K shared buckets through a fixed hash "
    "(Chen et al., 2015). One network per compression factor, trained on digits.",
}
FIELD = {"style": {"description_width": "110px"}, "layout": widgets.Layout(width="240px")}
#: Steps a run may take: training runs in this page's kernel, a few seconds per thousand steps.
MIN_STEPS, MAX_STEPS = 10, 5000
#: GrOWL's λ1 and λ2 are at most this (past it every input neuron is removed at once).
MAX_LAMBDA = 10.0
PLACEHOLDER = "Press Train: the run takes a few seconds in the background, and its curves appear here."


def check_steps(value: int) -> int:
    """The Steps field's value, or a message naming it and the limit (a typed number is never rewritten)."""
    if not MIN_STEPS <= value <= MAX_STEPS:
        side = f"more than the limit of {MAX_STEPS:,}" if value > MAX_STEPS else f"fewer than the minimum of {MIN_STEPS}"
        raise ValueError(f"Steps={value:,} is {side}; type a number from {MIN_STEPS} to {MAX_STEPS:,}")
    return value


def check_lambda(name: str, value: float) -> float:
    if not 0 <= value <= MAX_LAMBDA:
        raise ValueError(f"{name}={value:g} must be from 0 to {MAX_LAMBDA:g}")
    return value


#: How the λ boxes' messages name what was typed (typed_numbers.read_numbers).
LAM_MESSAGES = {
    "empty": "λ values are empty; type a few, e.g. 0, 0.01, 1, inf",
    "bad": "λ value {value} is not a number (use inf for hard sharing)",
    "negative": "λ value {value} must be non-negative",
}


def summary_html(lines: list[str]) -> str:
    items = "".join(f"<li>{line}</li>" for line in lines)
    return f"<ul class='psv-learn-summary' style='margin:4px 0 4px 18px;padding:0'>{items}</ul>"


def soft_tying_summary(run: SoftTyingRun) -> list[str]:
    return [
        f"λ = {html.escape(lam_label(run.lam))}: trained {steps_line(run)}"
        + (" (stopped)" if run.stopped else "")
        + f", ‖w_A − w_B‖ = {run.final_distance:.3g}",
        f"held-out accuracy: task A {run.test_acc_a:.1%}, task B {run.test_acc_b:.1%} "
        f"(loss {run.test_loss_a:.3f}, {run.test_loss_b:.3f})",
    ]


def sweep_summary(sweep: SoftTyingSweep) -> list[str]:
    rows = sweep.rows()
    if not rows:
        return [f"stopped before the first λ finished ({steps_line(sweep)})"]
    best = min(rows, key=lambda r: r["test_loss_a"] + r["test_loss_b"])
    return [
        f"trained {steps_line(sweep)}" + (" (stopped)" if sweep.stopped else ""),
        f"{plural(len(rows), 'value')} of λ trained; lowest summed held-out loss at λ = {html.escape(lam_label(best['lam']))} "
        f"({best['test_loss_a']:.3f} + {best['test_loss_b']:.3f})",
        f"distance falls from {rows[0]['final_distance']:.3g} (λ = {html.escape(lam_label(rows[0]['lam']))}) "
        f"to {rows[-1]['final_distance']:.3g} (λ = {html.escape(lam_label(rows[-1]['lam']))})",
    ]


def steps_line(result: Any) -> str:
    """How many steps the result covers, in the words the progress bar shows."""
    return f"{result.steps_done:,} / {result.total_steps:,} steps"


def growl_summary(result: GrowlResult) -> list[str]:
    lines = []
    if result.collapsed:
        lines.append(f"<b>Collapsed</b>: {html.escape(result.collapsed)}. Lower λ1 or λ2 (or the penalty) "
                     "for a useful result.")
    skipped = ""
    if result.steps_done < result.total_steps and not result.stopped:
        skipped = ": stage 2 (tie and retrain) skipped, no input neuron was left to tie"
    lines.append(f"trained {steps_line(result)}{' (stopped)' if result.stopped else ''}{skipped}")
    lines += [
        f"{result.dataset}: {len(result.removed)} of {plural(result.num_features, 'input neuron')} removed, "
        f"{plural(len(result.tied_groups), 'group')} tied "
        f"({', '.join('{' + ', '.join(map(str, g)) + '}' for g in result.tied_groups) or 'none'})",
        f"unique parameters (psv.analyze): {result.unique_before:,} → {result.unique_after:,}; "
        f"names counted: {result.naive_after:,}",
        f"held-out accuracy: plain training {result.acc_dense:.1%}, after stage 1 {result.acc_stage1:.1%}, "
        f"after tying and retraining {result.acc_retrained:.1%} (chance {result.chance:.1%})",
    ]
    if result.ari is not None:
        lines.append(f"planted groups recovered: adjusted Rand index {result.ari:.2f} (1 = exactly the planted groups)")
    return lines


def hashing_summary(result: HashingTradeoff) -> list[str]:
    if not result.points:
        return [f"stopped before the first network finished ({steps_line(result)})"]
    dense = next((p for p in result.points if p.compression == 1), None)
    lines = [
        f"×{p.compression}: {p.num_buckets:,} buckets, {p.unique_params:,} unique parameters, accuracy {p.test_accuracy:.1%}"
        for p in result.points
    ]
    if dense is not None and len(result.points) > 1:
        worst = result.points[-1]
        lines.append(
            f"×{worst.compression} keeps {worst.unique_params / dense.unique_params:.0%} of the dense parameters "
            f"and loses {100 * (dense.test_accuracy - worst.test_accuracy):.1f} accuracy points"
        )
    done = f"trained {steps_line(result)}"
    if result.stopped:
        done += " (stopped; a network stopped part-way is left out)"
    return [done, *lines]


def most_compressed_index(result: HashingTradeoff) -> Any:
    """The bucket index map of the most compressed hashed layer trained, or ``None``."""
    hashed = [c for c in result.models if c > 1]
    return result.models[max(hashed)][0].index if hashed else None


class LearnPanel(widgets.VBox):
    """Choose an experiment, set it, run it in the background, watch it, stop it."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.jobs = JobControls(state, "Learn", css="psv-learn", bar_width="300px")
        self.result: Any = None
        self.experiment = widgets.ToggleButtons(options=EXPERIMENTS, value=EXPERIMENTS[0])
        self.experiment.add_class("psv-learn-experiment")
        self.jobs.locked.append(self.experiment)  # a run's sub-tab stays on show until it ends
        self.intro = widgets.HTML()
        # Soft tying
        self.lam = widgets.Text(value="0.01", description="λ", **FIELD)
        self.lams = widgets.Text(value=", ".join("inf" if math.isinf(v) else f"{v:g}" for v in DEFAULT_LAMS),
                                 description="λ sweep", style=FIELD["style"], layout=widgets.Layout(width="360px"))
        # IntText, not BoundedIntText: a bounded box rewrites 20000 to 5000 without a word; job() refuses it
        self.steps = widgets.IntText(value=300, description="Steps", **FIELD)
        # GrOWL
        self.penalty = widgets.Dropdown(options=[("GrOWL", "growl"), ("L1 (Lasso)", "l1")], description="Penalty", **FIELD)
        self.weights = widgets.Dropdown(options=[("linear (OSCAR)", "linear"), ("spike", "spike")], description="Weights", **FIELD)
        defaults = GrowlConfig()
        self.lambda1 = widgets.FloatText(value=defaults.lambda1, step=0.01, description="λ1 (sparsity)", **FIELD)
        self.lambda2 = widgets.FloatText(value=defaults.lambda2, step=0.001, description="λ2 (tying)", **FIELD)
        self.cluster = widgets.Dropdown(options=[("affinity propagation", "affinity"), ("threshold", "threshold")],
                                        description="Clustering", **FIELD)
        self.dataset = widgets.Dropdown(options=[("planted groups", "planted"), ("digits", "digits")], description="Data", **FIELD)
        # HashedNets
        self.compressions = widgets.Text(value="1, 2, 4, 8, 16, 32, 64", description="Compressions",
                                         style=FIELD["style"], layout=widgets.Layout(width="360px"))
        self.controls = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.run = self.jobs.button("run", "Train", "play", lambda: self.start(sweep=False), primary=True)
        self.sweep = self.jobs.button("sweep", "Sweep λ", "sliders", lambda: self.start(sweep=True))
        self.summary = widgets.HTML()
        self.summary.add_class("psv-learn-result")
        self.plot = PlotOutput(css_class="psv-learn-plot", placeholder=PLACEHOLDER)
        # What each sub-tab last showed (figure, summary, progress), restored when it is chosen again
        self._shown: dict[str, tuple[Any, str, tuple[int, int, str]]] = {}
        self.experiment.observe(lambda _c: self._show_controls(), names="value")
        super().__init__([
            self.experiment,
            self.intro,
            self.controls,
            widgets.HBox([self.run, self.sweep, self.jobs]),
            self.summary,
            self.plot,
        ])
        self._show_controls()

    def _show_controls(self) -> None:
        """The chosen sub-tab's controls, and what it last showed (nothing of another sub-tab's run)."""
        name = self.experiment.value
        self.intro.value = f"<div style='color:var(--jp-ui-font-color1,#374151);margin:4px 0'>{html.escape(INTRO[name])}</div>"
        self.controls.children = {
            "Soft tying": [self.lam, self.steps, self.lams],
            "GrOWL": [self.dataset, self.penalty, self.weights, self.lambda1, self.lambda2, self.cluster],
            "HashedNets": [self.compressions, self.steps],
        }[name]
        self.sweep.layout.display = "" if name == "Soft tying" else "none"
        fig, summary, (done, total, text) = self._shown.get(name, (None, "", (0, 1, "")))
        if fig is None:
            self.plot.figure = None
            self.plot.placeholder(PLACEHOLDER)
        else:
            self.plot.show(fig)
        self.summary.value = summary
        self.jobs.show_progress(done, total, text)

    # --- running -----------------------------------------------------------------

    def job(self, sweep: bool) -> tuple[str, Callable[[threading.Event, Callable[[int, int], None]], Any]]:
        """What to run for the current controls: (a description, work(stop, progress)); ValueError if invalid."""
        name = self.experiment.value
        steps = int(self.steps.value)
        if name != "GrOWL":  # GrOWL's steps are its config's; the Steps box is not among its controls
            check_steps(steps)
        if name == "Soft tying" and sweep:
            lams = read_numbers(self.lams.value, float, **LAM_MESSAGES)
            config = SoftTyingConfig(steps=steps)
            return f"soft tying over {len(lams)} values of λ", lambda stop, p: soft_tying_sweep(lams, config, progress=p, stop=stop)
        if name == "Soft tying":
            lam = read_numbers(self.lam.value, float, **LAM_MESSAGES)
            if len(lam) != 1:
                raise ValueError(f"λ={self.lam.value!r}: give one value here (the sweep takes several)")
            config = SoftTyingConfig(lam=lam[0], steps=steps)
            return f"soft tying at λ = {lam_label(lam[0])}", lambda stop, p: train_soft_tied(config, progress=p, stop=stop)
        if name == "GrOWL":
            growl = GrowlConfig(penalty=self.penalty.value, weights=self.weights.value,
                                lambda1=check_lambda("λ1", float(self.lambda1.value)),
                                lambda2=check_lambda("λ2", float(self.lambda2.value)), cluster=self.cluster.value)
            data = planted_groups() if self.dataset.value == "planted" else digits()
            label = "GrOWL" if growl.penalty == "growl" else "L1"
            return f"{label} two-stage on {data.name}", lambda stop, p: two_stage(growl, data, progress=p, stop=stop)
        whole = f"compressions={self.compressions.value!r} must be positive whole numbers, e.g. 1, 4, 16"
        compressions = read_numbers(self.compressions.value, int, empty=whole, bad=whole)
        if any(v < 1 for v in compressions):
            raise ValueError(whole)
        return (f"HashedNets at {plural(len(compressions), 'compression')}",
                lambda stop, p: hashing_tradeoff(compressions, steps=steps, progress=p, stop=stop))

    def start(self, *, sweep: bool = False) -> None:
        try:
            what, work = self.job(sweep)
        except ValueError as err:
            self.jobs.refuse(str(err))
            return
        self.jobs.start("train", f"training {what}…", work, lambda result: self._done(what, result),
                        lambda err: self.jobs.fail(f"training {what}", err), progress=self._show_progress,
                        stopping="stopping after the step in hand; what was trained is kept…")

    def _show_progress(self, done: int, total: int, note: str = "") -> None:
        self.jobs.show_progress(done, total, f"{done:,} / {total:,} steps{note}")

    def _done(self, what: str, result: Any) -> None:
        self.result = result
        if isinstance(result, SoftTyingRun):
            fig, lines = make_soft_tying_figure(result), soft_tying_summary(result)
        elif isinstance(result, SoftTyingSweep):
            fig, lines = make_tradeoff_figure(result.rows()), sweep_summary(result)
        elif isinstance(result, GrowlResult):
            groups = planted_groups().groups if result.dataset.startswith("planted") else None
            fig, lines = make_growl_figure(result, groups), growl_summary(result)
        else:
            fig, lines = make_hashing_figure(result.points, most_compressed_index(result)), hashing_summary(result)
        self.plot.show(fig)
        self.summary.value = summary_html(lines)
        stopped = getattr(result, "stopped", False)
        # The bar ends at the steps the result covers (a throttled update may have lagged behind).
        self._show_progress(result.steps_done, result.total_steps, " (stopped)" if stopped else "")
        self._shown[self.experiment.value] = (fig, self.summary.value,
                                              (result.steps_done, result.total_steps, self.jobs.line.value))
        collapsed = getattr(result, "collapsed", "")
        if collapsed:
            self.state.error(f"Learn: {what} collapsed: {collapsed}. Lower λ1 or λ2 for a useful result.")
        else:
            self.state.info(f"Learn: {what} {'stopped; kept what was trained' if stopped else 'finished'}.")
