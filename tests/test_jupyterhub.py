"""A real JupyterHub configured by deploy/jupyterhub/: three people, each on a dashboard of their own.

The hub loads deploy/jupyterhub/jupyterhub_config.py as a deployment would, with two test-only
changes layered on top (a dummy password instead of system users, and every user's server run as this
process's user instead of one system user each). configurable-http-proxy comes from npm (`make proxy`).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.servers import REPO, free_port, running, wait_for
from tests.test_browser import COUNT, expected_counts, shown_counts

pytestmark = pytest.mark.browser

PASSWORD = "psv-test-password"
USERS = ("ada", "ben", "cy")
CHP = REPO / ".node" / "node_modules" / ".bin" / "configurable-http-proxy"
CULL_S = 60 + 15  # binder/jupyter_server_config.json: cull_idle_timeout 60 s, checked every 15 s

OVERLAY = """
c = get_config()  # noqa: F821
load_subconfig({config!r})  # noqa: F821  (the deployment's file, unchanged)
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {home!r}
c.Spawner.args = ["--allow-root"]  # CI runs as root; every user's server runs as this user here
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.db_url = "sqlite:///{root}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{root}/cookie_secret"
c.ConfigurableHTTPProxy.pid_file = "{root}/proxy.pid"
c.Spawner.notebook_dir = "{root}/class"  # a copy of notebooks/ (a deployment: PSV_HUB_ROOT or the checkout)
"""


def proxy_command() -> str:
    found = str(CHP) if CHP.exists() else shutil.which("configurable-http-proxy")
    if found is None:
        message = "configurable-http-proxy is missing: `make proxy` installs it with npm (needs node and npm)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    chp = proxy_command()
    root = tmp_path_factory.mktemp("hub")
    shutil.copytree(REPO / "notebooks", root / "class" / "notebooks")
    port = free_port()
    config = root / "test_config.py"
    config.write_text(OVERLAY.format(
        config=str(REPO / "deploy" / "jupyterhub" / "jupyterhub_config.py"), password=PASSWORD,
        home=str(root / "home" / "{username}"), port=port, hub_port=free_port(), api_port=free_port(),
        chp=chp, root=root,
    ))
    base = f"http://127.0.0.1:{port}"
    cmd = [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)]
    with running(cmd, f"{base}/hub/health", root / "hub.log"):
        yield {"url": base, "log": root / "hub.log"}


def log_in(browser, base: str, user: str):
    """Sign in through the hub's login page; the hub starts the user's server (not waited for here)."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/hub/login", timeout=120_000)
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    return context, page


def wait_for_dashboard(page, user: str) -> None:
    """The hub's spawn-pending page follows the server's start, then lands on the user's default URL."""
    page.wait_for_selector(COUNT.format("shared"), timeout=400_000)
    assert page.evaluate("location.pathname") == f"/user/{user}/voila/render/notebooks/dashboard.ipynb"


def kernels(context, base: str, user: str) -> list[str]:
    response = context.request.get(f"{base}/user/{user}/api/kernels")
    assert response.status == 200, (user, response.status)
    return [k["id"] for k in response.json()]


@pytest.mark.timeout(900)  # three servers and kernels starting at once on 2 cores
def test_three_people_each_get_their_own_dashboard(browser, hub, tmp_path):
    log, hub = hub["log"], hub["url"]
    # The hub runs the idle culler as a service (with the rights it needs to stop idle servers).
    assert "Starting managed service idle-culler" in log.read_text()
    sessions = {user: log_in(browser, hub, user) for user in USERS}  # three servers start at once
    for user, (_context, page) in sessions.items():
        wait_for_dashboard(page, user)

    # cy walks away without closing the page properly (a laptop lid): no beacon, the socket just drops.
    cy_context, cy_page = sessions["cy"]
    assert len(kernels(cy_context, hub, "cy")) == 1
    cy_page.close(run_before_unload=False)
    closed_at = time.monotonic()

    for user in ("ada", "ben"):
        context, page = sessions[user]
        # The dashboard's first numbers, from the package: conv 3 -> 8 channels, 3x3 on 8x8.
        assert shown_counts(page) == expected_counts()
        assert shown_counts(page)["shared"] == 224  # 8*3*3*3 + 8
        page.screenshot(path=str(tmp_path / f"hub-{user}.png"), full_page=True)
        assert len(kernels(context, hub, user)) == 1  # one kernel each, on a server each

    # Nobody reaches another person's server: ada's cookies open ada's server, not ben's.
    ada = sessions["ada"][0]
    assert ada.request.get(f"{hub}/user/ada/api/status").status == 200
    foreign = ada.request.get(f"{hub}/user/ben/api/status")
    assert foreign.status == 403, foreign.status
    assert ada.request.get(f"{hub}/user/ben/api/kernels").status == 403

    # cy's abandoned kernel is culled by cy's server (binder's settings); the others' stay.
    assert wait_for(lambda: kernels(cy_context, hub, "cy") == [], CULL_S + 30 - (time.monotonic() - closed_at))
    for user in ("ada", "ben"):
        assert len(kernels(sessions[user][0], hub, user)) == 1

    for context, _page in sessions.values():
        context.close()
