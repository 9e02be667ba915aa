"""ipywidgets panels over one shared state; the Voila dashboard."""

from paramshare_viz.app.dashboard import make_dashboard
from paramshare_viz.app.state import AppState

__all__ = ["AppState", "make_dashboard"]
