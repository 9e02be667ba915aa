"""Start the real servers the tests talk to, and stop them afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, within_s: float) -> bool:
    """Poll ``predicate`` until it holds or ``within_s`` seconds pass; its last answer."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return predicate()


def wait_for_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def start(cmd: list[str], log: Path) -> subprocess.Popen:
    """Start ``cmd`` in its own process group, SIGINT handled as in a terminal (Ctrl-C)."""
    with open(log, "w") as out:
        return subprocess.Popen(
            cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            # a shell's background jobs ignore SIGINT, and children inherit that; undo it
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


@contextlib.contextmanager
def running(cmd: list[str], ready_url: str, log: Path) -> Iterator[subprocess.Popen]:
    """Run ``cmd`` until the block ends, then stop its whole process group."""
    proc = start(cmd, log)
    try:
        wait_for_http(ready_url, proc, log)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def dashboard_command(port: int) -> list[str]:
    """What ``make dashboard`` runs, on another port."""
    return [str(BIN / "paramshare-viz"), "dashboard", "--port", str(port), "--no-browser"]


def jupyter_server_command(port: int, root: Path = REPO) -> list[str]:
    """Jupyter Server with the Voila and JupyterLab extensions, as Binder runs it (no token for the test)."""
    return [
        str(BIN / "jupyter"), "server", "--no-browser", "--allow-root", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        # A fresh JupyterLab workspace: the user's one reopens tabs from earlier runs behind the new one.
        f"--LabApp.workspaces_dir={tempfile.mkdtemp(prefix='psv-lab-workspaces-')}",
    ]
