"""Run, Stop, progress and failure of a tab's background jobs: one component for Compare, Learn and Inspect.

A :class:`JobControls` runs one job at a time in a :class:`Worker` (the newest
wins), disables the tab's run buttons meanwhile, shows the job's progress and
outcome on the kernel's thread (where widgets are edited), and says in the
status line what runs, what is stopping and what failed: a failure reaches the
page one way only, :meth:`JobControls.fail`, worded by :func:`in_words`.
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
    """A Stop button, a progress bar and its line; the run buttons, made by :meth:`button`, go where the tab puts them.

    Args:
        state: the app's state; its status line says what runs and how it ended.
        tab: the first word of every status message ("Compare").
        css: prefix of the CSS classes: ``{css}-stop``, ``{css}-progress``, ``{css}-{name}`` per run button.
        bar_width: the progress bar's width.
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
        self,
        kind: str,
        busy: str,
        work: Callable[..., Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
        *,
        progress: Callable[..., None] | None = None,
        every: float = PROGRESS_EVERY_S,
        stopping: str = "",
    ) -> None:
        """Run ``work`` in the worker (a job already running is superseded: its outcome is dropped).

        Args:
            kind: a name for what runs, kept in :attr:`kind` until the outcome shows.
            busy: what the status line says meanwhile, after "{tab}: ".
            work: ``work(stop)``, or ``work(stop, progress)`` when ``progress`` is given (see :class:`Worker`).
            done: shows the result, on the kernel's thread; the buttons come back after it.
            failed: shows what is kept after an error, on the kernel's thread; it ends with :meth:`fail`.
            progress: shows the job's ``progress(*args)``, on the kernel's thread, at most once per ``every`` s.
            stopping: what the status line says once Stop is pressed; ``""``: this job has no Stop.
        """
        self._stopping = stopping
        self._show(kind, stoppable=bool(stopping))
        self.state.busy(f"{self.tab}: {busy}")

        def finished(result: Any) -> None:
            done(result)
            self._show(None)  # last: the buttons come back once the page shows the whole outcome

        def errored(err: BaseException) -> None:
            failed(err)
            self._show(None)

        self.worker.start(work, finished, errored, progress, every)

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
