"""Faults a visitor can meet: a GPU that is not there, Ctrl-C of the server (see test_cli_dashboard)."""

from __future__ import annotations

import pytest
import torch

from paramshare_viz import zoo
from paramshare_viz.app import make_dashboard
from paramshare_viz.app.state import AppState

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")


@no_gpu
def test_a_gpu_where_none_exists_runs_on_cpu_with_a_note():
    state = AppState(device="cuda")
    assert state.device == "cpu"
    assert state.status_level == "info"
    assert "device='cuda': no CUDA GPU is available here" in state.status and "'cpu' instead" in state.status


def test_a_device_name_torch_does_not_know_runs_on_cpu_with_a_note():
    state = AppState()
    state.device = "gpu0"
    assert state.device == "cpu" and "device='gpu0' is not a device name" in state.status


@no_gpu
def test_the_dashboard_built_for_a_gpu_works_on_cpu():
    app = make_dashboard(AppState(device="cuda"))
    explore = app.tabs.panel("Explore")
    assert explore is not None  # built, not "The Explore tab could not be built"
    assert explore.device.value == "cpu" and list(explore.device.options) == zoo.available_devices()
    assert app.state.status_level != "error"


@no_gpu
def test_the_library_refuses_a_missing_gpu_by_name():
    with pytest.raises(ValueError, match="device='cuda': no CUDA GPU is available here"):
        zoo.build("conv", device="cuda")
