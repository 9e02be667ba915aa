"""The sharing graph as one widget group: a shared/twin toggle above the graph's own front end.

The graph (:class:`~paramshare_viz.app.graph_widget.GraphWidget`) draws, lights,
unfolds and exports in the browser; this view only hands it data: both sides'
payloads once per config, and the side the toggle shows (the front end
animates between the two graphs). It builds no model: callers pass graphs.
"""

from __future__ import annotations

import ipywidgets as widgets

from paramshare_viz.app.graph_widget import GraphWidget
from paramshare_viz.graph import SharingGraph
from paramshare_viz.graph_page import graph_payload


class GraphView(widgets.VBox):
    """Shared/twin toggle (``self.side``, value ``"shared"`` or ``"twin"``) and the graph.

    ``GraphView(graphs=(shared, twin), note="")`` shows both sides with a toggle;
    ``GraphView(graph=g)`` one model, no toggle.
    """

    def __init__(
        self, graphs: tuple[SharingGraph, SharingGraph] | None = None, note: str = "", *,
        graph: SharingGraph | None = None,
    ) -> None:
        if graphs is None and graph is None:
            raise ValueError("GraphView needs graphs=(shared, twin) or graph=")
        self.side = widgets.ToggleButtons(
            options=[("Shared model", "shared"), ("Unshared twin", "twin")], value="shared",
            style={"button_width": "130px"},
        )
        self.side.add_class("psv-graph-side")
        self.widget = GraphWidget()
        self.graphs: tuple[SharingGraph, SharingGraph] | None = None  # on show: set by show_graphs
        self.note = ""
        self.side.observe(lambda c: setattr(self.widget, "side", c["new"]), names="value")
        self.show_graphs(graphs if graphs is not None else (graph, graph), note)  # type: ignore[arg-type]
        if graphs is None:
            self.side.layout.display = "none"
        super().__init__([self.side, self.widget])

    @property
    def graph(self) -> SharingGraph:
        """The graph on show."""
        assert self.graphs is not None  # set in __init__
        return self.graphs[0 if self.side.value == "shared" else 1]

    def show_graphs(self, graphs: tuple[SharingGraph, SharingGraph], note: str = "") -> None:
        """Show ``(shared, twin)`` (the same graph twice for one model): new data, same page elements."""
        if self.graphs is not None and self.graphs[0] is graphs[0] and self.graphs[1] is graphs[1] and note == self.note:
            return  # on show already (Explore's first _show, a cached view shown again): nothing to send
        self.graphs, self.note = graphs, note
        shared, twin = graphs
        self.widget.payloads = {
            "shared": graph_payload(shared, note=note),
            "twin": None if twin is shared else graph_payload(twin, twin=True),
        }
