"""The sharing graph's widget: an anywidget whose front end ships in ``app/static/graph.js``.

Python sends each side's :func:`~paramshare_viz.graph_page.graph_payload` once per
config (trait ``payloads``) and the side on show (``side``); clicking, unfolding,
hovering and the SVG export run in the browser without a round trip. A new
payload is applied to the same root element (rows are keyed by module name).
"""

from __future__ import annotations

import anywidget
import traitlets

from paramshare_viz.graph_page import STATIC


class GraphWidget(anywidget.AnyWidget):
    """Draws ``payloads["shared"]`` or, with ``side == "twin"``, ``payloads["twin"]``."""

    _esm = STATIC / "graph.js"
    _css = STATIC / "graph.css"
    payloads = traitlets.Dict().tag(sync=True)
    side = traitlets.Unicode("shared").tag(sync=True)
