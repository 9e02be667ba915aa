"""The Inspect tab in a real browser: a model type, bad specs, uploads (a hostile pickle never runs), recovery."""

from __future__ import annotations

import pickle

import pytest
import torch

pytestmark = pytest.mark.browser

STATUS = ".psv-status"


class Hostile:
    """Unpickling this runs ``exec``, which writes ``marker``."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('payload ran')",)


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1300, "height": 1400})
    yield pg
    pg.close()


def submit(page, spec: str) -> None:
    box = page.locator(".psv-inspect-spec input")
    box.fill(spec)
    box.press("Enter")


def upload(page, path) -> None:
    """Choose ``path`` in the state-dict upload: clicking the button opens the chooser (its input is detached)."""
    with page.expect_file_chooser() as chooser:
        page.click(".psv-upload-weights")
    chooser.value.set_files(str(path))


def wait_status(page, text: str, level: str, timeout: float = 120_000) -> str:
    page.wait_for_function(
        "([sel, text, level]) => { const s = document.querySelector(sel + ' [role=status]');"
        " return s && s.innerText.includes(text) && s.dataset.level === level; }",
        arg=[STATUS, text, level], timeout=timeout,
    )
    return page.inner_text(STATUS)


def test_inspect_tab(page, dashboard_url, tmp_path):
    page.goto(dashboard_url, timeout=120_000)
    page.wait_for_selector(STATUS, timeout=120_000)
    page.click(".lm-TabBar-tab:has-text('Inspect')")
    page.wait_for_selector(".psv-inspect-spec input", timeout=60_000)

    # A Hugging Face model type, built on meta: GPT-2's head is its token embedding.
    submit(page, "hf:gpt2")
    wait_status(page, "hf:gpt2: GPT2LMHeadModel", "info")
    groups = page.inner_text(".psv-tab-inspect .psv-groups")
    assert "lm_head.weight" in groups and "transformer.wte.weight" in groups
    # 124,439,808 held; the head adds its 50257*768 = 38,597,376 elements again under a second name.
    assert "124,439,808" in page.inner_text(".psv-tab-inspect .psv-cards")
    assert "163,037,184" in page.inner_text(".psv-tab-inspect .psv-cards")
    page.screenshot(path=str(tmp_path / "inspect-gpt2.png"), full_page=True)

    # A factory spec is refused (no import), the last result stays.
    submit(page, "os:system")
    assert "looks like 'module:factory'" in wait_status(page, "os:system", "error")
    assert "Traceback" not in page.content()

    # A hostile pickle is refused before it runs.
    marker = tmp_path / "payload-ran"
    evil = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "x": Hostile(marker)}, evil)
    upload(page, evil)
    assert "weights_only=True" in wait_status(page, "file 'evil.pt'", "error")
    assert not marker.exists()

    # The next valid input works: a state dict whose two names share one tensor.
    weight = torch.randn(10, 4)
    good = tmp_path / "tied.pt"
    torch.save({"emb.weight": weight, "head.weight": weight}, good)
    upload(page, good)
    wait_status(page, "file 'tied.pt'", "info")
    groups = page.inner_text(".psv-tab-inspect .psv-groups")
    assert "emb.weight" in groups and "head.weight" in groups

    # A bad spec, then a good one.
    submit(page, "hf:gtp2")
    assert "close by name: hf:gpt2" in wait_status(page, "gtp2", "error")
    submit(page, "hf:albert")
    wait_status(page, "hf:albert: AlbertForMaskedLM", "info")
    assert not marker.exists()
    page.screenshot(path=str(tmp_path / "inspect-albert.png"), full_page=True)


def test_hostile_payload_is_real(tmp_path):
    """The payload above does run under an ordinary unpickler: the browser test's refusal means something."""
    marker = tmp_path / "control"
    pickle.loads(pickle.dumps(Hostile(marker)))
    assert marker.read_text() == "payload ran"
