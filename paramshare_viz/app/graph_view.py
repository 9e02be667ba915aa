"""The sharing graph as one widget group: a shared/twin toggle, a "light up" menu, the figure, a line.

Choosing a tensor lights every module that holds it and lists its names;
choosing a module lights its tensors. The figure is a plain ``go.Figure``
shown through plotly's mime renderer (:class:`PlotOutput`), not a
``FigureWidget``: a FigureWidget carries plotly.js (~5 MB) in its widget state,
which made the dashboard's first paint 3.9x a bare Voila page, and one made or
edited while a page loads can open empty. The menu replaces clicks on the
figure (which only a FigureWidget can send back to Python).
"""

from __future__ import annotations

import dataclasses
import html
from collections import OrderedDict
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from paramshare_viz import zoo
from paramshare_viz.analysis.report import SharingReport
from paramshare_viz.analysis.twin_counts import DTYPES, TwinCounts
from paramshare_viz.app.plot_output import PlotOutput
from paramshare_viz.app.worker import after_paint
from paramshare_viz.graph import SharingGraph, sharing_graph
from paramshare_viz.plots.sharing_graph import default_title, make_sharing_graph_figure, unnamed_sharing_html

_CACHE: OrderedDict[tuple[Any, ...], tuple[SharingGraph, SharingGraph]] = OrderedDict()
_CACHE_SIZE = 32


def twin_graphs(counts: TwinCounts) -> tuple[SharingGraph, SharingGraph]:
    """Graphs of both sides of ``counts``, from its reports (calls included) and meta-device twins.

    Only shapes are read from the models, so they are built on ``meta`` (no
    memory, a few ms); cached on the frozen config like :func:`twin_counts`.
    """
    key = (counts.form, counts.config, counts.dtype, counts.device == "meta")
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    fields = {f.name: getattr(counts.config, f.name) for f in dataclasses.fields(counts.config)}
    out = tuple(
        _graph(counts.form, side, counts.dtype, report, fields)
        for side, report in ((True, counts.shared), (False, counts.unshared))
    )
    _CACHE[key] = out  # type: ignore[assignment]
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return out  # type: ignore[return-value]


def _graph(form: str, shared: bool, dtype: str, report: SharingReport, fields: dict) -> SharingGraph:
    model = zoo.build(form, shared=shared, device="meta", dtype=DTYPES[dtype], **fields)
    return sharing_graph(model, report=report)


def click_line(graph: SharingGraph, highlight: int | str | None) -> str:
    """What the click line says about a clicked tensor (its names, its holders) or module."""
    if isinstance(highlight, int):
        t = graph.tensors[highlight]
        holders = graph.holders(highlight)
        names = ", ".join(f"<code>{html.escape(n)}</code>" for n in t.names[:12])
        names += f" … and {len(t.names) - 12} more" if len(t.names) > 12 else ""
        what = "one tensor under" if len(t.names) > 1 else "tensor"
        held = ", ".join(f"<b>{html.escape(h or '(model)')}</b>" for h in holders)
        borrowers = ", ".join(f"<b>{html.escape(b or '(model)')}</b>" for b in graph.borrowers(highlight))
        return f"{what} {names} — held by {held}" + (f"; also read by {borrowers}, which does not hold it"
                                                      if borrowers else "")
    if isinstance(highlight, str):
        own = [graph.tensors[k] for k in graph.held_by(highlight)]
        labels = ", ".join(f"<code>{html.escape(t.label)}</code>" for t in own) or "no tensor of its own"
        return f"<b>{html.escape(highlight or '(model)')}</b> holds {labels}"
    return "Choose a tensor under “Light up” to light every module that holds it, or a module to light its tensors."


#: The menu lists at most this many entries (shared tensors first); big models stay quick to send.
MENU_LIMIT = 200


def light_up_options(graph: SharingGraph) -> list[tuple[str, str]]:
    """The "Light up" menu: nothing, then shared tensors, then modules, then other tensors."""
    def tensor(t) -> tuple[str, str]:
        many = f" ({len(t.names)} names)" if len(t.names) > 1 else ""
        return (f"tensor {t.label}{many}", f"t:{t.index}")

    shared = [tensor(t) for t in graph.tensors if t.shared]
    modules = [(f"module {m.name or '(model)'}", f"m:{m.name}") for m in graph.modules]
    rest = [tensor(t) for t in graph.tensors if not t.shared]
    return [("—", "")] + (shared + modules + rest)[:MENU_LIMIT]


def parse_choice(value: str) -> int | str | None:
    """``"t:3"`` -> tensor 3, ``"m:h.0"`` -> module ``"h.0"``, ``""`` -> nothing."""
    if not value:
        return None
    kind, _, key = value.partition(":")
    return int(key) if kind == "t" else key


class GraphView(widgets.VBox):
    """Shared/twin toggle, a "light up" menu, the graph, and a line naming what is lit."""

    def __init__(
        self, counts: TwinCounts | None = None, note: str = "", *, graph: SharingGraph | None = None,
        graphs: tuple[SharingGraph, SharingGraph] | None = None, wait: bool = False,
    ) -> None:
        """Both sides of ``counts`` (with a toggle), or one ``graph`` alone (no toggle).

        ``wait``: keep the figure until ``self.plot.release()`` (the page is still drawing; see PlotOutput).
        """
        self.side = widgets.ToggleButtons(
            options=[("Shared model", "shared"), ("Unshared twin", "twin")], value="shared",
            style={"button_width": "130px"},
        )
        self.side.add_class("psv-graph-side")
        self.pick = widgets.Dropdown(description="Light up", layout=widgets.Layout(width="420px"))
        self.pick.add_class("psv-graph-pick")
        self.clicked = widgets.HTML(click_line_html(""))
        self.clicked.add_class("psv-graph-clicked")
        if graphs is not None:
            self.graphs = graphs
        elif counts is not None:
            self.graphs = twin_graphs(counts)
        elif graph is not None:
            self.graphs = (graph, graph)
            self.side.layout.display = "none"
        else:
            raise ValueError("GraphView needs counts or a graph")
        self.note = note
        self.highlight: int | str | None = None
        self.plot = PlotOutput(css_class="psv-graph", min_height=300, wait=wait,
                               placeholder="Drawing the sharing graph…")
        self.unnamed = widgets.HTML()  # head map, trainable / frozen: sharing the drawing cannot show
        self.unnamed.add_class("psv-graph-unnamed")
        self.side.observe(lambda _c: self._redraw(clear=True), names="value")
        self.pick.observe(lambda c: self._pick(c["new"]), names="value")
        self._redraw(clear=True)
        super().__init__([widgets.HBox([self.side, self.pick]), self.clicked, self.plot, self.unnamed])

    @property
    def graph(self) -> SharingGraph:
        return self.graphs[0 if self.side.value == "shared" else 1]

    @property
    def figure(self) -> go.Figure | None:
        """The figure on show (a plain ``go.Figure``)."""
        return self.plot.figure

    def show(self, counts: TwinCounts, note: str = "") -> None:
        """New counts (a config change): new graphs, same widget."""
        self._wanted = (twin_graphs(counts), note)  # the newest request, drawn shortly
        after_paint(self._show_wanted)  # the numbers sent before it show first

    def _show_wanted(self) -> None:
        graphs, note = self._wanted
        if graphs is not self.graphs or note != self.note:
            self.show_graphs(graphs, note)

    def show_graphs(self, graphs: tuple[SharingGraph, SharingGraph], note: str = "") -> None:
        """Show ``(shared, twin)`` graphs (the same graph twice for one model)."""
        self.graphs, self.note = graphs, note
        self._redraw(clear=True)

    def _figure(self) -> go.Figure:
        with_note = self.side.value == "shared" and bool(self.note)
        title = default_title(self.graph, inside=not with_note)
        if with_note:
            title += f" · {html.escape(self.note)}"
        elif self.side.value == "twin" and self.graphs[0] is not self.graphs[1]:
            title += " (unshared twin)"
        return make_sharing_graph_figure(self.graph, highlight=self.highlight, title=title)

    def _redraw(self, clear: bool = False) -> None:
        if clear:
            self.highlight = None
            self._syncing = True
            try:
                self.pick.options = light_up_options(self.graph)
                self.pick.value = ""
            finally:
                self._syncing = False
        self.plot.show(self._figure())
        self.unnamed.value = unnamed_sharing_html(self.graph)
        self.clicked.value = click_line_html(click_line(self.graph, self.highlight) if self.highlight is not None else "")

    def _pick(self, value: str) -> None:
        if not getattr(self, "_syncing", False):
            self.highlight = parse_choice(value)
            self._redraw()

    def select(self, highlight: int | str | None) -> None:
        """Light a tensor (its index) or a module (its node name); the same again clears it."""
        self.highlight = None if highlight == self.highlight else highlight
        key = "" if self.highlight is None else (f"t:{self.highlight}" if isinstance(self.highlight, int) else f"m:{self.highlight}")
        self._syncing = True
        try:
            if key in {value for _, value in self.pick.options}:
                self.pick.value = key
        finally:
            self._syncing = False
        self._redraw()


def click_line_html(text: str) -> str:
    return (
        "<div style='font-size:13px;min-height:20px;color:var(--jp-ui-font-color1,#374151)'>"
        + (text or click_line(SharingGraph([], [], []), None))
        + "</div>"
    )
