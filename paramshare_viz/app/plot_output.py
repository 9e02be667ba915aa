"""A plotly figure shown through plotly's mime renderer in an ``Output``, replaced in place.

A ``FigureWidget`` carries plotly.js (~5 MB) in its widget state, and one made
or edited while the page is still loading can open empty and drop edits. A
plain ``go.Figure`` rendered by the jupyterlab-plotly extension (shipped in the
plotly package, loaded once per page) has neither problem; each update sends
the figure's JSON, which for these figures is a few kB.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import plotly.graph_objects as go
import plotly.io as pio


def html_output(markup: str) -> dict:
    """An Output entry that shows ``markup`` (e.g. a placeholder before the first figure)."""
    return {"output_type": "display_data", "data": {"text/html": markup}, "metadata": {}}


class PlotOutput(widgets.Output):
    """An ``Output`` that shows one figure at a time: ``show(fig)`` replaces it."""

    def __init__(self, *, css_class: str = "", placeholder: str = "", min_height: int = 380) -> None:
        super().__init__(layout=widgets.Layout(min_height=f"{min_height}px"))
        if css_class:
            self.add_class(css_class)
        self.figure: go.Figure | None = None
        if placeholder:
            self.placeholder(placeholder)

    def placeholder(self, text: str) -> None:
        """Show ``text`` where the figure goes (before the first one, or after a failure)."""
        self.outputs = (html_output(f"<div class='psv-loading'>{html.escape(text)}</div>"),)

    def show(self, fig: go.Figure) -> None:
        self.figure = fig
        bundle = pio.renderers["plotly_mimetype"].to_mimebundle(fig)
        self.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)
