"""Fixtures for the served dashboard and the browser that drives it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from tests.servers import dashboard_command, free_port, running

CHROMIUM = Path("/usr/bin/chromium")
# Chromium as DESIGN.md says: the background-networking flags keep it off this closed network.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (make test does it as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)  # CI must really run the browser tests
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def dashboard_url(tmp_path_factory):
    """The dashboard served by the CLI (standalone Voila, preheated kernel)."""
    port = free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    url = f"http://127.0.0.1:{port}/"
    with running(dashboard_command(port), url, log):
        yield url


@pytest.fixture
def one_torch_thread():
    """Tiny models train faster on one thread than on two fighting over a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
