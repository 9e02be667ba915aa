"""Standalone Voila for the dashboard: a page's kernel ends when its visitor leaves.

Two fixes over plain ``voila`` (0.5), both for kernels that outlive their visitors:

- The page's ``beforeunload`` beacon posts ``/voila/api/shutdown/<id>`` with the
  ``_xsrf`` cookie's value, but a page served from the preheated pool never sets
  that cookie, so every shutdown is refused (``403 '_xsrf' argument missing from
  POST``, voila-dashboards/voila#1458) and each visit leaves a 400-650 MB kernel
  behind. :class:`DashboardVoila` sets the cookie on every page it serves.
- Kernels whose visitor vanished without the beacon (a crashed browser, a phone
  that never fires ``beforeunload``, a dropped network) are culled by the server's
  idle culler, configured in ``voila.json`` (``MappingKernelManager.cull_*``: idle
  and without a connection for 60 s). Voila's pool manager spares the preheated
  kernel, which is idle and unconnected by design; :class:`DashboardKernelManager`
  keeps its idle clock from running while it waits, so the visitor who takes it
  does not lose it before their page connects.

And one limit: at most ``DashboardKernelManager.max_visitors`` kernels serve visitors
at once (``voila.json``; the preheated pool comes on top). The next visitor gets a
short page, "the server is full, try again in a minute" (HTTP 503, ``Retry-After``),
at once, instead of a page that hangs while the server runs out of CPU or memory.

The pool's refill keeps Voila's default (``VoilaKernelManager.fill_delay``, 1 s after a
visitor takes the preheated kernel). A refill competes with that visitor's first
moments (``bench_visitors.py --parts browsers --fill-delay``: a first interaction of
about 2 s instead of 0.2 s in one of three rounds, twice; none with a 10 s delay), but
a longer delay is worse for the
next visitor: Voila hands them the pending refill, delay included.

Each kernel is forked from one process per server that has imported torch and the app
(``DashboardKernelManager.fork_kernels``, on; ``kernel_zygote.py`` and ``kernel_fork.py``):
a kernel then starts in under a CPU-second instead of ~3 and shares the imported pages
(``bench_visitors.py --parts kernel``). A kernel that cannot be forked starts as Voila
starts it, with the reason in the log.

Run it by path, ``python -P .../paramshare_viz/app/voila_app.py NOTEBOOK [voila
options]`` (what ``paramshare-viz dashboard`` does): the server then imports Voila
only, not this package and torch (``-P`` keeps this folder off ``sys.path``). It
reads the ``voila.json`` next to it after any ``voila.json`` in the working
directory or Jupyter's config paths.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import signal
import sys
from pathlib import Path

from jupyter_core.paths import jupyter_config_path
from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Bool, Int, default
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler

#: The folder of the dashboard's ``voila.json`` (package data).
CONFIG_DIR = Path(__file__).resolve().parent
#: A Jupyter data folder holding the page's Voila template, ``voila/templates/paramshare`` (the lab
#: template less its CDN links). Standalone, :func:`main` puts it on ``JUPYTER_PATH``; on Binder,
#: ``binder/postBuild`` copies the template into the environment's ``share/jupyter``.
JUPYTER_DATA = CONFIG_DIR / "share" / "jupyter"


def load_sibling(name: str):
    """This folder's ``name``.py as module ``paramshare_viz_<name>``, by path (the package would import torch)."""
    spec = importlib.util.spec_from_file_location(f"paramshare_viz_{name}", CONFIG_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


kernel_fork = load_sibling("kernel_fork")

#: What a visitor over the cap sees: no kernel, no script, nothing from another host; reloads itself.
FULL_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="60">
<title>paramshare_viz: the server is full</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;color:#374151">
<h2 class="psv-server-full">The server is full, try again in a minute.</h2>
<p>Every place on this server is taken by other visitors ({visitors} of {limit}).
This page tries again by itself in a minute.</p>
</body></html>
"""


class DashboardPageHandler(TornadoVoilaHandler):
    """Voila's page handler, plus the ``_xsrf`` cookie its shutdown beacon echoes back."""

    async def get(self, path=None):
        manager = self.kernel_manager
        if isinstance(manager, DashboardKernelManager) and manager.full():
            self.set_status(503)  # Service Unavailable, for a while: the page says so in words
            self.set_header("Retry-After", "60")
            self.finish(FULL_PAGE.format(visitors=manager.visitors(), limit=manager.max_visitors))
            return
        _ = self.xsrf_token  # reading it sets the cookie (tornado); the preheated page never did
        await super().get(path)


class DashboardKernelManager(AsyncMappingKernelManager):
    """The server's kernel manager: waiting in Voila's pool does not count as idleness.

    Voila's pool manager (which wraps this class, keeping its pool in ``_pools``)
    spares pooled kernels from the culler, but their idle clock runs. A visitor who
    takes a kernel that waited longer than ``cull_idle_timeout`` would lose it at
    the next culling round, before the page's websocket even connects.
    """

    max_visitors = Int(
        0, config=True, help="Most kernels serving visitors at once, the preheated pool not counted (0: no cap)."
    )

    fork_kernels = Bool(
        kernel_fork.SUPPORTED, config=True,
        help="Fork each kernel from one process that has imported torch and the app (kernel_fork.py), "
        "instead of starting a new Python per kernel.",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.fork_kernels:
            kernel_fork.start_zygote()  # with the server: its imports overlap the server's start

    @default("kernel_manager_class")
    def _default_kernel_manager_class(self):
        return f"{kernel_fork.__name__}.ForkKernelManager" if self.fork_kernels else super()._default_kernel_manager_class()

    def visitors(self) -> int:
        """Kernels serving visitors: all kernels less the pool's configured size.

        A refill that has not started yet (Voila waits ``fill_delay``, 1 s) makes
        this one lower for that moment: the cap errs toward letting a visitor in.
        """
        pool = getattr(self, "kernel_pools_config", {}).get("default", {}).get("pool_size", 0)
        return max(len(self.list_kernel_ids()) - pool, 0)

    def full(self) -> bool:
        return 0 < self.max_visitors <= self.visitors()

    def pooled_kernel_ids(self) -> set[str]:
        ids = set()
        for pool in getattr(self, "_pools", {}).values():
            for task in pool:
                if task.done() and not task.cancelled() and task.exception() is None:
                    ids.add(task.result()["kernel_id"])
        return ids

    async def shutdown_all(self, now: bool = False) -> None:  # type: ignore[override]  # typed as sync upstream
        """Let kernels still starting (the pool refilling) finish their start, then stop every kernel.

        jupyter_client's ``shutdown_all`` includes kernels still starting, but jupyter_server's
        ``shutdown_kernel`` refuses an id that has not finished starting (HTTP 404): a stop that
        came while the pool refilled ended Voila with exit code 1 and left that kernel behind.
        The starts run on the server's event loop: :meth:`DashboardVoila.stop` runs this there.
        """
        starting = list(self._pending_kernels.values())
        if starting:
            await asyncio.wait(starting, timeout=60)
        await super().shutdown_all(now=now)

    async def cull_kernels(self):
        now = utcnow()
        for kernel_id in self.pooled_kernel_ids() & set(self._kernels):
            self._kernels[kernel_id].last_activity = now
        await super().cull_kernels()


class DashboardVoila(Voila):
    """Standalone Voila with :class:`DashboardPageHandler`, :class:`DashboardKernelManager` and ``voila.json``."""

    @default("config_file_paths")
    def _config_file_paths_default(self):
        # earlier paths win: a voila.json of the operator's overrides the package's
        return [os.getcwd(), *jupyter_config_path(), str(CONFIG_DIR)]

    def init_settings(self):
        if self.voila_configuration.multi_kernel_manager_class is AsyncMappingKernelManager:  # the default
            self.voila_configuration.multi_kernel_manager_class = DashboardKernelManager
        return super().init_settings()

    def initialize(self, argv=None):
        super().initialize(argv)
        signal.signal(signal.SIGINT, self._handle_ctrl_c)

    def _handle_ctrl_c(self, _signum, _frame) -> None:
        """Ctrl-C stops the loop between callbacks, as Voila's SIGTERM does. Python's default raises
        KeyboardInterrupt inside whatever task runs (a pool refill's kernel start, say): :meth:`stop`
        runs the loop again to shut the kernels down, and every awaiter of that task raised it anew."""
        ioloop = getattr(self, "ioloop", None)
        if ioloop is None:  # not serving yet: nothing to stop gracefully
            raise KeyboardInterrupt
        self.log.info("Stopping...")
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a second Ctrl-C ends it at once
        ioloop.add_callback_from_signal(ioloop.stop)

    def stop(self):
        """Voila's stop, run on the server's own event loop (stopped, not closed), where the kernels
        still starting can finish. Voila's own runs ``shutdown_all`` through jupyter_core's
        ``run_sync``, on a new loop, where they never would."""
        shutil.rmtree(self.connection_dir)
        self.ioloop.asyncio_loop.run_until_complete(self.kernel_manager.shutdown_all())

    def init_handlers(self):
        return [
            (route[0], DashboardPageHandler, *route[2:]) if route[1] is TornadoVoilaHandler else route
            for route in super().init_handlers()
        ]


def jupyter_path_with_template(existing: str | None = None) -> str:
    """``JUPYTER_PATH`` with the package's template folder after this environment's own data folder.

    Voila takes its themes and schemas from the first ``<path>/voila`` folder that exists; with the
    template folder first, that would be ours (templates only) and the page's theme CSS a 404.
    """
    own = Path(sys.prefix) / "share" / "jupyter"
    return os.pathsep.join(filter(None, [str(own), str(JUPYTER_DATA), existing]))


def main() -> None:
    """Serve with the package's Voila template (``voila.json`` names it; Voila looks it up on ``JUPYTER_PATH``)."""
    os.environ["JUPYTER_PATH"] = jupyter_path_with_template(os.environ.get("JUPYTER_PATH"))
    DashboardVoila.launch_instance()


if __name__ == "__main__":
    main()
