"""The kernel cap: a visitor over ``max_visitors`` gets "the server is full" at once, and no kernel.

One standalone Voila started as ``paramshare-viz dashboard`` starts it (``voila_command``),
with a cap of 1 visitor; visitors are plain HTTP clients (the page's notebook runs on the
server while the GET streams, so a finished GET is a visitor whose kernel holds the app).
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request

import psutil
import pytest

from paramshare_viz.app.serve import REPO_NOTEBOOK, voila_command
from tests.servers import free_port, running, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # ~30 s here; minutes on a loaded machine

POOL = 1  # voila_command's --pool_size
CAP = 1  # visitors' kernels at once, set below on the command line (voila.json's is larger)
READY = "voila/api/themes/@jupyterlab/theme-light-extension/index.css"  # answers without taking a kernel
FULL = "The server is full, try again in a minute."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("voila-full") / "voila.log"
    cmd = voila_command(REPO_NOTEBOOK, port=port, ip="127.0.0.1", open_browser=False)
    cmd += [f"--DashboardKernelManager.max_visitors={CAP}"]
    with running(cmd, f"http://127.0.0.1:{port}/{READY}", log) as proc:
        server = {"url": f"http://127.0.0.1:{port}/", "pid": proc.pid, "log": log}
        assert wait_for(lambda: kernel_count(server) == POOL, 300), "the pool never filled"
        yield server


def kernel_count(server) -> int:
    """The server's kernel processes (Voila starts each as ``python -m ipykernel_launcher -f ...``)."""
    count = 0
    for child in psutil.Process(server["pid"]).children(recursive=True):
        try:
            count += "ipykernel_launcher" in " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            pass
    return count


def visit(url: str) -> tuple[int, dict, str, urllib.request.OpenerDirector]:
    """GET the page as a browser would (cookies kept); returns status, headers, body and the client."""
    jar = http.cookiejar.CookieJar()
    client = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    client.jar = jar  # type: ignore[attr-defined]
    try:
        with client.open(url, timeout=600) as response:
            return response.status, dict(response.headers), response.read().decode(), client
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode(), client


def kernel_id(body: str) -> str:
    config = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S)
    assert config, "the page carries no jupyter-config-data"
    return json.loads(config.group(1))["kernelId"]


def leave(server, client, kid: str) -> None:
    """What closing the tab does: Voila's beforeunload beacon, with the page's _xsrf cookie."""
    xsrf = next(c.value for c in client.jar if c.name == "_xsrf")
    data = urllib.parse.urlencode({"_xsrf": xsrf}).encode()
    with client.open(f"{server['url']}voila/api/shutdown/{kid}", data=data, timeout=60) as response:
        assert response.status in (200, 204)


def test_a_visitor_over_the_cap_gets_the_full_page_and_no_kernel(server):
    status, _, body, first = visit(server["url"])
    assert status == 200 and "paramshare_viz" in body
    kid = kernel_id(body)
    # the first visitor's kernel + the refilled pool's: 1 + 1 = 2
    assert wait_for(lambda: kernel_count(server) == CAP + POOL, 300), f"{kernel_count(server)} kernels"

    status, headers, body, _ = visit(server["url"])
    assert status == 503
    assert headers["Retry-After"] == "60"
    assert FULL in body
    assert "(1 of 1)" in body  # visitors' kernels of the cap
    assert "<script" not in body and "http" not in body.replace('http-equiv="refresh"', "")  # nothing to load
    assert kernel_count(server) == CAP + POOL  # the refused visitor started none

    leave(server, first, kid)
    assert wait_for(lambda: kernel_count(server) == POOL, 120), f"{kernel_count(server)} kernels"
    status, _, body, again = visit(server["url"])  # a place is free again
    assert status == 200 and FULL not in body
    leave(server, again, kernel_id(body))
