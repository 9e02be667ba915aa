"""Every notebook runs top to bottom in a real kernel, and shows what it should."""

from __future__ import annotations

import functools
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"


@functools.cache  # each notebook runs once per session; several tests read its outputs
def execute(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_without_errors(path):
    nb = execute(path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []


def test_dashboard_notebook_displays_the_app():
    nb = execute(REPO / "notebooks/dashboard.ipynb")
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert any(WIDGET in o.get("data", {}) for o in outputs)


def test_inspect_notebook_shows_gpt2_tie():
    nb = execute(REPO / "notebooks/inspect_your_model.ipynb")
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for c in nb.cells for o in c.get("outputs", []))
    assert "naive 163,037,184  unique 124,439,808  saved 38,597,376" in text  # wte counted twice by a naive sum
    assert "['lm_head.weight', 'transformer.wte.weight']" in text
    assert "'layers.0': 6" in text  # ALBERT's one block runs at all 6 layers
