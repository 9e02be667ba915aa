"""The dashboard: header, one tab per view (each built the first time it opens), and a status line."""

from __future__ import annotations

import html
import importlib
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets

from paramshare_viz.app.heartbeat import Heartbeat
from paramshare_viz.app.state import AppState

#: Text and background of the status line; info follows the Jupyter theme (light or dark).
STATUS_STYLES = {
    "info": ("var(--jp-ui-font-color1,#374151)", "var(--jp-layout-color2,#f9fafb)"),
    "busy": ("var(--jp-ui-font-color1,#374151)", "var(--jp-layout-color2,#eff6ff)"),
    "error": ("#991b1b", "#fee2e2"),
}
#: Drawn with CSS, not emoji: the page's fonts may lack an hourglass glyph.
SPINNER = (
    "<style>@keyframes psv-spin{to{transform:rotate(360deg)}}</style>"
    "<span class='psv-spinner' style='display:inline-block;width:10px;height:10px;margin-right:6px;"
    "border:2px solid currentColor;border-right-color:transparent;border-radius:50%;"
    "animation:psv-spin .8s linear infinite;vertical-align:-1px'></span>"
)
ICONS = {"info": "", "busy": SPINNER, "error": "⚠ "}


@dataclass(frozen=True)
class TabSpec:
    """One tab: its title and where its panel class lives (imported when the tab first opens)."""

    title: str
    panel: str  # "module:Class"; the class takes the AppState

    def load(self) -> Callable[[AppState], widgets.Widget]:
        module, name = self.panel.split(":")
        return getattr(importlib.import_module(module), name)


#: The tabs, in DESIGN.md order. Each panel lives in its own app/<tab>.py.
TABS: list[TabSpec] = [
    TabSpec("Explore", "paramshare_viz.app.explore:ExplorePanel"),
    TabSpec("Slide", "paramshare_viz.app.slide:SlidePanel"),
    TabSpec("Unroll", "paramshare_viz.app.unroll:UnrollPanel"),
    TabSpec("Compare", "paramshare_viz.app.compare:ComparePanel"),
    TabSpec("Inspect", "paramshare_viz.app.inspect:InspectPanel"),
    TabSpec("Learn", "paramshare_viz.app.learn:LearnPanel"),
]


def status_html(message: str, level: str) -> str:
    colour, background = STATUS_STYLES[level]
    return (
        f"<div role='status' data-level='{level}' style='color:{colour};background:{background};"
        f"padding:6px 10px;border-radius:6px'>{ICONS[level]}{html.escape(message)}</div>"
    )


def running_on_html(devices: list[str]) -> str:
    """The header's 'Running on …' line: every compute device the page can offer."""
    import torch

    from paramshare_viz.bench._workload import device_name

    names = [device_name(torch.device(d)) for d in devices if d != "meta"]
    return (
        "<span class='psv-running-on' style='color:var(--jp-ui-font-color2,#6b7280);font-size:12px'>"
        f"Running on {html.escape(' and '.join(names))}</span>"
    )


class LazyTabs(widgets.Tab):
    """A ``Tab`` whose panels are built the first time each one is selected, never at page load."""

    def __init__(self, state: AppState, specs: list[TabSpec], *, first: int = 0) -> None:
        self.state = state
        self.specs = specs
        self.panels: dict[str, widgets.Widget] = {}
        self._slots = [widgets.VBox() for _ in specs]
        for slot, spec in zip(self._slots, specs, strict=True):
            slot.add_class(f"psv-tab-{spec.title.lower()}")
        super().__init__(children=self._slots, titles=[s.title for s in specs], selected_index=first)
        self.observe(lambda change: self.build(change["new"]), names="selected_index")
        self.build(first)

    def build(self, index: int | None) -> widgets.Widget | None:
        """Build tab ``index``'s panel if it was never opened; return it."""
        if index is None:
            return None
        spec = self.specs[index]
        if spec.title not in self.panels:
            slot = self._slots[index]
            slot.children = [widgets.HTML(f"<div class='psv-loading'>Building {spec.title}…</div>")]
            try:
                panel = spec.load()(self.state)
            except Exception as err:  # the UI boundary: one broken tab must not take the app down
                self.state.error(f"The {spec.title} tab could not be built: {type(err).__name__}: {err}")
                slot.children = []
                return None
            self.panels[spec.title] = panel
            slot.children = [panel]
        return self.panels[spec.title]

    def panel(self, title: str) -> widgets.Widget | None:
        """The panel of the tab called ``title``, building it if needed (for notebooks and tests)."""
        index = [s.title for s in self.specs].index(title)
        return self.build(index)


def make_dashboard(state: AppState | None = None, *, tab: str = "Explore") -> widgets.VBox:
    """Build the whole app around one :class:`AppState`, showing ``tab`` first.

    Only the first tab's panel is built now; every other tab builds its heavy
    views (plotly figures, models) the first time a visitor opens it.
    """
    from paramshare_viz import zoo

    state = state or AppState()
    header = widgets.HTML(
        "<h2 style='margin:0 0 2px'>paramshare_viz</h2>"
        "<div style='color:var(--jp-ui-font-color2,#6b7280);margin-bottom:6px'>"
        "See what parameter sharing saves, and what it does not. "
        + running_on_html(zoo.available_devices())
        + "</div>"
    )
    titles = [s.title for s in TABS]
    heartbeat = Heartbeat()
    state.drawn = False  # until this page has drawn the app: its first figure waits (see PlotOutput)
    heartbeat.on_drawn(lambda: setattr(state, "drawn", True))
    tabs = LazyTabs(state, TABS, first=titles.index(tab))
    status = widgets.HTML()
    status.add_class("psv-status")

    def show_status(_change=None) -> None:
        status.value = status_html(state.status, state.status_level)

    state.observe(show_status, names=["status", "status_level"])
    show_status()
    # Heartbeat: invisible until the kernel stops answering, then "reload the page"
    app = widgets.VBox([header, status, heartbeat, tabs], layout=widgets.Layout(max_width="1100px"))
    app.state = state  # for notebooks and tests
    app.tabs = tabs
    return app
