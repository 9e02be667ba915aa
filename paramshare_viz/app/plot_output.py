"""A plotly figure drawn by a small front end that loads plotly.js only when a page first needs it.

plotly.js is 4.8 MB. Served by the jupyterlab-plotly extension it comes with every
Voila page, figure or not (Voila loads every federated extension; the dashboard's
Voila configuration denies that one). Here the kernel keeps it: the first figure
view of a page asks its widget once, gets the installed plotly package's
``plotly.min.js`` (the version its figures are made for) as a message buffer, and
every figure of that page shares it (``static/plotly_view.js``). A new figure is
sent as its JSON (a few kB) and drawn in place with ``Plotly.react``.

plotly.js takes over a second to start in a page, and while it starts the page
draws nothing else. So a figure made while its page is still drawing the app can
wait (``wait=True``) until :meth:`release`: the controls and numbers come first,
the figure a moment later.
"""

from __future__ import annotations

import json
from pathlib import Path

import anywidget
import plotly
import plotly.graph_objects as go
import plotly.io as pio
import traitlets

STATIC = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def figure_json(fig: go.Figure | dict) -> str:
    """The JSON the front end draws for ``fig`` (data, layout): what plotly's own renderers send."""
    return pio.to_json(fig, validate=False, remove_uids=False)


class PlotOutput(anywidget.AnyWidget):
    """One figure at a time: ``show(fig)`` replaces it in place; ``placeholder(text)`` shows words instead."""

    _esm = STATIC / "plotly_view.js"
    spec = traitlets.Unicode("").tag(sync=True)  # the figure drawn, as JSON ("" = none)
    message = traitlets.Unicode("").tag(sync=True)  # shown while there is no figure

    def __init__(
        self, *, css_class: str = "", placeholder: str = "", min_height: int = 380, wait: bool = False
    ) -> None:
        super().__init__(layout={"min_height": f"{min_height}px"})
        if css_class:
            self.add_class(css_class)
        self.figure: go.Figure | dict | None = None  # a Figure or its JSON as a dict
        self.waiting = wait  # figures are kept, not sent, until release()
        self.message = placeholder or ("Drawing…" if wait else "")
        self.on_msg(self._answer)

    @property
    def shown(self) -> dict | None:
        """The figure the page draws now (``{"data": ..., "layout": ...}``), or None."""
        return json.loads(self.spec) if self.spec else None

    def placeholder(self, text: str) -> None:
        """Show ``text`` where the figure goes (before the first one, or after a failure)."""
        self.message, self.spec = text, ""

    def show(self, fig: go.Figure | dict) -> None:
        self.figure = fig
        if not self.waiting:
            self.spec = figure_json(fig)

    def release(self) -> None:
        """Stop waiting: send the figure on show, if any, and every later one at once."""
        if self.waiting:
            self.waiting = False
            if self.figure is not None:
                self.spec = figure_json(self.figure)

    def _answer(self, _widget: object, content: dict, _buffers: list) -> None:
        """The page's first figure view asks once for plotly.js (see ``static/plotly_view.js``)."""
        if content.get("type") == "plotly.js?":
            self.send({"type": "plotly.js"}, [PLOTLY_JS.read_bytes()])
