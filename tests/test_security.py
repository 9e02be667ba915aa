"""What a visitor can reach: the app and nothing else (no source, no files, no code execution).

HTTP and websocket checks against the dashboard that ``paramshare-viz dashboard`` serves
(the session's ``dashboard_url``), plus the committed Voila config that Binder shares.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import http.cookiejar
import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from paramshare_viz.app import serve
from paramshare_viz.app.voila_app import JUPYTER_DATA
from tests.servers import REPO, free_port, jupyter_server_command, running

VOILA_JSON = REPO / "paramshare_viz/app/voila.json"
BINDER_JSON = REPO / "binder/jupyter_server_config.json"


# --------------------------------------------------------------------------- the committed config


def test_binder_uses_the_dashboards_voila_config():
    assert json.loads(BINDER_JSON.read_text()) == json.loads(VOILA_JSON.read_text())
    post_build = (REPO / "binder/postBuild").read_text()
    assert 'cp binder/jupyter_server_config.json "$conf/jupyter_server_config.json"' in post_build


def test_voila_config_strips_sources_hides_tracebacks_culls_and_times_out():
    config = json.loads(VOILA_JSON.read_text())
    voila = config["VoilaConfiguration"]
    assert voila["strip_sources"] is True and voila["show_tracebacks"] is False
    assert voila["allow_template_override"] == "NO"
    assert any(re.fullmatch(p, "dashboard.ipynb") for p in voila["file_denylist"])
    assert any(re.fullmatch(p, "secrets/.env") for p in voila["file_denylist"])
    culler = config["MappingKernelManager"]
    # a kernel with no page connected for 60 s goes, checked every 15 s: gone within 75 s
    assert (culler["cull_idle_timeout"], culler["cull_interval"]) == (60, 15)
    assert culler["cull_connected"] is False  # an open page keeps its kernel however quiet
    assert config["VoilaExecutor"]["timeout"] == 120  # seconds per cell while the page renders


def test_the_cli_serves_through_the_dashboards_voila_app():
    cmd = serve.voila_command(Path("nb.ipynb"), port=9000, ip="127.0.0.1", open_browser=False)
    assert cmd[1:3] == ["-P", str(serve.VOILA_APP)]
    assert (serve.VOILA_APP.parent / "voila.json").is_file()


# --------------------------------------------------------------------------- the served page


class Visitor:
    """A browser's view of the dashboard: cookies kept, the page's kernel shut down on leaving."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.url + path, timeout=180) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def leave(self, kernel_id: str) -> int:
        """What the page's beforeunload beacon sends: POST /voila/api/shutdown/<id> with _xsrf."""
        body = urllib.parse.urlencode({"_xsrf": self.cookie("_xsrf") or ""}).encode()
        request = urllib.request.Request(f"{self.url}voila/api/shutdown/{kernel_id}", data=body, method="POST")
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code


@pytest.fixture(scope="module")
def page(dashboard_url):
    """The dashboard's HTML as one visitor gets it; its kernel is shut down afterwards."""
    visitor = Visitor(dashboard_url)
    status, html = visitor.get("")
    assert status == 200
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', html)[1]
    yield {"visitor": visitor, "html": html, "kernel_id": kernel_id}
    visitor.leave(kernel_id)


def test_the_page_holds_no_source_code(page):
    html = page["html"]
    assert "application/vnd.jupyter.widget-view+json" in html  # the app is there
    for source in ("make_dashboard", "from paramshare_viz", "import "):
        assert source not in html
    assert "Traceback" not in html


def test_leaving_the_page_shuts_its_kernel_down(dashboard_url):
    """voila#1458: the beacon's _xsrf must match a cookie the page set, or the kernel stays."""
    visitor = Visitor(dashboard_url)
    status, html = visitor.get("")
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', html)[1]
    assert visitor.cookie("_xsrf")  # set by the page (plain Voila never sets it on a preheated page)
    assert visitor.get(f"api/kernels/{kernel_id}")[0] == 200
    assert visitor.leave(kernel_id) == 204
    assert visitor.get(f"api/kernels/{kernel_id}")[0] == 404  # gone


def repo_text(path: str) -> str:
    """A distinctive line of a repository file, to look for in a response."""
    lines = [ln for ln in (REPO / path).read_text().splitlines() if len(ln.strip()) > 20]
    return lines[0].strip()


# (requested path, repository file whose text must not come back)
REFUSED = [
    ("voila/files/dashboard.ipynb", "notebooks/dashboard.ipynb"),
    ("dashboard.ipynb", "notebooks/dashboard.ipynb"),  # redirected to /voila/files/, then refused
    ("voila/files/..%2Fpyproject.toml", "pyproject.toml"),
    ("voila/files/..%2F..%2Fmain%2Fpyproject.toml", "pyproject.toml"),
    ("voila/files/..%2Fparamshare_viz%2Fzoo.py", "paramshare_viz/zoo.py"),
    ("paramshare_viz/zoo.py", "paramshare_viz/zoo.py"),
    ("voila/files/.env", None),
    ("voila/files/..%2F.git%2Fconfig", None),
    ("voila/static/..%2F..%2F..%2F..%2F..%2F..%2Fparamshare_viz%2Fzoo.py", "paramshare_viz/zoo.py"),
    ("voila/templates/lab/static/..%2F..%2F..%2F..%2Fvoila%2Fapp.py", None),
    ("voila/labextensions/..%2F..%2F..%2F..%2Fpyproject.toml", "pyproject.toml"),
    ("voila/api/themes/..%2F..%2F..%2Fpyproject.toml", "pyproject.toml"),
    ("api/contents/notebooks/dashboard.ipynb", "notebooks/dashboard.ipynb"),
]


@pytest.mark.parametrize(("path", "source"), REFUSED, ids=[p for p, _ in REFUSED])
def test_files_and_traversal_are_refused(dashboard_url, path, source):
    status, body = Visitor(dashboard_url).get(path)
    assert status >= 400, f"{path} answered {status}"
    if source:
        assert repo_text(source) not in body
    assert "make_dashboard" not in body


def test_an_execute_request_on_the_kernel_socket_is_not_executed(page, tmp_path):
    """Standalone Voila forwards only widget and info messages (Voila's test_no_execute_allowed).

    The execute request would create ``marker``; the kernel_info request sent after it
    proves the socket works and that the kernel got past where the code would have run.
    """
    marker = tmp_path / "executed"
    # a thread of its own: playwright's sync API may hold this thread's event loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        replies = pool.submit(asyncio.run, send_on_kernel_socket(page, [
        ("execute_request", {"code": f"open({str(marker)!r}, 'w').close()", "silent": False,
                             "store_history": False, "user_expressions": {}, "allow_stdin": False,
                             "stop_on_error": True}),
        ("kernel_info_request", {}),
    ])).result()
    assert "kernel_info_reply" in replies  # the socket and the kernel answer
    assert "execute_reply" not in replies and "execute_input" not in replies
    assert not marker.exists()


async def send_on_kernel_socket(page, messages: list[tuple[str, dict]]) -> list[str]:
    """Send ``messages`` on the page kernel's shell channel; the msg_types of the replies to them."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    visitor, kernel_id = page["visitor"], page["kernel_id"]
    url = visitor.url.replace("http://", "ws://") + f"api/kernels/{kernel_id}/channels?session_id={uuid.uuid4()}"
    cookies = "; ".join(f"{c.name}={c.value}" for c in visitor.jar)
    conn = await websocket_connect(HTTPRequest(url, headers={"Cookie": cookies}))
    ids = {}
    for msg_type, content in messages:
        msg_id = uuid.uuid4().hex
        ids[msg_id] = msg_type
        await conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": "visitor", "session": uuid.uuid4().hex,
                       "msg_type": msg_type, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "content": content, "buffers": [], "channel": "shell",
        }))
    replies: list[str] = []
    with contextlib.suppress(asyncio.TimeoutError):
        while "kernel_info_reply" not in replies:
            raw = await asyncio.wait_for(conn.read_message(), timeout=60)
            if raw is None:
                break
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") in ids:
                replies.append(msg["header"]["msg_type"])
        # anything the execute request would have produced comes before the info reply; wait a moment more
        with contextlib.suppress(asyncio.TimeoutError):
            while True:
                msg = json.loads(await asyncio.wait_for(conn.read_message(), timeout=1.5) or "{}")
                if msg.get("parent_header", {}).get("msg_id") in ids:
                    replies.append(msg["header"]["msg_type"])
    conn.close()
    return replies


# --------------------------------------------------------------------------- Binder (Jupyter Server)


def test_binder_server_loads_the_config_as_post_build_installs_it(tmp_path, monkeypatch):
    """postBuild copies binder/jupyter_server_config.json into a Jupyter config folder."""
    etc = tmp_path / "etc"
    etc.mkdir()
    shutil.copy(BINDER_JSON, etc / "jupyter_server_config.json")
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(etc))  # the servers below inherit it
    monkeypatch.setenv("JUPYTER_PATH", str(JUPYTER_DATA))  # the template that config names, as postBuild copies it
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter"), "server", "--show-config"],
        capture_output=True, text=True, timeout=120,
    ).stdout
    assert str(etc / "jupyter_server_config.json") in shown
    assert ".cull_idle_timeout = 60" in shown and ".strip_sources = True" in shown
    root = tmp_path / "root"
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    (root / ".env").write_text("SECRET=1\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    with running(jupyter_server_command(port, root), f"{base}api/status", tmp_path / "server.log"):
        visitor = Visitor(base)
        for path in ("voila/files/notebooks/dashboard.ipynb", "voila/files/.env", "voila/files/notebooks/..%2F.env"):
            status, body = visitor.get(path)
            assert status >= 400 and "SECRET" not in body and "make_dashboard" not in body, path


def test_uploads_over_the_inspect_limit_reach_the_kernel():
    """Tornado's 10 MiB default would drop a larger upload silently; Inspect refuses it in words."""
    from paramshare_viz.analysis.uploads import MAX_UPLOAD_BYTES

    config = json.loads(VOILA_JSON.read_text())
    for app in ("Voila", "ServerApp"):  # standalone Voila and Jupyter Server (Binder)
        assert config[app]["tornado_settings"]["websocket_max_message_size"] >= 4 * MAX_UPLOAD_BYTES
