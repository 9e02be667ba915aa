"""Tell the visitor when the page has lost its kernel (it died, was restarted, or the server went away).

Without it a dead kernel looks like a frozen page: the widgets stay on screen and
silently stop answering (Voila restarts a killed kernel, but the fresh one holds none
of the page's widgets). The front end (``static/heartbeat.js``) pings every 3 s; after
15 s without an answer it shows a notice with a reload button. Once the page has drawn
its widgets it says so, and ``on_drawn`` callbacks run (the first figure waits for it). It also sets the
``_xsrf`` cookie that Voila's "page closed" beacon echoes when the server did not
(Voila inside Jupyter Server, Binder's path), so closing the page ends its kernel there too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anywidget

STATIC = Path(__file__).resolve().parent / "static"


class Heartbeat(anywidget.AnyWidget):
    """Invisible until the kernel stops answering; then a notice and a reload button."""

    _esm = STATIC / "heartbeat.js"
    _css = STATIC / "heartbeat.css"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._on_drawn: list[Callable[[], None]] = []
        self.on_msg(self._answer)

    def on_drawn(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` each time a page has drawn this widget and the rest of its view."""
        self._on_drawn.append(callback)

    def _answer(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and "ping" in content:
            self.send({"pong": content["ping"]})
        elif isinstance(content, dict) and content.get("drawn"):
            for callback in self._on_drawn:
                callback()
