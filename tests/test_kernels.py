"""A dashboard page's kernel ends when its visitor leaves; an abandoned or killed one is dealt with.

One standalone Voila for the module, started as ``paramshare-viz dashboard`` starts it
(``voila_command``) with a shorter culling timeout, so the culler can be seen in seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import urllib.request

import psutil
import pytest

from paramshare_viz.app.serve import REPO_NOTEBOOK, voila_command
from paramshare_viz.app.voila_app import JUPYTER_DATA
from tests.servers import REPO, free_port, jupyter_server_command, running, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]  # ~60 s here; minutes on a loaded machine

POOL = 1  # --pool_size=1: one preheated kernel waits for the next visitor
CULL_S, CULL_EVERY_S = 8, 2  # voila.json says 60 s and 15 s; shortened here only
READY = "voila/api/themes/@jupyterlab/theme-light-extension/index.css"  # answers without taking a kernel
BACK_TO_POOL_S = 20  # a closed page's kernel is gone within this (it takes ~1 s here)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("voila-kernels") / "voila.log"
    cmd = voila_command(REPO_NOTEBOOK, port=port, ip="127.0.0.1", open_browser=False)
    cmd += [f"--MappingKernelManager.cull_idle_timeout={CULL_S}", f"--MappingKernelManager.cull_interval={CULL_EVERY_S}"]
    with running(cmd, f"http://127.0.0.1:{port}/{READY}", log) as proc:
        server = {"url": f"http://127.0.0.1:{port}/", "pid": proc.pid, "log": log}
        assert wait_for(lambda: kernel_count(server) == POOL, 120), "the pool never filled"
        yield server


def kernels(server) -> list[psutil.Process]:
    """The server's kernel processes (Voila starts each as ``python -m ipykernel_launcher -f ...``)."""
    out = []
    for child in psutil.Process(server["pid"]).children(recursive=True):
        try:
            if "ipykernel_launcher" in " ".join(child.cmdline()):
                out.append(child)
        except psutil.NoSuchProcess:
            pass
    return out


def kernel_count(server) -> int:
    return len(kernels(server))


@pytest.fixture(scope="module")
def context(browser):
    """One browser window for the module: a closed tab's beacon goes out while the browser lives on."""
    ctx = browser.new_context()
    yield ctx
    ctx.close()


def open_dashboard(context, url: str):
    page = context.new_page()
    page.goto(url, timeout=300_000)  # seconds normally; minutes when the machine is overloaded
    page.wait_for_selector(".psv-card .psv-count", timeout=300_000)
    return page


def kernel_id(page) -> str:
    return json.loads(page.inner_text("#jupyter-config-data", timeout=5_000))["kernelId"]


def log_text(server) -> str:
    return server["log"].read_text()


def test_closing_pages_ends_their_kernels(context, server):
    ids = []
    for _ in range(5):
        page = open_dashboard(context, server["url"])
        ids.append(kernel_id(page))
        page.close(run_before_unload=True)  # what closing the tab does: Voila's beforeunload beacon
    # 5 visits, 5 kernels: all shut down, only the preheated one is left.
    assert wait_for(lambda: kernel_count(server) == POOL, BACK_TO_POOL_S), f"{kernel_count(server)} kernels"
    log = log_text(server)
    assert "403 POST /voila/api/shutdown" not in log  # voila#1458: the beacon is no longer refused
    assert all(f"Kernel shutdown: {kid}" in log for kid in ids)
    assert not any(f"({kid})" in line for kid in ids for line in log.splitlines() if "Culling" in line)


def test_a_killed_kernel_is_reported_a_reload_works_and_an_abandoned_page_is_culled(context, server):
    page = open_dashboard(context, server["url"])
    first = kernel_id(page)
    (victim,) = [k for k in kernels(server) if first in " ".join(k.cmdline())]
    os.kill(victim.pid, signal.SIGKILL)  # Voila restarts it bare: the page's widgets are gone
    page.wait_for_selector(".psv-kernel-lost", state="visible", timeout=60_000)
    assert "reload" in page.inner_text(".psv-kernel-lost").lower()
    page.click(".psv-kernel-lost button")  # reload: a fresh kernel, the old one shut down by the beacon
    page.wait_for_selector(".psv-card .psv-count", timeout=120_000)
    second = kernel_id(page)
    assert second != first
    assert wait_for(lambda: f"Kernel shutdown: {first}" in log_text(server), BACK_TO_POOL_S)
    assert wait_for(lambda: kernel_count(server) == POOL + 1, BACK_TO_POOL_S)  # this page's and the pool's

    page.close(run_before_unload=False)  # a crashed browser or a phone: no beacon, the socket just drops
    assert wait_for(lambda: f"kernel 'python3' ({second})" in log_text(server), CULL_S + CULL_EVERY_S + 15)
    assert wait_for(lambda: kernel_count(server) == POOL, 10)  # and the waiting preheated kernel stays


def test_closing_a_page_under_jupyter_server_ends_its_kernel(context, tmp_path, monkeypatch):
    """Binder's path (/voila/render/... inside Jupyter Server, with binder/'s config): no pool there,
    and Voila never sets the _xsrf cookie its beacon needs; the dashboard's Heartbeat sets it."""
    etc = tmp_path / "etc"
    etc.mkdir()
    shutil.copy(REPO / "binder/jupyter_server_config.json", etc / "jupyter_server_config.json")
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(etc))  # as postBuild installs it
    monkeypatch.setenv("JUPYTER_PATH", str(JUPYTER_DATA))  # the template that config names, as postBuild copies it
    shutil.copytree(REPO / "notebooks", tmp_path / "root" / "notebooks")
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    log = tmp_path / "server.log"
    with running(jupyter_server_command(port, tmp_path / "root"), f"{base}api/status", log):
        page = open_dashboard(context, f"{base}voila/render/notebooks/dashboard.ipynb")
        kid = kernel_id(page)
        assert running_kernels(base) == [kid]
        page.close(run_before_unload=True)
        # the culler (60 s in binder's config) would take longer: this is the beacon
        assert wait_for(lambda: running_kernels(base) == [], BACK_TO_POOL_S)
    assert "403 POST /voila/api/shutdown" not in log.read_text()


def running_kernels(base: str) -> list[str]:
    with urllib.request.urlopen(f"{base}api/kernels", timeout=30) as response:
        return [k["id"] for k in json.load(response)]
