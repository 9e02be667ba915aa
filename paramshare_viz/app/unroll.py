"""Unroll tab: one RNN cell over T steps, or one transformer block over L layers, and its twin."""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from paramshare_viz.app.plot_output import PlotOutput
from paramshare_viz.app.state import AppState, in_words
from paramshare_viz.bench.table import fmt_bytes
from paramshare_viz.models import registry
from paramshare_viz.plots import theme
from paramshare_viz.plots.cards import Card, cards_html
from paramshare_viz.plots.unroll import HEIGHT, make_unroll_figure, tensor_summary, update_unroll_figure
from paramshare_viz.unroll import (
    STEP_FIELD,
    Chain,
    CountCurve,
    GradContributions,
    count_curve,
    grad_contributions,
    unroll_chain,
)

#: The models on offer: menu label -> (form, fixed config overrides).
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "RNN cell over T time steps": ("rnn", {"cell": "rnn"}),
    "GRU cell over T time steps": ("rnn", {"cell": "gru"}),
    "LSTM cell over T time steps": ("rnn", {"cell": "lstm"}),
    "ALBERT block over L layers": ("albert", {}),
    "Universal Transformer block over L layers": ("universal_transformer", {}),
}
#: The slider's range; the counts curve spans all of it.
MIN_STEPS, MAX_STEPS = 2, 32
#: Plotly cannot read CSS variables, so in a dark Jupyter theme the figure's text and grid follow it here.
DARK_CSS = """<style>
body[data-jp-theme-light="false"] .psv-unroll-figure .cartesianlayer text,
body[data-jp-theme-light="false"] .psv-unroll-figure .infolayer text,
body[data-jp-theme-light="false"] .psv-unroll-figure .annotation text {fill: var(--jp-ui-font-color1) !important}
body[data-jp-theme-light="false"] .psv-unroll-figure .gridlayer path,
body[data-jp-theme-light="false"] .psv-unroll-figure .zerolinelayer path {stroke: rgba(255,255,255,.14) !important}
</style>"""
#: The figure's width on the page (the dashboard is at most 1100 px wide).
FIGURE_WIDTH = 1060
#: Debounce for the gradient: a slider drag asks many times, only the last request is computed.
GRAD_DELAY_S = 0.15


def times(ratio: float) -> str:
    return f"{ratio:,.1f}×"


class UnrollPanel(widgets.VBox):
    """Model, T or L, shared/twin and width in; counts, the chain and the gradient split by step out."""

    def __init__(self, state: AppState) -> None:
        from paramshare_viz.app.worker import Worker

        self.state = state
        self.worker = Worker()
        self._lock = threading.Lock()  # the worker thread and the page both update the figure
        self.model = widgets.Dropdown(options=list(MODELS), value=self._initial_model(), description="Model",
                                      layout=widgets.Layout(width="430px"))
        self.share = widgets.Dropdown(options=["all", "attention", "ffn"], value="all", description="ALBERT shares",
                                      style={"description_width": "100px"}, layout=widgets.Layout(width="230px"))
        self.side = widgets.ToggleButtons(options=[("Shared", True), ("Unshared twin", False)], value=True)
        self.steps = widgets.IntSlider(min=MIN_STEPS, max=MAX_STEPS, description="T steps",
                                       layout=widgets.Layout(width="430px"))
        self.hidden = widgets.IntText(description="Hidden size", style={"description_width": "100px"},
                                      layout=widgets.Layout(width="200px"))
        self.tensor = widgets.Dropdown(description="Gradient of", layout=widgets.Layout(width="430px"))
        for box, name in ((self.model, "model"), (self.share, "share"), (self.side, "side"), (self.steps, "steps"),
                          (self.hidden, "hidden_size"), (self.tensor, "tensor")):
            box.add_class(f"psv-unroll-{name}")
        self.cards = widgets.HTML()
        self.cards.add_class("psv-unroll-cards")
        self.grad_note = widgets.HTML()
        self.grad_note.add_class("psv-unroll-grad")
        self._updating = False  # True while several fields change at once: one refresh at the end
        self._reset_fields()
        self._chain, self._curve = self._compute()  # the defaults are valid
        # The first split is quick (milliseconds at the defaults): the first view is complete.
        self._grads: GradContributions | None = grad_contributions(self.form, self._chain.steps, **self.overrides())
        self._set_tensor_options()
        # One go.Figure, updated in place and shown in an Output through plotly's mime renderer
        # (as Compare does): a FigureWidget made in a live page can open empty and drop edits, and
        # its widget state carries plotly.js (~5 MB) with it.
        self.figure = self._figure().update_layout(width=FIGURE_WIDTH)
        self.plot = PlotOutput(css_class="psv-unroll-figure", min_height=HEIGHT)
        self._push()
        self.model.observe(self._on_model, names="value")
        for box in (self.share, self.steps, self.hidden):
            box.observe(lambda _c: self.refresh(), names="value")
        self.side.observe(lambda _c: self._redraw(), names="value")
        self.tensor.observe(lambda _c: self._redraw(), names="value")
        super().__init__([
            widgets.HTML(DARK_CSS),
            widgets.HBox([self.model, self.share]),
            widgets.HBox([self.steps, self.hidden, self.side]),
            self.cards,
            self.plot,
            widgets.HBox([self.tensor]),
            self.grad_note,
        ])
        self._show(first=True)

    # --- what is selected ---------------------------------------------------------------
    @property
    def form(self) -> str:
        return MODELS[self.model.value][0]

    def overrides(self) -> dict[str, Any]:
        """Config fields of the current selection, the step count excluded."""
        form, fixed = MODELS[self.model.value]
        values = {**fixed, "hidden_size": self.hidden.value}
        if form == "albert":
            values["share"] = self.share.value
        return values

    def _initial_model(self) -> str:
        """Explore's form when it unrolls (with its RNN cell), else the plain RNN."""
        cell = self.state.overrides.get("cell", "rnn") if self.state.form == "rnn" else None
        for label, (form, fixed) in MODELS.items():
            if form == self.state.form and fixed.get("cell") in (None, str(cell)):
                return label
        return next(iter(MODELS))

    def _reset_fields(self) -> None:
        """Slider label and defaults for the current model, from the zoo's default config."""
        form = self.form
        config = registry.get(form).config_cls()
        self.steps.description = "T steps" if STEP_FIELD[form] == "seq_len" else "L layers"
        self.steps.value = getattr(config, STEP_FIELD[form])
        self.hidden.value = config.hidden_size
        self.share.layout.display = None if form == "albert" else "none"

    # --- callbacks --------------------------------------------------------------------------
    def _on_model(self, _change: dict | None = None) -> None:
        self._updating = True  # one refresh for the whole change, not one per field
        try:
            self._reset_fields()
        finally:
            self._updating = False
        self.refresh()

    def _compute(self) -> tuple[Chain, CountCurve]:
        overrides = self.overrides()
        chain = unroll_chain(self.form, self.steps.value, **overrides)
        curve = count_curve(self.form, range(MIN_STEPS, MAX_STEPS + 1), **overrides)
        return chain, curve

    def refresh(self) -> None:
        """Counts and chain now (closed forms, meta device); the gradient split in the worker."""
        if self._updating:
            return
        try:
            self._chain, self._curve = self._compute()
        except Exception as err:  # the UI boundary: say it in the status line, keep the last view
            what = in_words(err)
            self.worker.stop()
            self.cards.add_class("psv-stale")
            self.state.error(f"Unroll, {self.model.value}: {what.rstrip('.')}. The view shows the last valid setting.")
            return
        self.cards.remove_class("psv-stale")
        self._grads = None
        self._set_tensor_options()
        self._show()

    def _set_tensor_options(self) -> None:
        names = [t.name for t in self._chain.tensors]
        keep = self.tensor.value if self.tensor.value in names else None
        default = "cell.weight_hh" if "cell.weight_hh" in names else names[0]
        self._updating = True
        try:
            self.tensor.options = names
            self.tensor.value = keep or default
        finally:
            self._updating = False

    def _figure(self) -> go.Figure:
        return make_unroll_figure(self._chain, self._curve, self._grads, shared=self.side.value,
                                  tensor=self.tensor.value)

    def _redraw(self) -> None:
        if self._updating:
            return
        with self._lock:
            with self.figure.batch_update():
                update_unroll_figure(self.figure, self._chain, self._curve, self._grads, shared=self.side.value,
                                     tensor=self.tensor.value)
            self._push()
        self.grad_note.value = self._grad_html()

    def _push(self) -> None:
        """Show the figure in the page (the output is replaced in place)."""
        self.plot.show(self.figure)

    def _show(self, *, first: bool = False) -> None:
        """Cards, figure and status for the current chain; then start splitting the gradient.

        ``first``: the figure was just built with everything, gradient included; only the text follows.
        """
        chain, form = self._chain, self.form
        spec = registry.get(form)
        config = spec.config_cls(**{**self.overrides(), STEP_FIELD[form]: chain.steps})
        shared, twin = spec.param_count(config, True), spec.param_count(config, False)
        unit = chain.unit
        per = "step" if STEP_FIELD[form] == "seq_len" else "layer"
        self.cards.value = cards_html([
            Card("shared", "Shared model", f"{shared:,}", f"one {unit} reused at {chain.steps} {per}s", theme.SHARED),
            Card("unshared", "Unshared twin", f"{twin:,}", f"{times(twin / shared)} the shared model",
                 theme.UNSHARED),
            Card("bytes", f"Reused {unit} ({chain.dtype})", fmt_bytes(chain.shared_bytes),
                 f"twin: {chain.steps} copies, {fmt_bytes(chain.twin_bytes)}", theme.ACCENT),
        ])
        if first and self._grads is not None:
            self.grad_note.value = self._grad_html()
            self._report(self._grads)
            return
        self._redraw()
        symbol = "T" if per == "step" else "L"
        self.state.info(f"{self.model.value}, {symbol}={chain.steps}: shared {shared:,} parameters, twin {twin:,} "
                        f"({times(twin / shared)}). Splitting the gradient by {per}…")
        self._start_gradient()

    def _report(self, grads: GradContributions) -> None:
        per = "per-step" if STEP_FIELD[grads.form] == "seq_len" else "per-layer"
        self.state.info(f"{self.model.value}: {grads.steps} {per} parts of every reused tensor add up to the "
                        f"shared .grad (max |Σ − .grad| = {grads.max_abs_diff:.1e}).")

    def _start_gradient(self) -> None:
        form, overrides, steps = self.form, self.overrides(), self._chain.steps

        def work(stop: threading.Event) -> GradContributions | None:
            if stop.wait(GRAD_DELAY_S):  # a newer request came in meanwhile
                return None
            return grad_contributions(form, steps, **overrides)

        def done(grads: GradContributions | None) -> None:
            if grads is None:
                return
            self._grads = grads
            self._redraw()
            self._report(grads)

        def failed(err: BaseException) -> None:
            what = in_words(err)
            self.state.error(f"Unroll, {self.model.value}: the gradient could not be split: {what}")

        self.worker.start(work, done, failed)  # delivered on the kernel's thread

    def _grad_html(self) -> str:
        if self._grads is None:
            return "<div class='psv-unroll-grad-text'>Splitting the gradient…</div>"
        part = self._grads.tensor(self.tensor.value)
        return (f"<div class='psv-unroll-grad-text' data-max-diff='{part.max_abs_diff:.3e}'>"
                f"{tensor_summary(part, self._grads.form)}. The shared model's gradient is the sum of one part per use.</div>")
