"""``paramshare-viz dashboard``: the Voila command it runs and its input checks."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import time
from pathlib import Path

import psutil
from tornado.ioloop import IOLoop

import paramshare_viz.app.serve as serve_module
from paramshare_viz.app.serve import DASHBOARD_SOURCE, notebook_to_serve, voila_command
from paramshare_viz.app.voila_app import DashboardKernelManager, DashboardVoila
from paramshare_viz.cli import build_parser, main
from tests.servers import dashboard_command, free_port, start, wait_for, wait_for_http


def test_dashboard_arguments():
    args = build_parser().parse_args(["dashboard", "--port", "9000", "--no-browser"])
    assert (args.port, args.ip, args.no_browser) == (9000, "127.0.0.1", True)


def test_voila_runs_preheated_on_loopback():
    cmd = voila_command(Path("nb.ipynb"), port=9000, ip="127.0.0.1", open_browser=False)
    assert "--preheat_kernel=True" in cmd and "--pool_size=1" in cmd
    assert "--port=9000" in cmd and "--Voila.ip=127.0.0.1" in cmd and "--Voila.open_browser=False" in cmd
    assert "--show_tracebacks=False" in cmd


def test_bad_port_is_a_plain_error(capsys):
    assert main(["dashboard", "--port", "70000", "--no-browser"]) == 2
    assert "port=70000 is not a TCP port" in capsys.readouterr().err


def test_missing_notebook_is_a_plain_error(capsys, tmp_path):
    assert main(["dashboard", "--no-browser", "--notebook", str(tmp_path / "nope.ipynb")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ctrl_c_stops_the_server_and_its_kernels(tmp_path):
    port = free_port()
    log = tmp_path / "voila.log"
    proc = start(dashboard_command(port), log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", proc, log)
        # jupyter_client starts each kernel in a session of its own: outside the server's group
        kernels = kernel_processes(proc.pid, within_s=120)
        assert kernels  # the page's kernel and the preheated one
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        assert proc.wait(timeout=30) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert "Stopping..." in log.read_text()
    assert group_gone(proc.pid, within_s=10)  # nothing of the group is left
    _, alive = psutil.wait_procs(kernels, timeout=10)
    assert alive == []  # nor any of its kernels


def test_sigterm_stops_the_server_and_its_kernels(tmp_path):
    port = free_port()
    log = tmp_path / "voila.log"
    proc = start(dashboard_command(port), log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", proc, log)  # a visitor's page: it takes a kernel
        kernels = kernel_processes(proc.pid, within_s=120)
        assert kernels
        os.kill(proc.pid, signal.SIGTERM)  # `kill <pid>` of the CLI alone, not of its group
        assert wait_for(lambda: not port_open(port), 10)  # the server is gone within 10 s
        _, alive = psutil.wait_procs(kernels, timeout=10)
        assert alive == []  # and so are its kernels
        assert proc.wait(timeout=10) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert group_gone(proc.pid, within_s=10)


def test_a_stop_while_a_kernel_starts_stops_that_kernel_too(tmp_path):
    """A stop that comes while the pool refills (the race the Ctrl-C and SIGTERM tests met now and then):
    the server's loop stops with a kernel start still pending on it, then Voila's ``stop`` runs."""

    def serve_then_stop() -> DashboardKernelManager:
        loop = asyncio.new_event_loop()  # this thread's own, as the server's is its main thread's
        asyncio.set_event_loop(loop)
        app = DashboardVoila()
        app.connection_dir = str(tmp_path)
        app.kernel_manager = DashboardKernelManager(fork_kernels=False, connection_dir=str(tmp_path))
        app.ioloop = IOLoop.current()

        async def start_a_kernel() -> None:
            asyncio.ensure_future(app.kernel_manager.start_kernel())
            while not app.kernel_manager._pending_kernels:  # launched, not yet started: the loop stops here
                await asyncio.sleep(0)

        loop.run_until_complete(start_a_kernel())
        app.stop()  # Voila's own stop raised HTTP 404 here (and left the kernel running)
        return app.kernel_manager

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a fresh thread: no loop of another test's
        manager = pool.submit(serve_then_stop).result(timeout=120)
    assert manager.list_kernel_ids() == []

    def left_running() -> bool:  # that kernel's process (its connection file is in tmp_path; other tests'
        for kernel in kernel_processes(os.getpid(), within_s=0):  # servers hold kernels of their own)
            with contextlib.suppress(psutil.Error):
                if str(tmp_path) in " ".join(kernel.cmdline()):
                    return True
        return False

    assert wait_for(lambda: not left_running(), 10)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def kernel_processes(pid: int, within_s: float) -> list:
    """The kernel processes (``ipykernel_launcher``) below process ``pid``, once there is one."""
    deadline = time.monotonic() + within_s
    while True:
        found = []
        for child in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "ipykernel_launcher" in " ".join(child.cmdline()):
                    found.append(child)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def group_gone(pgid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_installed_without_a_checkout_serves_a_generated_notebook(tmp_path, monkeypatch):
    monkeypatch.setattr(serve_module, "REPO_NOTEBOOK", tmp_path / "missing.ipynb")
    path = notebook_to_serve(None, tmp_path)
    nb = json.loads(path.read_text())
    assert [c["source"] for c in nb["cells"]] == [DASHBOARD_SOURCE]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_checkout_serves_its_own_notebook(tmp_path):
    assert notebook_to_serve(None, tmp_path) == serve_module.REPO_NOTEBOOK
    assert not list(tmp_path.iterdir())
