"""Serve the dashboard notebook with standalone Voila (what ``paramshare-viz dashboard`` runs)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

#: The repository's copy, used when running from a checkout (``make dashboard``).
REPO_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "dashboard.ipynb"

#: Standalone Voila with the dashboard's config and kernel fixes (run by path, see voila_command).
VOILA_APP = Path(__file__).resolve().with_name("voila_app.py")

#: The code of the dashboard notebook; notebooks/dashboard.ipynb holds the same (tested).
DASHBOARD_SOURCE = "from paramshare_viz.app import make_dashboard\n\nmake_dashboard()"


def dashboard_notebook() -> dict:
    """The dashboard as an nbformat-4 notebook (no outputs)."""
    return {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": "dashboard", "metadata": {},
             "outputs": [], "source": DASHBOARD_SOURCE}
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def voila_command(notebook: Path, *, port: int, ip: str, open_browser: bool) -> list[str]:
    """Standalone Voila with one preheated kernel: the page renders in seconds, not ~10 s.

    ``voila_app.py`` is Voila plus ``voila.json`` (sources stripped, idle kernels culled,
    a cell timeout) and a fix that lets a closed page end its kernel; run by path with
    ``-P``, the server imports Voila but not this package (torch stays in the kernels).
    """
    return [
        sys.executable, "-P", str(VOILA_APP), str(notebook),
        f"--port={port}", f"--Voila.ip={ip}",
        "--preheat_kernel=True", "--pool_size=1",
        "--show_tracebacks=False",
        f"--Voila.open_browser={open_browser}",
    ]


def notebook_to_serve(notebook: str | None, scratch: Path) -> Path:
    """``notebook``, else the checkout's dashboard, else a fresh copy written into ``scratch``."""
    if notebook:
        path = Path(notebook)
        if not path.is_file():
            raise ValueError(f"notebook={notebook!r} does not exist")
        return path
    if REPO_NOTEBOOK.is_file():
        return REPO_NOTEBOOK
    path = scratch / "dashboard.ipynb"  # installed from a wheel: no checkout around
    path.write_text(json.dumps(dashboard_notebook(), indent=1))
    return path


def serve(*, port: int = 8866, ip: str = "127.0.0.1", open_browser: bool = True, notebook: str | None = None) -> int:
    """Run Voila until Ctrl-C (SIGINT) or ``kill`` (SIGTERM); returns its exit code."""
    if not 0 < port < 65536:
        raise ValueError(f"port={port} is not a TCP port (1-65535)")
    with tempfile.TemporaryDirectory(prefix="paramshare-viz-") as scratch:
        path = notebook_to_serve(notebook, Path(scratch))
        print(f"paramshare_viz dashboard: http://{ip}:{port}/  (Ctrl-C stops it)", flush=True)
        # A session of its own: Voila hears a stop once, from forward() below, whether the terminal's
        # Ctrl-C reached the whole group or a `kill <pid>` reached this process only.
        proc = subprocess.Popen(voila_command(path, port=port, ip=ip, open_browser=open_browser),
                                start_new_session=True)
        return wait_forwarding_stops(proc)


def wait_forwarding_stops(proc: subprocess.Popen) -> int:
    """Wait for ``proc``, passing SIGINT and SIGTERM on to it: Voila stops its server and its kernels on either."""

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
