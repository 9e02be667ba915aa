"""A plotly figure shown through plotly's mime renderer in an ``Output``, replaced in place.

A ``FigureWidget`` carries plotly.js (~5 MB) in its widget state, and one made
or edited while the page is still loading can open empty and drop edits. A
plain ``go.Figure`` rendered by the jupyterlab-plotly extension (shipped in the
plotly package, loaded once per page) has neither problem; each update sends
the figure's JSON, which for these figures is a few kB.

plotly.js itself takes over a second to start in a page (1.3-1.5 s here, for any
figure), and while it starts the page draws nothing else. So a figure made while
its page is still drawing the app can wait (``wait=True``) until :meth:`release`:
the controls and numbers come first, the figure a moment later.
"""

from __future__ import annotations

import html
import json

import ipywidgets as widgets
import plotly.graph_objects as go
import plotly.io as pio


def html_output(markup: str) -> dict:
    """An Output entry that shows ``markup`` (e.g. a placeholder before the first figure)."""
    return {"output_type": "display_data", "data": {"text/html": markup}, "metadata": {}}


def mime_bundle(fig: go.Figure) -> dict:
    """What plotly's ``plotly_mimetype`` renderer sends for ``fig`` (tested equal), without
    importing plotly.io's renderer registry (nbformat, jsonschema: ~25 MB and ~2 CPU-seconds
    in every kernel)."""
    return {"application/vnd.plotly.v1+json": json.loads(pio.to_json(fig, validate=False, remove_uids=False))}


class PlotOutput(widgets.Output):
    """An ``Output`` that shows one figure at a time: ``show(fig)`` replaces it."""

    def __init__(
        self, *, css_class: str = "", placeholder: str = "", min_height: int = 380, wait: bool = False
    ) -> None:
        super().__init__(layout=widgets.Layout(min_height=f"{min_height}px"))
        if css_class:
            self.add_class(css_class)
        self.figure: go.Figure | None = None
        self.waiting = wait  # figures are kept, not sent, until release()
        if placeholder or wait:
            self.placeholder(placeholder or "Drawing…")

    def placeholder(self, text: str) -> None:
        """Show ``text`` where the figure goes (before the first one, or after a failure)."""
        self.outputs = (html_output(f"<div class='psv-loading'>{html.escape(text)}</div>"),)

    def show(self, fig: go.Figure) -> None:
        self.figure = fig
        if not self.waiting:
            self._draw(fig)

    def release(self) -> None:
        """Stop waiting: send the figure on show, if any, and every later one at once."""
        if self.waiting:
            self.waiting = False
            if self.figure is not None:
                self._draw(self.figure)

    def _draw(self, fig: go.Figure) -> None:
        self.outputs = ({"output_type": "display_data", "data": mime_bundle(fig), "metadata": {}},)
