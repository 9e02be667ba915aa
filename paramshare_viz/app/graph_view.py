"""The sharing graph as one widget group: a shared/twin toggle, one FigureWidget, a click line.

The figure widget is made once and then updated in place (``batch_update``);
clicking a tensor lights every module that holds it and lists its names,
clicking a module lights its tensors.
"""

from __future__ import annotations

import dataclasses
import html
import threading
from collections import OrderedDict
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from paramshare_viz import zoo
from paramshare_viz.analysis.report import SharingReport
from paramshare_viz.analysis.twin_counts import DTYPES, TwinCounts
from paramshare_viz.graph import SharingGraph, sharing_graph
from paramshare_viz.plots.sharing_graph import (
    TRACES,
    default_title,
    make_sharing_graph_figure,
    update_sharing_graph_figure,
)

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
        return f"{what} {names} — held by {held}"
    if isinstance(highlight, str):
        own = [graph.tensors[k] for k in graph.held_by(highlight)]
        labels = ", ".join(f"<code>{html.escape(t.label)}</code>" for t in own) or "no tensor of its own"
        return f"<b>{html.escape(highlight or '(model)')}</b> holds {labels}"
    return "Click a tensor (square) to light every module that holds it; click a module to light its tensors."


class GraphView(widgets.VBox):
    """Shared/twin toggle, the graph figure, and a line naming what was clicked."""

    def __init__(
        self, counts: TwinCounts | None = None, note: str = "", *, graph: SharingGraph | None = None
    ) -> None:
        """Both sides of ``counts`` (with a toggle), or one ``graph`` alone (no toggle)."""
        self.side = widgets.ToggleButtons(
            options=[("Shared model", "shared"), ("Unshared twin", "twin")], value="shared",
            style={"button_width": "130px"},
        )
        self.side.add_class("psv-graph-side")
        self.clicked = widgets.HTML(click_line_html(""))
        self.clicked.add_class("psv-graph-clicked")
        if counts is not None:
            self.graphs = twin_graphs(counts)
        elif graph is not None:
            self.graphs = (graph, graph)
            self.side.layout.display = "none"
        else:
            raise ValueError("GraphView needs counts or a graph")
        self.note = note
        self.highlight: int | str | None = None
        # Built with its first data: a FigureWidget drops updates made before it is displayed.
        self.figure = go.FigureWidget(self._figure())
        self.figure.add_class("psv-graph")
        self.figure.data[TRACES.index("tensors")].on_click(self._on_tensor)
        self.figure.data[TRACES.index("modules")].on_click(self._on_module)
        self.side.observe(lambda _c: self._redraw(clear=True), names="value")
        super().__init__([self.side, self.clicked, self.figure])

    @property
    def graph(self) -> SharingGraph:
        return self.graphs[0 if self.side.value == "shared" else 1]

    def show(self, counts: TwinCounts, note: str = "") -> None:
        """New counts (a config change): new graphs, same widget."""
        graphs = twin_graphs(counts)
        if graphs is self.graphs and note == self.note:
            return

        def apply() -> None:
            self.graphs, self.note = graphs, note
            self._redraw(clear=True)

        on_kernel_thread(apply)

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
        with self.figure.batch_update():
            update_sharing_graph_figure(self.figure, self._figure())
        self.clicked.value = click_line_html(click_line(self.graph, self.highlight) if self.highlight is not None else "")

    def _on_tensor(self, trace, points, _state) -> None:
        if points.point_inds:
            self.select(int(trace.customdata[points.point_inds[0]]))

    def _on_module(self, trace, points, _state) -> None:
        if points.point_inds:
            self.select(str(trace.customdata[points.point_inds[0]]))

    def select(self, highlight: int | str | None) -> None:
        """Light a tensor (its index) or a module (its node name); the same again clears it."""
        self.highlight = None if highlight == self.highlight else highlight
        self._redraw()


def click_line_html(text: str) -> str:
    return (
        "<div style='font-size:13px;min-height:20px;color:var(--jp-ui-font-color1,#374151)'>"
        + (text or click_line(SharingGraph([], [], []), None))
        + "</div>"
    )


def on_kernel_thread(fn) -> None:
    """Run ``fn`` now on the kernel's main thread, or queue it there from a worker thread.

    A FigureWidget sends each update as a message trait set and reset at once;
    set from a worker while the main thread applies a front-end message to the
    same widget (ipywidgets then sends the trait's *final* value, None), the
    update is lost. Outside a kernel (scripts, tests) ``fn`` runs at once.
    """
    kernel = None
    if threading.current_thread() is not threading.main_thread():
        try:
            from IPython import get_ipython

            kernel = getattr(get_ipython(), "kernel", None)
        except ImportError:
            kernel = None
    loop = getattr(kernel, "io_loop", None)
    if loop is None:
        fn()
    else:
        loop.add_callback(fn)
