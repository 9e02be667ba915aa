"""pyproject, conda, Binder, constraints and notebooks agree with each other."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from paramshare_viz.app.serve import DASHBOARD_SOURCE

REPO = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch-cpu": "torch"}  # conda-forge's CPU build of the same package


def split_requirement(text: str) -> tuple[str, str]:
    """``"ipywidgets>=8,<9"`` -> ``("ipywidgets", ">=8,<9")`` with the name normalised."""
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", text)
    assert match, text
    name = re.sub(r"[-_.]+", "-", match[1]).lower()
    return CONDA_TO_PIP.get(name, name), match[2].replace(" ", "")


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def pyproject_runtime() -> dict[str, str]:
    project = pyproject()["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["hf"]
    return dict(split_requirement(r) for r in reqs)


def conda_packages(path: Path) -> dict[str, str]:
    """Conda dependency lines of an environment.yml (no YAML library needed for this flat list)."""
    packages, section = {}, None
    for line in path.read_text().splitlines():
        if re.match(r"^\w", line):
            section = line.split(":")[0]
        item = re.match(r"^  - ([^\s#:]+)\s*$", line)
        if section == "dependencies" and item and item[1] != "pip" and not item[1].startswith("python="):
            name, spec = split_requirement(item[1])
            packages[name] = spec
    return packages


@pytest.mark.parametrize("env_file", ["environment.yml", "binder/environment.yml"])
def test_conda_files_list_the_runtime_dependencies(env_file):
    assert conda_packages(REPO / env_file) == pyproject_runtime()


@pytest.mark.parametrize("env_file", ["environment.yml", "binder/environment.yml"])
def test_conda_files_use_python_311_from_conda_forge(env_file):
    text = (REPO / env_file).read_text()
    assert "  - conda-forge" in text and "  - python=3.11" in text


def test_constraints_pin_every_dependency_and_the_cpu_torch():
    pins = {}
    for line in (REPO / "requirements/constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[split_requirement(name)[0]] = version
    assert pins["torch"] == "2.13.0"  # the CPU wheel on this machine's disk; unpinned pulls CUDA
    extras = pyproject()["project"]["optional-dependencies"]
    for requirement in pyproject()["project"]["dependencies"] + extras["hf"] + extras["test"]:
        assert split_requirement(requirement)[0] in pins, requirement


def test_anywidget_and_numpy_are_explicit():
    assert {"anywidget", "numpy", "torch", "plotly", "ipywidgets", "voila"} <= set(pyproject_runtime())


def test_binder_post_build_installs_the_package_and_fails_fast():
    lines = (REPO / "binder/postBuild").read_text().splitlines()
    assert "set -e" in lines
    assert any("pip install" in line and "-e ." in line for line in lines)


def test_readme_links_binder_to_the_served_notebook():
    readme = (REPO / "README.md").read_text()
    assert "make dashboard" in readme and "make test" in readme
    voila = re.search(r"mybinder\.org/v2/gh/[^?\s)]+\?urlpath=voila%2Frender%2F([^)\s]+)", readme)
    assert voila, "README needs a Binder badge opening the Voila dashboard"
    assert (REPO / voila[1].replace("%2F", "/")).is_file()
    assert re.search(r"mybinder\.org/v2/gh/[^?\s)]+\?urlpath=lab", readme), "README needs a JupyterLab badge"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (REPO / ".ci/run").read_text()


NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in cells if cell["cell_type"] == "code")


def test_dashboard_notebook_is_what_the_cli_serves():
    cells = json.loads((REPO / "notebooks/dashboard.ipynb").read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert code == [DASHBOARD_SOURCE]
