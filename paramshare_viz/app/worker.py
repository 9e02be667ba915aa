"""Long work off the page's thread: one background job per panel, the newest one wins.

Voila gives each visitor one kernel. Work that runs in the kernel's main thread
(a timing sweep, a training loop) blocks every other widget on the page, so
panels hand such work to a :class:`Worker`: it runs in a daemon thread, checks
a stop flag between steps, and reports back through callbacks. A thread rather
than an asyncio task because the work is torch compute that never awaits: on
the event loop it would block the kernel just the same, while torch releases
the GIL inside its kernels, so the main thread keeps answering widget messages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

#: Progress reaches the page at most this often (ten updates a second is smooth to the eye).
PROGRESS_EVERY_S = 0.1


def kernel_io_loop() -> Any:
    """The running IPython kernel's IO loop (tornado), or ``None`` outside a kernel (scripts, tests).

    Asked of the kernel, not of asyncio: a library that drives its own event loop
    on this thread (playwright's sync API does) would look like a running loop
    that never runs our callbacks.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return getattr(getattr(get_ipython(), "kernel", None), "io_loop", None)


def on_kernel_thread(fn: Callable[..., Any]) -> Callable[..., None]:
    """``fn`` made safe to call from a worker: it runs on the kernel's own thread.

    Widgets are not thread-safe, and a plotly figure edited from another thread
    can reach the browser without its data. Outside a kernel (scripts) the
    wrapper calls ``fn`` directly; the tests put a stand-in loop on the main
    thread (``tests/conftest.py``) and fail on any widget edited off it.
    """
    loop = kernel_io_loop()

    def call(*args: Any) -> None:
        if loop is None or threading.current_thread() is threading.main_thread():
            fn(*args)
        else:
            loop.add_callback(fn, *args)  # thread-safe: tornado queues it for the kernel's thread

    return call


class Worker:
    """Runs one job at a time in a daemon thread; starting a new job supersedes the old one.

    ``work(stop)`` receives a :class:`threading.Event`; it should check
    ``stop.is_set()`` between steps and return what it has (partial results
    are results). ``on_done(result)`` or ``on_error(err)`` runs when the job
    ends, on the kernel's thread (see :func:`on_kernel_thread`), unless a newer
    job or :meth:`drop` superseded it: the page only shows the latest request.
    With ``on_progress``, ``work(stop, progress)``: ``progress(*args)`` reaches
    ``on_progress(*args)`` the same way, at most once per ``every`` seconds.
    """

    def __init__(self) -> None:
        self._generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(
        self, work: Callable[..., Any], on_done: Callable[[Any], None], on_error: Callable[[BaseException], None],
        on_progress: Callable[..., None] | None = None, every: float = PROGRESS_EVERY_S,
    ) -> None:
        generation, stop = self.drop()

        def current() -> bool:
            return generation == self._generation

        def if_current(fn: Callable[..., None]) -> Callable[..., None]:
            # Checked again on delivery: a newer job may start while this call waits in the loop.
            return on_kernel_thread(lambda *args: fn(*args) if current() else None)

        done, failed = if_current(on_done), if_current(on_error)
        args: tuple[Any, ...] = (stop,)
        if on_progress is not None:
            shown, last = if_current(on_progress), [float("-inf")]

            def progress(*values: Any) -> None:
                now = time.monotonic()
                if now - last[0] >= every:
                    last[0] = now
                    shown(*values)

            args = (stop, progress)

        def run() -> None:
            try:
                result = work(*args)
            except BaseException as err:  # reported through on_error, never lost in a thread
                failed(err)
            else:
                done(result)

        self._thread = threading.Thread(target=run, daemon=True, name=f"psv-worker-{generation}")
        self._thread.start()

    def drop(self) -> tuple[int, threading.Event]:
        """Stop the running job and drop its outcome and progress; the next job's generation and stop flag."""
        with self._lock:
            self._stop.set()  # ask the previous job to finish early; its outcome is dropped
            self._generation += 1
            self._stop = threading.Event()
            return self._generation, self._stop

    def stop(self) -> None:
        """Ask the running job to stop between steps; it still reports what it has."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current job ends (tests, notebooks); ``True`` if it did."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True
