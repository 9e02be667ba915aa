"""Fixtures for the served dashboard and the browser that drives it, and the kernel's loop in headless tests."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.servers import dashboard_command, free_port, running

CHROMIUM = Path("/usr/bin/chromium")
# Chromium as DESIGN.md says: the background-networking flags keep it off this closed network.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (make test does it as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)  # CI must really run the browser tests
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def dashboard_url(tmp_path_factory):
    """The dashboard served by the CLI (standalone Voila, preheated kernel)."""
    port = free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    url = f"http://127.0.0.1:{port}/"
    with running(dashboard_command(port), url, log):
        yield url


@pytest.fixture
def one_torch_thread():
    """Tiny models train faster on one thread than on two fighting over a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class KernelLoop:
    """The kernel's IO loop in a headless test: what a worker hands to the kernel's thread waits here
    until the main thread runs it (``Worker.wait`` does, as the kernel's loop would meanwhile).

    With it, ``on_kernel_thread`` really defers, as in Voila, and a widget edited from a worker fails the
    test (see ``kernel_loop``) instead of passing because outside a kernel every callback ran in place.
    """

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()

    def add_callback(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)`` for the main thread (from any thread, as tornado's)."""
        self._calls.put((fn, args))

    def run(self) -> None:
        """Run every queued call, and those they queue, on the main thread."""
        assert threading.current_thread() is threading.main_thread()
        while True:
            try:
                fn, args = self._calls.get_nowait()
            except queue.Empty:
                return
            fn(*args)

    def call_from_worker(self, fn: Callable[..., Any], *args: Any) -> None:
        """What a click or a typed value does while a job runs, said from inside the job: ``fn(*args)``
        runs on the main thread (where the test waits), and the job goes on once it has."""
        ran = threading.Event()

        def call() -> None:
            try:
                fn(*args)
            finally:
                ran.set()

        self.add_callback(call)
        assert ran.wait(60), "the main thread did not run the call: is the test waiting on the worker?"


def _on_main_thread(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        thread = threading.current_thread()
        if thread is not threading.main_thread():
            raise AssertionError(f"{type(self).__name__}.{method.__name__} on thread {thread.name!r}: widgets are "
                                 "edited on the kernel's thread only (worker.on_kernel_thread)")
        return method(self, *args, **kwargs)

    return guarded


@pytest.fixture(scope="session", autouse=True)
def kernel_loop():
    """A :class:`KernelLoop` for the app, and every widget trait change or comm open checked to be on the
    main thread; ``Worker.wait`` runs the loop while it waits, and once more after the job ends."""
    import ipywidgets

    from paramshare_viz.app import worker

    loop = KernelLoop()
    real_wait = worker.Worker.wait

    def wait(self: worker.Worker, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            loop.run()  # a callback may start the next job (a measure after a setting): it is waited for too
            thread = self._thread
            if thread is None or not thread.is_alive():
                loop.run()
                if self._thread is thread:
                    return True
                continue
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            real_wait(self, 0.01 if left is None else min(0.01, left))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(worker, "kernel_io_loop", lambda: loop)
        mp.setattr(worker.Worker, "wait", wait)
        for name in ("notify_change", "open"):
            mp.setattr(ipywidgets.Widget, name, _on_main_thread(getattr(ipywidgets.Widget, name)))
        yield loop
