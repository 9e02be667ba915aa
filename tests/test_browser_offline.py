"""The page asks no host but its server for anything: not at load, not in any of the six tabs.

Voila's ``lab`` template links Font Awesome from a CDN; the dashboard's own template
(``paramshare_viz/app/share/jupyter/voila/templates/paramshare``) drops those links, and the
widgets' bundle, served by Voila, brings the stylesheet and its fonts. Checked in standalone
Voila (``paramshare-viz dashboard``) and under Jupyter Server as Binder sets it up.
"""

from __future__ import annotations

import json
import shutil
from urllib.parse import urlparse

import pytest

from paramshare_viz.app.dashboard import TABS
from paramshare_viz.app.voila_app import JUPYTER_DATA
from tests.servers import REPO, free_port, jupyter_server_command, running

TEMPLATE = JUPYTER_DATA / "voila/templates/paramshare"
#: What a button's icon is drawn with; the weight of Font Awesome's solid icons (play, stop, search).
ICON_FONT = '900 14px "Font Awesome 5 Free"'


def test_voila_configs_name_the_package_template_and_post_build_installs_it():
    for config in (REPO / "paramshare_viz/app/voila.json", REPO / "binder/jupyter_server_config.json"):
        assert json.loads(config.read_text())["VoilaConfiguration"]["template"] == "paramshare"
    assert json.loads((TEMPLATE / "conf.json").read_text()) == {"base_template": "lab"}
    post_build = (REPO / "binder/postBuild").read_text()
    assert "cp -r paramshare_viz/app/share/jupyter/voila/templates/paramshare" in post_build


def walk_the_tabs(page, url: str) -> list[str]:
    """Load ``url``, open every tab, press nothing; every URL the page requested, in order."""
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url, timeout=120_000)
    for tab in TABS:
        page.click(f".lm-TabBar-tab:has-text('{tab.title}')", timeout=120_000)
        slot = f".psv-tab-{tab.title.lower()}"
        page.wait_for_function(  # the panel is built: its slot shows it instead of the "Building …" line
            f"(s => s && s.innerText.trim() && !s.innerText.includes('Building {tab.title}'))"
            f"(document.querySelector('{slot}'))",
            timeout=120_000,
        )
        page.wait_for_load_state("networkidle", timeout=60_000)  # what the tab's views fetch, fetched
    return requests


def other_hosts(requests: list[str], url: str) -> list[str]:
    """Requests to a host other than ``url``'s (``data:`` and ``blob:`` URLs have none: they stay in the page)."""
    server = urlparse(url).netloc
    return [r for r in requests if urlparse(r).scheme not in ("data", "blob") and urlparse(r).netloc != server]


def assert_served_alone(browser, url: str) -> None:
    page = browser.new_page(viewport={"width": 1300, "height": 1200})
    try:
        requests = walk_the_tabs(page, url)
        assert other_hosts(requests, url) == []
        assert len(requests) > 20  # the walk really loaded the page: its scripts, styles and fonts
        # The buttons' icons (play, stop, search) are drawn: their font came from the server.
        assert page.evaluate(f"document.fonts.check('{ICON_FONT}')")
        assert page.locator(".fa-play").count() >= 1
        assert "cdn.jsdelivr.net" not in page.content()
        # MathJax is the bundled one: a URL here (Jupyter Server's default is cdnjs) would load it from
        # there at the first typeset, which some loads reach and others do not.
        assert page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).fullMathjaxUrl") is None
    finally:
        page.close()


@pytest.mark.browser
def test_standalone_page_loads_nothing_from_another_host(browser, dashboard_url):
    assert_served_alone(browser, dashboard_url)


@pytest.mark.browser
@pytest.mark.timeout(900)
def test_binder_page_loads_nothing_from_another_host(browser, tmp_path, monkeypatch):
    """Jupyter Server with binder/'s config and the template where postBuild copies them."""
    etc = tmp_path / "etc"
    etc.mkdir()
    shutil.copy(REPO / "binder/jupyter_server_config.json", etc / "jupyter_server_config.json")
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(etc))
    monkeypatch.setenv("JUPYTER_PATH", str(JUPYTER_DATA))
    shutil.copytree(REPO / "notebooks", tmp_path / "root" / "notebooks")
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    with running(jupyter_server_command(port, tmp_path / "root"), f"{base}api/status", tmp_path / "server.log"):
        assert_served_alone(browser, f"{base}voila/render/notebooks/dashboard.ipynb")
