"""The dashboard: header, one tab per view, and a status line."""

from __future__ import annotations

import html

import ipywidgets as widgets

from paramshare_viz.app.explore import ExplorePanel
from paramshare_viz.app.state import AppState

#: Text and background of the status line; info follows the Jupyter theme (light or dark).
STATUS_STYLES = {
    "info": ("var(--jp-ui-font-color1,#374151)", "var(--jp-layout-color2,#f9fafb)"),
    "error": ("#991b1b", "#fee2e2"),
}


def status_html(message: str, level: str) -> str:
    colour, background = STATUS_STYLES[level]
    icon = "⚠ " if level == "error" else ""
    return (
        f"<div role='status' data-level='{level}' style='color:{colour};background:{background};"
        f"padding:6px 10px;border-radius:6px'>{icon}{html.escape(message)}</div>"
    )


def make_dashboard(state: AppState | None = None) -> widgets.VBox:
    """Build the whole app around one :class:`AppState`."""
    state = state or AppState()
    header = widgets.HTML(
        "<h2 style='margin:0 0 2px'>paramshare_viz</h2>"
        "<div style='color:#6b7280;margin-bottom:6px'>See what parameter sharing saves, and what it does not.</div>"
    )
    tabs = widgets.Tab(children=[ExplorePanel(state)], titles=["Explore"])
    status = widgets.HTML()
    status.add_class("psv-status")

    def show_status(_change=None) -> None:
        status.value = status_html(state.status, state.status_level)

    state.observe(show_status, names=["status", "status_level"])
    show_status()
    app = widgets.VBox([header, status, tabs], layout=widgets.Layout(max_width="1100px"))
    app.state = state  # for notebooks and tests
    return app
