"""Run, Stop, progress and failure of a tab's background jobs: one component for Compare, Learn and Inspect.

One job at a time runs in a :class:`Worker` (the newest wins); its progress and
outcome show on the kernel's thread, where widgets are edited; a failure reaches
the status line one way only, :meth:`JobControls.fail`, worded by :func:`in_words`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import torch

from paramshare_viz.app.state import AppState, in_words
from paramshare_viz.app.worker import PROGRESS_EVERY_S, Worker


def sentence(text: str) -> str:
    """``text`` ending in a full stop (unless it ends in one already, or in ? or !)."""
    return text if text.endswith((".", "?", "!")) else text + "."


class JobControls(widgets.HBox):
    """Stop, a progress bar and its line; the run buttons (:meth:`button`) go where the tab puts them.

    ``tab`` starts every status message ("Compare"); ``css`` prefixes the classes ``{css}-stop``,
    ``{css}-progress`` and ``{css}-{name}`` of each run button.
    """

    def __init__(self, state: AppState, tab: str, *, css: str, bar_width: str = "260px") -> None:
        self.state, self.tab, self.css = state, tab, css
        self.worker = Worker()
        self.kind: str | None = None  # what runs ("measure", "sweep"; any name the tab gives), None when idle
        self.locked: list[Any] = []  # widgets disabled while a job runs: the run buttons, and any the tab adds
        self._stopping = ""  # what the status line says once Stop is pressed
        self.stop = widgets.Button(description="Stop", icon="stop", disabled=True, button_style="warning")
        self.stop.add_class(f"{css}-stop")
        self.stop.on_click(lambda _b: self.request_stop())
        self.bar = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width=bar_width))
        self.line = widgets.HTML()
        self.line.add_class(f"{css}-progress")
        super().__init__([self.stop, self.bar, self.line])

    def button(
        self, name: str, description: str, icon: str, on_click: Callable[[], None], *, primary: bool = False
    ) -> widgets.Button:
        """A run button (class ``{css}-{name}``), disabled while any job of this tab runs."""
        button = widgets.Button(description=description, icon=icon, button_style="primary" if primary else "")
        button.add_class(f"{self.css}-{name}")
        button.on_click(lambda _b: on_click())
        self.locked.append(button)
        return button

    def start(
        self, kind: str, busy: str, work: Callable[..., Any], done: Callable[[Any], None],
        failed: Callable[[BaseException], None], *, progress: Callable[..., None] | None = None,
        every: float = PROGRESS_EVERY_S, stopping: str = "",
    ) -> None:
        """Run ``work(stop)`` (``work(stop, progress)`` with ``progress``; see :class:`Worker`) as ``kind``.

        ``busy`` is the status meanwhile; ``done(result)`` or ``failed(err)`` (which ends with :meth:`fail`)
        shows the outcome, and the buttons come back after it; ``stopping`` is the status once Stop is
        pressed (``""``: no Stop). A job already running is superseded: its outcome is dropped.
        """
        self._stopping = stopping
        self._show(kind, stoppable=bool(stopping))
        self.state.busy(f"{self.tab}: {busy}")

        def finished(result: Any) -> None:
            done(result)
            self._show(None)  # last: the buttons come back once the page shows the whole outcome

        self.worker.start(work, finished, failed, progress, every)

    def fail(self, what: str, err: BaseException, kept: str = "") -> None:
        """The one way a job's failure reaches the page: "{tab}: {what}: {err in words}." and what is kept."""
        if isinstance(err, torch.OutOfMemoryError) and torch.cuda.is_available():
            torch.cuda.empty_cache()  # hand the failed attempt's blocks back before anything else runs
        self.state.error(" ".join(filter(None, [f"{self.tab}: {what}: {sentence(in_words(err))}", kept])))
        self._show(None)

    def refuse(self, message: str) -> None:
        """A job refused before it starts (a typed value out of range, a device it cannot use)."""
        self.state.error(f"{self.tab}: {sentence(message)} Nothing was started.")

    def request_stop(self) -> None:
        """What Stop does: the job stops after its step in hand and shows what it has."""
        self.stop.disabled = True
        self.state.busy(f"{self.tab}: {self._stopping}")
        self.worker.stop()

    def drop(self) -> None:
        """Stop the running job and forget it: its progress and outcome never show (its setting is gone)."""
        self.worker.drop()
        self._show(None)

    def show_progress(self, done: int, total: int, text: str) -> None:
        """The bar at ``done`` of ``total``, and its line."""
        self.bar.max, self.bar.value = max(total, 1), done
        self.line.value = text

    def _show(self, kind: str | None, stoppable: bool = False) -> None:
        self.kind = kind
        for widget in self.locked:
            widget.disabled = kind is not None
        self.stop.disabled = kind is None or not stoppable
