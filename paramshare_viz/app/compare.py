"""Compare tab: the shared model vs its unshared twin, measured; and a sweep of one size knob.

The setting (form, config, device, dtype) is Explore's, read from the one
:class:`AppState`. Every measurement runs through the tab's :class:`JobControls`
in a worker thread (:mod:`paramshare_viz.app.worker` says why a thread), so the
rest of the page stays usable; results come back on the kernel's thread.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
import torch

from paramshare_viz.app.jobs import JobControls
from paramshare_viz.app.plot_output import PlotOutput
from paramshare_viz.app.state import AppState
from paramshare_viz.bench.sweep import SWEEP_TIMING as SWEEP_TIMING_DEFAULT
from paramshare_viz.bench.sweep import SweepResult, sweep
from paramshare_viz.bench.table import fmt_seconds, fmt_times
from paramshare_viz.bench.twins import (
    CAREFUL_TIMING,
    DTYPES,
    TwinMeasurement,
    default_sweep_values,
    measure_twins,
    size_knobs,
)
from paramshare_viz.plots.bench_figures import (
    SWEEP_METRICS,
    compare_bars_html,
    make_roofline_figure,
    make_sweep_figure,
)
from paramshare_viz.plots.compare_table import compare_table_html, data_link, sweep_csv, sweep_report_html
from paramshare_viz.typed_numbers import read_numbers
from paramshare_viz.units import plural

#: Timing budgets of one measurement: a quick look (a sweep point's budget) or ``time_model``'s.
BUDGETS = {"quick": dict(SWEEP_TIMING_DEFAULT), "careful": dict(CAREFUL_TIMING)}
#: When set, these replace the budgets above (tests set tiny ones).
TIMING: dict[str, Any] | None = None
SWEEP_TIMING: dict[str, Any] | None = None

VIEWS = ("Shared vs twin", "Roofline", "Sweep")
#: Sweep metrics offered in the menu (keys of SWEEP_METRICS), in menu order.
SWEEP_MENU = (
    "time", "time_bwd", "ratio", "params", "held", "memory", "peak", "flops", "achieved_flops", "intensity",
)


class ComparePanel(widgets.VBox):
    """Shared vs twin at Explore's setting: a table, one figure (bars, roofline or sweep), a sweep."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.jobs = JobControls(state, "Compare", css="psv")
        self.measurement: TwinMeasurement | None = None
        self.result: SweepResult | None = None
        self._rows: list[dict[str, Any]] = []  # the points of the sweep on show, while it runs

        self.setting = widgets.HTML()
        self.setting.add_class("psv-compare-setting")
        n_cpu = torch.get_num_threads()
        self.threads = widgets.Dropdown(
            options=[("1 (steadiest)", 1)] + ([(f"all {n_cpu}", n_cpu)] if n_cpu > 1 else []),
            value=1, description="CPU threads", layout=widgets.Layout(width="230px"),
        )
        self.budget = widgets.Dropdown(
            options=[("quick (5 runs)", "quick"), ("careful (10 runs, 0.2 s)", "careful")], value="quick",
            description="Timing", layout=widgets.Layout(width="260px"),
        )
        self.batch = widgets.BoundedIntText(value=2, min=1, max=4096, description="Batch", layout=widgets.Layout(width="150px"))
        self.measure_button = self.jobs.button("measure", "Measure", "play", self.measure, primary=True)
        self.table = widgets.HTML()
        self.table.add_class("psv-compare-table")

        self.view = widgets.ToggleButtons(options=VIEWS, value=VIEWS[0], style={"button_width": "130px"})
        self.view.add_class("psv-compare-view")
        self.metric = widgets.Dropdown(
            options=[(SWEEP_METRICS[k][1], k) for k in SWEEP_MENU], value="time", description="Sweep shows",
            style={"description_width": "initial"}, layout=widgets.Layout(width="440px"),
        )
        self.view.observe(lambda _c: self.redraw(), names="value")
        self.metric.observe(lambda _c: self._show_sweep_view(), names="value")
        # One plot for the roofline, the sweep and the placeholders: a plain go.Figure sent as its JSON
        # to a PlotOutput (plotly.js comes once per page, with its first figure), not a
        # FigureWidget: no widget state that carries plotly.js, and no edit messages that a page
        # still loading plotly.js can drop.
        self.plot = PlotOutput(css_class="psv-compare-plot", placeholder="Measuring…")
        # The twin ÷ shared bars are plain HTML shown in the plot's place: the tab's first view, once
        # measured, needs no plotly.js.
        self.bars = widgets.HTML(layout=widgets.Layout(display="none"))
        self.bars.add_class("psv-compare-bars")

        self.knob = widgets.Dropdown(description="Size knob", layout=widgets.Layout(width="260px"))
        self.knob.add_class("psv-knob")
        self.values = widgets.Text(description="Values", layout=widgets.Layout(width="300px"),
                                   placeholder="e.g. 8, 16, 32, 64")
        self.values.add_class("psv-sweep-values")
        self.knob.observe(lambda _c: self._default_values(), names="value")
        self.sweep_button = self.jobs.button("sweep", "Run sweep", "line-chart", self.run_sweep)
        self.downloads = widgets.HTML()
        self.downloads.add_class("psv-downloads")

        state.observe(self._on_setting, names=["form", "overrides", "device", "dtype"])
        super().__init__([
            self.setting,
            widgets.HBox([self.threads, self.budget, self.batch, self.measure_button]),
            self.table,
            widgets.HBox([self.view, self.metric]),
            self.plot,
            self.bars,
            widgets.HTML("<b>Sweep</b>: both models at each value of one size knob, the other fields as in Explore."),
            widgets.HBox([self.knob, self.values, self.sweep_button]),
            self.jobs,
            self.downloads,
        ])
        self._on_setting()
        self.measure()  # the tab just opened: fill it without a click (in the worker)

    # --- the setting ---------------------------------------------------------------------

    def _overrides(self) -> dict[str, Any]:
        return dict(self.state.overrides) or {}

    def _on_setting(self, change: dict | None = None) -> None:
        stale = change is not None and self.measurement is not None
        self._show_setting(stale)
        if change is None or change["name"] == "form":
            if change is not None:
                self._drop_sweep()
            knobs = size_knobs(self.state.form)
            self.knob.options = knobs
            self.knob.value = knobs[0] if knobs else None
            self._default_values()
        if stale:
            self.table.add_class("psv-stale")  # last numbers stay, dimmed, until measured again
        if change is not None and self.measurement is None and self.jobs.kind is None:
            if change["name"] == "device" and change["old"] == "meta" and self._check_device() is None:
                self.measure()  # never measured because the device was meta: fill it now, as on opening
            else:
                self.redraw()  # the placeholder says what to do, never "Measuring…" while nothing runs

    def _drop_sweep(self) -> None:
        """Another form: the old sweep's chart, progress line and downloads go (a running one is dropped)."""
        if self.jobs.kind == "sweep":
            self.jobs.drop()
        self._rows, self.result = [], None
        self.jobs.show_progress(0, 1, "")
        self.downloads.value = ""
        self._show_sweep_view()

    def _show_setting(self, stale: bool) -> None:
        form = self.state.form
        setting = ", ".join(f"{k}={v}" for k, v in self._overrides().items()) or "defaults"
        note = " <i>Changed since the numbers below were measured: press Measure.</i>" if stale else ""
        self.setting.value = (
            f"<div style='margin:4px 0'><b>{html.escape(form)}</b> ({html.escape(setting)}) on "
            f"<b>{html.escape(self.state.device)}</b> in <b>{html.escape(self.state.dtype)}</b>, set in Explore."
            f"{note}</div>"
        )

    def _same_config(self, m: TwinMeasurement) -> bool:
        """Whether ``m`` measured the config now set (compared as configs: defaults spelled out or not)."""
        from paramshare_viz import zoo

        try:
            return zoo.make_config(m.form, **m.overrides) == zoo.make_config(m.form, **self._overrides())
        except ValueError:
            return False

    def _default_values(self) -> None:
        if self.knob.value is None:
            self.values.value = ""
            return
        try:
            values = default_sweep_values(self.state.form, self.knob.value, self._overrides())
        except ValueError:
            values = []
        self.values.value = ", ".join(map(str, values))

    def _check_device(self) -> str | None:
        if self.state.device == "meta":
            return ("Explore's device is 'meta' (counting only, no data), and Compare times real computation: "
                    "choose cpu or cuda in Explore")
        if self.state.dtype not in DTYPES:
            return f"dtype={self.state.dtype!r} is not one of {list(DTYPES)}"
        return None

    # --- running -------------------------------------------------------------------------

    def measure(self) -> None:
        """Measure shared vs twin at the current setting, in the worker."""
        problem = self._check_device()
        if problem:
            self.jobs.refuse(problem)
            if self.measurement is None:
                self.redraw()  # says why nothing is measured (the plot starts as "Measuring…")
            return
        form, device, dtype = self.state.form, self.state.device, self.state.dtype
        overrides, batch, threads = self._overrides(), self.batch.value, self.threads.value
        timing = TIMING or BUDGETS[self.budget.value]

        def work(_stop: Any) -> TwinMeasurement:
            return measure_twins(form, device=device, dtype=dtype, batch=batch, threads=threads,
                                 timing=timing, **overrides)

        def failed(err: BaseException) -> None:
            if self.measurement is None and self.view.value != "Sweep":
                self._show_plot()
                self.plot.placeholder("Nothing measured: see the status line, then press Measure.")
            self.jobs.fail(f"measuring {form} and its twin", err)

        self.jobs.start("measure", f"measuring {form} and its twin on {device} ({plural(threads, 'thread')})…",
                        work, self._measured, failed)
        if self.measurement is None and self.view.value != "Sweep":
            self.redraw()  # "Measuring…" while (and only while) it runs

    def _measured(self, m: TwinMeasurement) -> None:
        from paramshare_viz.models import registry

        self.measurement = m
        shared_label, twin_label = registry.get(m.form).side_labels
        self.table.value = compare_table_html(m, shared_label=shared_label, twin_label=twin_label)
        # the setting may have changed while it was measured: then it is shown dimmed, as after any change
        stale = (m.form, m.dtype) != (self.state.form, self.state.dtype) or not self._same_config(m)
        (self.table.add_class if stale else self.table.remove_class)("psv-stale")
        self._show_setting(stale=stale)
        r = m.row
        noise = f" ({r['time_fwd_noise']})" if r["time_fwd_noise"] else ""
        self.state.info(
            f"Compare: {m.form} measured on {m.device_name} ({plural(m.threads, 'thread')}): forward "
            f"{fmt_seconds(r['time_fwd_shared_s'])} shared vs {fmt_seconds(r['time_fwd_unshared_s'])} twin, "
            f"{fmt_times(r['time_fwd_twin_over_shared'])} twin ÷ shared{noise}; "
            f"parameters {r['params_shared']:,} vs {r['params_unshared']:,}."
        )
        if self.view.value != "Sweep":
            self.redraw()

    def run_sweep(self) -> None:
        """Sweep the chosen knob over the typed values, in the worker, drawing as points arrive."""
        problem = self._check_device()
        knob = self.knob.value
        if problem is None and knob is None:
            problem = f"{self.state.form} has no size knob to sweep"
        try:
            values = read_numbers(
                self.values.value, int, empty=f"sweep values for {knob} are empty; type a few sizes, e.g. 8, 16, 32",
                bad=f"sweep value {{value}} for {knob} is not a whole number",
            ) if problem is None else []
        except ValueError as err:
            problem = str(err)
        if problem:
            self.jobs.refuse(problem)
            return
        form, device, dtype = self.state.form, self.state.device, DTYPES[self.state.dtype]
        fixed = {k: v for k, v in self._overrides().items() if k != knob}
        batch, threads = self.batch.value, self.threads.value
        self._rows, self.result = [], None
        self.jobs.show_progress(0, len(values), f"0 of {len(values)} values")
        self.downloads.value = ""
        rows: list[dict[str, Any]] = []  # this sweep's points, appended in the worker as they are measured

        def work(stop: Any, report: Callable[..., None]) -> SweepResult:
            def on_point(done: int, total: int, row: dict[str, Any]) -> None:
                rows.append(row)
                report(done, total, list(rows))

            return sweep(form, knob, values, progress=on_point, cancel=stop, device=device, dtype=dtype,
                         batch=batch, threads=threads, timing=SWEEP_TIMING, bar=False, **fixed)

        def show_points(done: int, total: int, so_far: list[dict[str, Any]]) -> None:
            self._rows = so_far
            self.jobs.show_progress(done, total, f"{done} of {total} values ({knob}={so_far[-1][knob]})")
            self._show_sweep_view()

        def failed(err: BaseException) -> None:
            if rows:  # the points measured before the error are a result too
                self.result = SweepResult(form, knob, values, rows=list(rows), cancelled=True, overrides=fixed,
                                          device=device, threads=threads)
                self._show_downloads()
            self.jobs.fail(f"measuring {form} at {knob} = {values[min(len(rows), len(values) - 1)]}", err)

        self.jobs.start("sweep", f"sweeping {form} over {knob} = {values} on {device}…", work, self._swept, failed,
                        progress=show_points, stopping="stopping after the point being measured…")
        self.view.value = "Sweep"  # redraws: an empty sweep view until the first point lands

    def _swept(self, result: SweepResult) -> None:
        self.result = result
        n, total = len(result.rows), len(result.values)
        self.jobs.show_progress(n, total, f"{n} of {total} values" + (" (stopped)" if result.cancelled else ""))
        self._show_downloads()
        self._show_sweep_view()
        if result.cancelled:
            self.state.info(f"Compare: sweep stopped after {n} of {total} values; the {n} measured are kept.")
        else:
            self.state.info(f"Compare: sweep of {result.form} over {result.knob} done, {n} values.")

    # --- the one figure --------------------------------------------------------------------

    def _show_downloads(self) -> None:
        result = self.result
        if result is None or not result.rows:
            self.downloads.value = ""
            return
        name = f"{result.form}-{result.knob}-sweep"
        figure = self._sweep_figure(result)
        self.downloads.value = (
            data_link(sweep_csv(result), f"{name}.csv", "text/csv", "CSV")
            + data_link(sweep_report_html(result, figure, dtype=self.state.dtype), f"{name}.html", "text/html",
                        "HTML report (figure and rows)")
        )

    def _sweep_figure(self, result: Any) -> go.Figure:
        fig = make_sweep_figure(result, metric=self.metric.value)
        fig.update_xaxes(type="log")  # sizes double: equal steps on a log axis
        return fig

    def _show_plot(self, bars: str = "") -> None:
        """The plot, or (given their HTML) the bars in its place."""
        self.bars.value = bars
        self.bars.layout.display = "" if bars else "none"
        self.plot.layout.display = "none" if bars else ""

    def _show_sweep_view(self) -> None:
        if self.view.value != "Sweep":
            return
        self._show_plot()
        rows = self._rows if self.result is None else self.result.rows
        if not rows:
            self.plot.placeholder("Run a sweep: its points appear here as they are measured")
            return
        try:
            fig = self._sweep_figure(self.result or {"form": self.state.form, "knob": self.knob.value, "rows": rows})
        except ValueError as err:
            self.plot.placeholder(str(err))
            return
        self.plot.show(fig)

    def redraw(self) -> None:
        """Show the chosen view in the one figure."""
        m = self.measurement
        if self.view.value == "Sweep":
            self._show_sweep_view()
        elif m is None:
            self._show_plot()
            problem = self._check_device()
            if self.jobs.kind is not None:
                self.plot.placeholder("Measuring…")
            elif problem:
                self.plot.placeholder(f"Nothing measured. {problem}")
            else:
                self.plot.placeholder("Nothing measured yet: press Measure.")
        elif self.view.value == "Roofline":
            self._show_plot()
            self.plot.show(make_roofline_figure(list(m.points), m.roof))
        else:
            self._show_plot(compare_bars_html(m.row, title=f"{m.form}: twin ÷ shared, × the shared model"))
