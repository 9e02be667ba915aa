"""Unroll tab: one RNN cell over T steps, or one transformer block over L layers, and its twin.

:func:`unroll_view` turns :class:`UnrollSettings` into an :class:`UnrollView` (cards, figure,
gradient note, status), pure and run in the worker; :class:`UnrollPanel` reads its controls
into settings and assigns the view's fields to its widgets on the kernel thread.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from paramshare_viz.app.plot_output import PlotOutput
from paramshare_viz.app.state import AppState, in_words
from paramshare_viz.app.worker import Worker
from paramshare_viz.bench.table import fmt_bytes
from paramshare_viz.models import registry
from paramshare_viz.plots import theme
from paramshare_viz.plots.cards import Card, cards_html
from paramshare_viz.plots.unroll import HEIGHT, make_unroll_figure, tensor_summary
from paramshare_viz.typed_numbers import read_number
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
#: Debounce: a slider drag asks many times, only the last request is computed.
DELAY_S = 0.15


def times(ratio: float) -> str:
    return f"{ratio:,.1f}×"


@dataclass(frozen=True)
class UnrollSettings:
    """Everything the Unroll tab's controls set."""

    model: str  # a key of MODELS
    steps: int  # T or L: the form's STEP_FIELD
    hidden_size: int
    share: str = "all"  # ALBERT only
    shared: bool = True  # draw the shared chain, or the twin's
    tensor: str | None = None  # whose gradient to split; None: the cell's weight_hh, else the first

    @property
    def form(self) -> str:
        return MODELS[self.model][0]

    def overrides(self) -> dict[str, Any]:
        """Config fields of this selection, the step count excluded."""
        form, fixed = MODELS[self.model]
        return {**fixed, "hidden_size": self.hidden_size, **({"share": self.share} if form == "albert" else {})}


@dataclass(frozen=True)
class UnrollView:
    """One setting, computed: what each widget of the tab shows."""

    settings: UnrollSettings
    tensors: list[str]  # the "Gradient of" options
    tensor: str  # the one split
    cards: str
    figure: go.Figure
    grad_note: str
    status: str
    failed: bool  # counts and chain shown, the gradient could not be split (status says why)


@functools.lru_cache(maxsize=4)  # settings are frozen: a control returning to a value costs nothing
def _computed(form: str, steps: int, fields: tuple[tuple[str, Any], ...]) -> tuple[Chain, CountCurve, GradContributions | str]:
    """Chain and counts (closed forms, meta device), and the gradient split or why it could not be."""
    overrides = dict(fields)
    chain = unroll_chain(form, steps, **overrides)
    curve = count_curve(form, range(MIN_STEPS, MAX_STEPS + 1), **overrides)
    try:
        return chain, curve, grad_contributions(form, steps, **overrides)
    except (ValueError, RuntimeError) as err:  # too large to train: the counts still stand
        return chain, curve, f"the gradient could not be split: {in_words(err)}"


def unroll_view(s: UnrollSettings) -> UnrollView:
    """Compute one setting; ``ValueError`` naming the field and value when it is not valid."""
    form = s.form
    chain, curve, grads = _computed(form, s.steps, tuple(sorted(s.overrides().items())))
    names = [t.name for t in chain.tensors]
    tensor = s.tensor if s.tensor in names else "cell.weight_hh" if "cell.weight_hh" in names else names[0]
    spec = registry.get(form)
    config = spec.config_cls(**{**s.overrides(), STEP_FIELD[form]: chain.steps})
    shared, twin = spec.param_count(config, True), spec.param_count(config, False)
    per = "step" if STEP_FIELD[form] == "seq_len" else "layer"
    cards = cards_html([
        Card("shared", "Shared model", f"{shared:,}", f"one {chain.unit} reused at {chain.steps} {per}s", theme.SHARED),
        Card("unshared", "Unshared twin", f"{twin:,}", f"{times(twin / shared)} the shared model", theme.UNSHARED),
        Card("bytes", f"Reused {chain.unit} ({chain.dtype})", fmt_bytes(chain.shared_bytes),
             f"twin: {chain.steps} copies, {fmt_bytes(chain.twin_bytes)}", theme.ACCENT),
    ])
    split = grads if isinstance(grads, GradContributions) else None
    figure = make_unroll_figure(chain, curve, split, shared=s.shared, tensor=tensor).update_layout(width=FIGURE_WIDTH)
    if split is None:
        return UnrollView(s, names, tensor, cards, figure, "", f"Unroll, {s.model}: {grads}", failed=True)
    note = (f"<div class='psv-unroll-grad-text' data-max-diff='{split.tensor(tensor).max_abs_diff:.3e}'>"
            f"{tensor_summary(split.tensor(tensor), form)}. The shared model's gradient is the sum of one part per use.</div>")
    status = (f"{s.model}, {'T' if per == 'step' else 'L'}={chain.steps}: shared {shared:,} parameters, twin {twin:,} "
              f"({times(twin / shared)}); its {split.steps} per-{per} parts of every reused tensor add up to the "
              f"shared .grad (max |Σ − .grad| = {split.max_abs_diff:.1e}).")
    return UnrollView(s, names, tensor, cards, figure, note, status, failed=False)


class UnrollPanel(widgets.VBox):
    """Model, T or L, shared/twin and width in; counts, the chain and the gradient split by step out."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.worker = Worker()
        self.model = widgets.Dropdown(options=list(MODELS), value=self._initial_model(), description="Model",
                                      layout=widgets.Layout(width="430px"))
        self.share = widgets.Dropdown(options=["all", "attention", "ffn"], value="all", description="ALBERT shares",
                                      style={"description_width": "100px"}, layout=widgets.Layout(width="230px"))
        self.side = widgets.ToggleButtons(options=[("Shared", True), ("Unshared twin", False)], value=True)
        self.steps = widgets.IntSlider(min=MIN_STEPS, max=MAX_STEPS, description="T steps",
                                       layout=widgets.Layout(width="430px"))
        # Text read by typed_numbers (an IntText rewrites what was typed); read on Enter or leaving the box
        self.hidden = widgets.Text(description="Hidden size", continuous_update=False,
                                   style={"description_width": "100px"}, layout=widgets.Layout(width="200px"))
        self.tensor = widgets.Dropdown(description="Gradient of", layout=widgets.Layout(width="430px"))
        for box, name in ((self.model, "model"), (self.share, "share"), (self.side, "side"), (self.steps, "steps"),
                          (self.hidden, "hidden_size"), (self.tensor, "tensor")):
            box.add_class(f"psv-unroll-{name}")
        self.cards = widgets.HTML()
        self.cards.add_class("psv-unroll-cards")
        self.grad_note = widgets.HTML()
        self.grad_note.add_class("psv-unroll-grad")
        # One go.Figure at a time, sent as its JSON to a PlotOutput (as Compare does):
        # a FigureWidget made in a live page can open empty and drop edits, and carries plotly.js (~5 MB).
        self.plot = PlotOutput(css_class="psv-unroll-figure", min_height=HEIGHT)
        self.view: UnrollView | None = None
        self._updating = False  # True while the panel sets its own controls: no refresh for those
        self._reset_fields()
        self._apply(unroll_view(self.settings()))  # the defaults are valid and quick: the first view is complete
        self.model.observe(self._on_model, names="value")
        for box in (self.share, self.steps, self.hidden, self.side, self.tensor):
            box.observe(lambda _c: self.refresh(), names="value")
        super().__init__([
            widgets.HTML(DARK_CSS),
            widgets.HBox([self.model, self.share]),
            widgets.HBox([self.steps, self.hidden, self.side]),
            self.cards,
            self.plot,
            widgets.HBox([self.tensor]),
            self.grad_note,
        ])

    def settings(self) -> UnrollSettings:
        """The controls as settings; ``ValueError`` naming the box when the width is not a whole number."""
        return UnrollSettings(self.model.value, self.steps.value, read_number("hidden_size", int, self.hidden.value),
                              share=self.share.value, shared=self.side.value, tensor=self.tensor.value)

    def _initial_model(self) -> str:
        """Explore's form when it unrolls (with its RNN cell), else the plain RNN."""
        cell = self.state.overrides.get("cell", "rnn") if self.state.form == "rnn" else None
        for label, (form, fixed) in MODELS.items():
            if form == self.state.form and fixed.get("cell") in (None, str(cell)):
                return label
        return next(iter(MODELS))

    def _reset_fields(self) -> None:
        """Slider label and defaults for the current model, from the zoo's default config."""
        form = MODELS[self.model.value][0]
        config = registry.get(form).config_cls()
        self._updating = True  # one refresh for the whole change, not one per field
        try:
            self.steps.description = "T steps" if STEP_FIELD[form] == "seq_len" else "L layers"
            self.steps.value = getattr(config, STEP_FIELD[form])
            self.hidden.value = str(config.hidden_size)
            self.share.layout.display = None if form == "albert" else "none"
        finally:
            self._updating = False

    def _on_model(self, _change: dict) -> None:
        self._reset_fields()
        self.refresh()

    def refresh(self) -> None:
        """Compute the view of the controls in the worker (the newest request wins); the page stays responsive."""
        if self._updating:
            return
        try:
            s = self.settings()
        except ValueError as err:
            self.worker.stop()  # a view of an earlier setting must not replace the refusal
            self._fail(err)
            return

        def work(stop: threading.Event) -> UnrollView | None:
            return None if stop.wait(DELAY_S) else unroll_view(s)  # a newer request came in meanwhile: None

        self.worker.start(work, self._apply, self._fail)  # delivered on the kernel's thread

    def _fail(self, err: BaseException) -> None:
        """Say it in the status line; the view shows the last valid setting."""
        self.cards.add_class("psv-stale")
        self.state.error(f"Unroll, {self.model.value}: {in_words(err).rstrip('.')}. The view shows the last valid setting.")

    def _apply(self, view: UnrollView | None) -> None:
        """Assign ``view`` to the widgets."""
        if view is None:
            return
        self.view = view
        self._updating = True  # the tensor options change with the model: not a new request
        try:
            self.tensor.options = view.tensors
            self.tensor.value = view.tensor
        finally:
            self._updating = False
        self.cards.remove_class("psv-stale")
        self.cards.value = view.cards
        self.plot.show(view.figure)
        self.grad_note.value = view.grad_note
        (self.state.error if view.failed else self.state.info)(view.status)
