"""Explore tab: pick a sharing form, set its config, device and dtype; see both twins' counts.

The panel holds widgets only: each change makes the config once, and
:func:`paramshare_viz.views.explore.explore_view` computes everything shown
(in the panel's worker, or at once for quick settings); the panel assigns it.
Headless (tests, benchmarks), the way in is the dashboard itself:
``make_dashboard().tabs.panel("Explore").editor.inputs["kernel_size"].value = "5"``.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from paramshare_viz import zoo
from paramshare_viz.analysis.twin_counts import DTYPES
from paramshare_viz.app.config_editor import ConfigEditor
from paramshare_viz.app.graph_view import GraphView
from paramshare_viz.app.state import AppState, in_words
from paramshare_viz.app.worker import Worker
from paramshare_viz.models import presets
from paramshare_viz.views.explore import ExploreView, counting_device, explore_view, form_label, is_quick

#: The preset menu's entries that are not published configs.
DEFAULT, CUSTOM = "default (small)", "custom"


class ExplorePanel(widgets.VBox):
    """Form, preset, config, device and dtype in; cards, parameter bars, the sharing graph and tables out."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.form = widgets.Dropdown(
            options=[(form_label(key), key) for key in zoo.forms()],
            value=state.form, description="Sharing form", style={"description_width": "100px"},
            layout=widgets.Layout(width="860px"),
        )
        self.device = widgets.Dropdown(
            options=zoo.available_devices(), value=state.device, description="Device",
            layout=widgets.Layout(width="190px"),
        )
        self.dtype = widgets.Dropdown(
            options=list(DTYPES), value=state.dtype, description="dtype", layout=widgets.Layout(width="190px")
        )
        for box, name in ((self.form, "form"), (self.device, "device"), (self.dtype, "dtype")):
            box.add_class(f"psv-{name}")
            widgets.link((box, "value"), (state, name))
        self.preset = widgets.Dropdown(
            description="Preset", style={"description_width": "100px"}, layout=widgets.Layout(width="520px")
        )
        self.preset.add_class("psv-preset")
        self.preset_source = widgets.HTML(layout=widgets.Layout(margin="0 0 0 12px"))
        self.preset_source.add_class("psv-preset-source")
        self.preset.observe(self._show_source, names="value")
        self._set_preset_options()
        self.preset.observe(self._on_preset, names="value")
        self.editor = ConfigEditor(on_change=self._on_edit)
        config = zoo.default_config(state.form)  # the library's and the CLI's default: one set of numbers
        self.editor.show(config)
        self.worker = Worker()  # computes each setting's view off the kernel's main thread; the newest wins
        self.view = explore_view(state.form, config, state.device, state.dtype)
        self.cards = widgets.HTML()
        self.cards.add_class("psv-cards-box")
        self.graph = GraphView(graphs=self.view.graphs, note=self.view.graph_note)  # its own front end, no plotly
        self.bars = widgets.HTML()  # HTML bars: no plotly widget at page load
        self.bars.add_class("psv-bars-box")
        self.groups = widgets.HTML()
        self.modules = widgets.HTML()
        # Two accordions, so both can be open; the groups start open, the long module list closed.
        self.groups_box = widgets.Accordion(children=[self.groups], selected_index=0)
        self.modules_box = widgets.Accordion(children=[self.modules], titles=["Modules: calls and parameters"])
        self.graph.side.observe(lambda c: self._show_tables(c["new"]), names="value")  # the tables follow the toggle
        state.observe(self._on_form, names="form")
        state.observe(lambda _c: self.refresh(), names=["device", "dtype"])
        super().__init__([
            widgets.HBox([self.form]),
            widgets.HBox([self.device, self.dtype]),
            widgets.HBox([self.preset, self.preset_source]),
            self.editor,
            self.cards,
            self.bars,
            self.graph,
            self.groups_box,
            self.modules_box,
        ])
        self._show(self.view, self.editor.values())

    def _on_form(self, _change: dict | None = None) -> None:
        self._set_preset_options()
        self._fill(zoo.default_config(self.state.form))
        self.refresh()

    def _fill(self, config) -> None:
        """Show ``config`` in the editor; the field changes this makes are not edits."""
        self._filling = True
        try:
            self.editor.show(config)
        finally:
            self._filling = False

    def _set_preset_options(self) -> None:
        self._filling = True  # choosing the menu's entries is not the user choosing one
        self.preset.options = [DEFAULT, *zoo.presets(self.state.form), CUSTOM]
        self.preset.value = DEFAULT
        self._filling = False

    def _show_source(self, change: dict) -> None:
        text = presets.source(self.state.form, change["new"])
        self.preset_source.value = f'<span style="font-size:12px;opacity:.75">{html.escape(text)}</span>'

    def _on_preset(self, change: dict) -> None:
        """Fill the fields from the chosen preset (or the form's starting size)."""
        if self._filling or change["new"] == CUSTOM:
            return
        overrides = zoo.presets(self.state.form).get(change["new"], {})
        self._fill(zoo.make_config(self.state.form, **overrides))
        self.refresh()

    def _on_edit(self) -> None:
        """A field changed by hand: the menu says "custom" unless the fields still match its entry."""
        if self._filling:
            return
        try:
            values = self.editor.values()
        except ValueError:  # not a number: certainly not the preset (refresh says what is wrong)
            values = None
        form, chosen = self.state.form, self.preset.value
        entry = {} if chosen in (DEFAULT, CUSTOM) else zoo.presets(form)[chosen]
        default = zoo.default_config(form)
        if chosen != CUSTOM and (values is None or any(v != entry.get(k, getattr(default, k)) for k, v in values.items())):
            self._filling = True
            self.preset.value = CUSTOM
            self._filling = False
        self.refresh(values)

    def refresh(self, values: dict | None = None) -> None:
        """Make the config once and compute its view: at once when quick, else in the worker (the status
        line says so, the numbers dim). Every change, a refusal too, is a newer job: the worker drops older ones."""
        form, device, dtype = self.state.form, self.state.device, self.state.dtype
        refusal: Exception | None = None
        typed: dict = {}
        try:
            typed = self.editor.values() if values is None else values  # typed values: parsed once
            config = zoo.make_config(form, **typed)
            where, _ = counting_device(form, config, device, dtype)
            quick = is_quick(form, config, where)
        except Exception as err:  # the UI boundary: said in the status line, the app stays alive
            refusal, quick = err, True

        def work(_stop) -> ExploreView:
            if refusal is not None:
                raise refusal  # an outcome like any other: it supersedes a count still running
            return explore_view(form, config, device, dtype)

        if not quick:
            self._mark_stale(True)
            self.state.busy(
                f"{form}: counting on {where}… The numbers below are for the previous setting until it ends; "
                f"any change replaces this one."
            )
        self.worker.start(work, lambda view: self._show(view, typed), lambda err: self._fail(form, err))
        if quick:
            self.worker.wait()

    def _mark_stale(self, stale: bool) -> None:
        for box in (self.cards, self.bars):
            (box.add_class if stale else box.remove_class)("psv-stale")

    def _fail(self, form: str, err: BaseException) -> None:
        what = in_words(err).removeprefix(f"{form}: ")  # the zoo's budget messages name the form already
        self._mark_stale(True)  # keep the last valid numbers, dimmed
        self.state.error(f"{form}: {what.rstrip('.')}. The numbers below are for the last valid setting.")

    def _show(self, view: ExploreView, values: dict) -> None:
        """Assign ``view`` (of the typed ``values``) in one pass: the number cards and the graph first, then
        the status line, bars and tables (the browser applies the messages in order, a few ms apart)."""
        self.view = view
        self._mark_stale(False)
        self.cards.value = view.cards
        self.graph.show_graphs(view.graphs, view.graph_note)
        self.state.info(view.status)
        self.editor.show_limits(view.counts.config)
        self.state.overrides = dict(values)
        self.bars.value = view.bars
        self._show_tables(self.graph.side.value)

    def _show_tables(self, side: str) -> None:
        """The groups and modules tables of ``side``, the side the graph's toggle shows."""
        tables = self.view.tables[side]
        self.groups.value, self.modules.value = tables.groups, tables.modules
        self.groups_box.titles = [tables.groups_title]
        self.modules_box.titles = [tables.modules_title]
