"""Compare tab: the shared model vs its unshared twin, measured; and a sweep of one size knob.

The setting (form, config, device, dtype) is Explore's, read from the one
:class:`AppState`. Every measurement runs in a :class:`Worker` thread, not on
the kernel's main thread: torch releases the GIL inside its kernels, so while a
sweep times models the kernel keeps answering widget messages and the rest of
the page stays usable. (An asyncio task would not help: the work never awaits,
so it would hold the event loop just the same.) Results come back to the
kernel's thread through its event loop, where every widget is edited.
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
import torch

from paramshare_viz.app.plot_output import PlotOutput
from paramshare_viz.app.state import AppState
from paramshare_viz.app.worker import Worker, on_kernel_thread
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
from paramshare_viz.plots import theme
from paramshare_viz.plots.bench_figures import (
    SWEEP_METRICS,
    make_compare_figure,
    make_roofline_figure,
    make_sweep_figure,
)
from paramshare_viz.plots.compare_table import compare_table_html, data_link, sweep_csv, sweep_report_html
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


def parse_values(text: str, knob: str) -> list[int]:
    """``"4, 8 16"`` -> ``[4, 8, 16]``; a plain message naming the field otherwise."""
    tokens = [t for t in text.replace(",", " ").split() if t]
    if not tokens:
        raise ValueError(f"sweep values for {knob} are empty; type a few sizes, e.g. 8, 16, 32")
    values = []
    for t in tokens:
        try:
            values.append(int(t))
        except ValueError:
            raise ValueError(f"sweep value {t!r} for {knob} is not a whole number") from None
    return values


def oom_message(what: str, err: BaseException) -> str:
    """CUDA out of memory, in plain words (the allocator's message is long and technical)."""
    return (
        f"The GPU ran out of memory while measuring {what}. Try a smaller size or batch, "
        f"or float16/bfloat16, or the CPU. ({str(err).splitlines()[0][:160]})"
    )


def placeholder_figure(text: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(**theme.base_layout(""))
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font_size=15)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


class ComparePanel(widgets.VBox):
    """Shared vs twin at Explore's setting: a table, one figure (bars, roofline or sweep), a sweep."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.worker = Worker()
        self.timing, self.sweep_timing = TIMING, SWEEP_TIMING
        self.measurement: TwinMeasurement | None = None
        self.result: SweepResult | None = None
        self._rows: list[dict[str, Any]] = []
        self._sweep_id = 0  # bumped when the form changes: a sweep of the old form is dropped
        self._lock = threading.Lock()

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
        self.measure_button = widgets.Button(description="Measure", button_style="primary", icon="play")
        self.measure_button.add_class("psv-measure")
        self.measure_button.on_click(lambda _b: self.measure())
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
        # One plot for the whole tab, switched between views: a plain go.Figure shown in an
        # Output through plotly's mime renderer (the jupyterlab-plotly extension, from the
        # package), not a FigureWidget: no widget state that carries plotly.js, and no
        # edit messages that a page still loading plotly.js can drop.
        self.plot = PlotOutput(css_class="psv-compare-plot", placeholder="Measuring…")

        self.knob = widgets.Dropdown(description="Size knob", layout=widgets.Layout(width="260px"))
        self.knob.add_class("psv-knob")
        self.values = widgets.Text(description="Values", layout=widgets.Layout(width="300px"),
                                   placeholder="e.g. 8, 16, 32, 64")
        self.values.add_class("psv-sweep-values")
        self.knob.observe(lambda _c: self._default_values(), names="value")
        self.sweep_button = widgets.Button(description="Run sweep", icon="line-chart")
        self.sweep_button.add_class("psv-sweep")
        self.sweep_button.on_click(lambda _b: self.run_sweep())
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True, button_style="warning")
        self.stop_button.add_class("psv-stop")
        self.stop_button.on_click(lambda _b: self.stop())
        self.progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="260px"))
        self.progress_text = widgets.HTML()
        self.progress_text.add_class("psv-progress")
        self.downloads = widgets.HTML()
        self.downloads.add_class("psv-downloads")

        state.observe(self._on_setting, names=["form", "overrides", "device", "dtype"])
        super().__init__([
            self.setting,
            widgets.HBox([self.threads, self.budget, self.batch, self.measure_button]),
            self.table,
            widgets.HBox([self.view, self.metric]),
            self.plot,
            widgets.HTML("<b>Sweep</b>: both models at each value of one size knob, the other fields as in Explore."),
            widgets.HBox([self.knob, self.values, self.sweep_button, self.stop_button]),
            widgets.HBox([self.progress, self.progress_text]),
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
        if change is not None and self.measurement is None and not self.worker.running:
            if change["name"] == "device" and change["old"] == "meta" and self._check_device() is None:
                self.measure()  # never measured because the device was meta: fill it now, as on opening
            else:
                self.redraw()  # the placeholder says what to do, never "Measuring…" while nothing runs

    def _drop_sweep(self) -> None:
        """Another form: the old sweep's chart, progress line and downloads go (a running one is stopped)."""
        self._sweep_id += 1
        if self.worker.running and not self.stop_button.disabled:
            self.worker.stop()
        with self._lock:
            self._rows = []
        self.result = None
        self.progress.max, self.progress.value = 1, 0
        self.progress_text.value = ""
        self.downloads.value = ""
        if self.view.value == "Sweep":
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
            return ("Compare times real computation, and Explore's device is 'meta' (counting only, no data); "
                    "choose cpu or cuda in Explore.")
        if self.state.dtype not in DTYPES:
            return f"dtype={self.state.dtype!r} is not one of {list(DTYPES)}"
        return None

    # --- running -------------------------------------------------------------------------

    def _running(self, kind: str | None) -> None:
        """Buttons for ``kind`` of work running (``"measure"``, ``"sweep"``) or none."""
        self.measure_button.disabled = kind is not None
        self.sweep_button.disabled = kind is not None
        self.stop_button.disabled = kind != "sweep"

    def measure(self) -> None:
        """Measure shared vs twin at the current setting, in the worker."""
        problem = self._check_device()
        if problem:
            self.state.error(problem)
            if self.measurement is None:
                self.redraw()  # says why nothing is measured (the plot starts as "Measuring…")
            return
        form, device, dtype = self.state.form, self.state.device, self.state.dtype
        overrides, batch, threads = self._overrides(), self.batch.value, self.threads.value
        timing = self.timing or BUDGETS[self.budget.value]
        self._running("measure")
        self.state.busy(f"Compare: measuring {form} and its twin on {device} ({plural(threads, 'thread')})…")

        def work(_stop: threading.Event) -> TwinMeasurement:
            return measure_twins(form, device=device, dtype=dtype, batch=batch, threads=threads,
                                 timing=timing, **overrides)

        # The worker delivers both on the kernel's thread, where widgets are edited.
        self.worker.start(work, self._measured, lambda err: self._failed(f"{form} and its twin", err))
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
        self._running(None)  # last: buttons come back once the page shows the whole outcome

    def run_sweep(self) -> None:
        """Sweep the chosen knob over the typed values, in the worker, drawing as points arrive."""
        problem = self._check_device()
        knob = self.knob.value
        if problem is None and knob is None:
            problem = f"{self.state.form} has no size knob to sweep"
        try:
            values = parse_values(self.values.value, knob) if problem is None else []
        except ValueError as err:
            problem = str(err)
        if problem:
            self.state.error(problem)
            return
        form, device, dtype = self.state.form, self.state.device, DTYPES[self.state.dtype]
        fixed = {k: v for k, v in self._overrides().items() if k != knob}
        batch, threads = self.batch.value, self.threads.value
        self._sweep_id += 1
        sweep_id = self._sweep_id
        with self._lock:
            self._rows = []
        self.result = None
        self.progress.max, self.progress.value = len(values), 0
        self.progress_text.value = f"0 of {len(values)} values"
        self.downloads.value = ""
        self._running("sweep")
        self.view.value = "Sweep"  # redraws: an empty sweep view until the first point lands
        self.state.busy(f"Compare: sweeping {form} over {knob} = {values} on {device}…")

        def on_point(done: int, total: int, row: dict[str, Any]) -> None:
            with self._lock:
                if sweep_id == self._sweep_id:
                    self._rows.append(row)
            show_on_kernel(done, total, row)

        def show_point(done: int, total: int, row: dict[str, Any]) -> None:
            if sweep_id != self._sweep_id:
                return  # a sweep of another form, stopped: its points are not shown
            self.progress.value = done
            self.progress_text.value = f"{done} of {total} values ({knob}={row[knob]})"
            if self.view.value == "Sweep":
                self._show_sweep_view()

        def work(stop: threading.Event) -> SweepResult:
            return sweep(form, knob, values, progress=on_point, cancel=stop, device=device, dtype=dtype,
                         batch=batch, threads=threads, timing=self.sweep_timing, bar=False, **fixed)

        def swept(result: SweepResult) -> None:
            if sweep_id != self._sweep_id:
                self._running(None)  # dropped when the form changed; only the buttons come back
                return
            self._swept(result)

        def failed(err: BaseException) -> None:
            if sweep_id != self._sweep_id:
                self._running(None)
                return
            self._keep_partial(form, knob, values, fixed, device)
            self._failed(f"{form} at {knob} = {values[len(self._rows)] if len(self._rows) < len(values) else values[-1]}",
                         err)

        show_on_kernel = on_kernel_thread(show_point)  # wrapped here, on the kernel's thread
        self.worker.start(work, swept, failed)

    def _keep_partial(self, form: str, knob: str, values: list[int], fixed: dict[str, Any], device: str) -> None:
        """After an error, the rows measured before it are a result too."""
        with self._lock:
            rows = list(self._rows)
        if rows:
            self.result = SweepResult(form, knob, values, rows=rows, cancelled=True, overrides=fixed, device=device,
                                      threads=self.threads.value)
            self._show_downloads()

    def stop(self) -> None:
        """Stop the sweep after the point being measured; the rows measured so far are kept."""
        self.stop_button.disabled = True
        self.state.busy("Compare: stopping after the point being measured…")
        self.worker.stop()

    def _swept(self, result: SweepResult) -> None:
        self.result = result
        n, total = len(result.rows), len(result.values)
        self.progress_text.value = f"{n} of {total} values" + (" (stopped)" if result.cancelled else "")
        self._show_downloads()
        if self.view.value == "Sweep":
            self._show_sweep_view()
        if result.cancelled:
            self.state.info(f"Compare: sweep stopped after {n} of {total} values; the {n} measured are kept.")
        else:
            self.state.info(f"Compare: sweep of {result.form} over {result.knob} done, {n} values.")
        self._running(None)

    def _failed(self, what: str, err: BaseException) -> None:
        if self.measurement is None and self.view.value != "Sweep":
            self.plot.placeholder("Nothing measured: see the status line, then press Measure.")
        if isinstance(err, torch.OutOfMemoryError):
            if torch.cuda.is_available():
                torch.cuda.empty_cache()  # hand the failed attempt's blocks back before anything else runs
            self.state.error(f"Compare: {oom_message(what, err)}")
        elif isinstance(err, ValueError):
            self.state.error(f"Compare: {err}")
        else:
            self.state.error(f"Compare: measuring {what} failed: {type(err).__name__}: {err}")
        self._running(None)

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

    def _show_sweep_view(self) -> None:
        if self.view.value != "Sweep":
            return
        with self._lock:
            rows = list(self._rows) if self.result is None else list(self.result.rows)
        if not rows:
            self.show(placeholder_figure("Run a sweep: its points appear here as they are measured"))
            return
        partial = {"form": self.state.form, "knob": self.knob.value, "rows": rows}
        if self.result is not None:
            partial = {"form": self.result.form, "knob": self.result.knob, "rows": rows}
        try:
            fig = self._sweep_figure(partial)
        except ValueError as err:
            self.show(placeholder_figure(str(err)))
            return
        self.show(fig)

    def redraw(self) -> None:
        """Show the chosen view in the one figure."""
        m = self.measurement
        if self.view.value == "Sweep":
            self._show_sweep_view()
        elif m is None:
            problem = self._check_device()
            if self.worker.running:
                self.plot.placeholder("Measuring…")
            elif problem:
                self.plot.placeholder(f"Nothing measured. {problem}")
            else:
                self.plot.placeholder("Nothing measured yet: press Measure.")
        elif self.view.value == "Roofline":
            self.show(make_roofline_figure(list(m.points), m.roof))
        else:
            title = f"{m.form}: twin ÷ shared, × the shared model (hover for both values)"
            fig = make_compare_figure(m.row, title=title)
            fig.update_xaxes(type="category")
            self.show(fig)

    @property
    def figure(self) -> go.Figure | None:
        """The figure on show."""
        return self.plot.figure

    def show(self, fig: go.Figure) -> None:
        """Show ``fig`` in the one plot (the output is replaced in place)."""
        self.plot.show(fig)
