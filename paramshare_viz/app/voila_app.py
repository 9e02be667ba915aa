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
  kernel, which is idle and unconnected by design.

Run it by path, ``python -P .../paramshare_viz/app/voila_app.py NOTEBOOK [voila
options]`` (what ``paramshare-viz dashboard`` does): the server then imports Voila
only, not this package and torch (``-P`` keeps this folder off ``sys.path``). It
reads the ``voila.json`` next to it after any ``voila.json`` in the working
directory or Jupyter's config paths.
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_core.paths import jupyter_config_path
from traitlets import default
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler

#: The folder of the dashboard's ``voila.json`` (package data).
CONFIG_DIR = Path(__file__).resolve().parent


class DashboardPageHandler(TornadoVoilaHandler):
    """Voila's page handler, plus the ``_xsrf`` cookie its shutdown beacon echoes back."""

    async def get(self, path=None):
        _ = self.xsrf_token  # reading it sets the cookie (tornado); the preheated page never did
        await super().get(path)


class DashboardVoila(Voila):
    """Standalone Voila with :class:`DashboardPageHandler` and the ``voila.json`` next to this file."""

    @default("config_file_paths")
    def _config_file_paths_default(self):
        # earlier paths win: a voila.json of the operator's overrides the package's
        return [os.getcwd(), *jupyter_config_path(), str(CONFIG_DIR)]

    def init_handlers(self):
        return [
            (route[0], DashboardPageHandler, *route[2:]) if route[1] is TornadoVoilaHandler else route
            for route in super().init_handlers()
        ]


main = DashboardVoila.launch_instance

if __name__ == "__main__":
    main()
