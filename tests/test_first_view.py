"""A dashboard kernel's first view imports only what it shows (see benchmarks/bench_visitors.py).

Each visitor's kernel pays for every package the first view imports: torch._dynamo with
sympy (~70 MB, ~2 CPU-seconds) came in through FLOP counting, and plotly.io's renderer
registry with nbformat and jsonschema (~25 MB) through the sharing graph's figure JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys

import plotly.graph_objects as go
import plotly.io as pio
import torch
from torch import nn

from paramshare_viz.analysis.flops import count_flops
from paramshare_viz.app.plot_output import figure_json
from tests.servers import REPO

#: Not needed to show Explore; each one found after the first view is a regression.
HEAVY = ["torch._dynamo", "sympy", "sklearn", "transformers", "nbformat", "plotly.io._renderers"]

FIRST_VIEW = f"""
import json, sys
from paramshare_viz.app import make_dashboard
app = make_dashboard()
app.state.drawn = True  # what the page's heartbeat says once it has drawn
graph = app.tabs.panel("Explore").graph.widget
print(json.dumps({{
    "sent": sorted(graph.payloads),
    "heavy": [m for m in {HEAVY!r} if m in sys.modules],
}}))
"""


def run_fresh(code: str) -> dict:
    """``code`` in a new interpreter (this one has imported everything already); its last line as JSON."""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_first_view_sends_the_graph_and_imports_nothing_heavy():
    seen = run_fresh(FIRST_VIEW)
    assert seen["sent"] == ["shared", "twin"]  # the Explore graph's data went out, both sides
    assert seen["heavy"] == []


def test_counting_flops_does_not_import_dynamo():
    seen = run_fresh(
        "import json, sys, torch\n"
        "from paramshare_viz.analysis.flops import count_flops\n"
        "f = count_flops(torch.nn.Conv2d(3, 8, 3), torch.zeros(1, 3, 8, 8))\n"
        "print(json.dumps({'flops': f.forward, 'dynamo': 'torch._dynamo' in sys.modules}))"
    )
    # 8 output channels x 6 x 6 positions x (3 x 3 x 3) multiply-adds x 2 FLOPs = 15,552
    assert seen == {"flops": 15_552, "dynamo": False}


def test_flops_equal_torchs_own_counter():
    from torch.utils.flop_counter import FlopCounterMode

    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    x = torch.zeros(2, 3, 8, 8)
    with torch.no_grad(), FlopCounterMode(display=False) as torch_counter:
        model(x)
    # conv 2 x 8*6*6 x 27 x 2 = 31,104; linear 2 x 288 x 10 x 2 = 11,520: 42,624
    assert count_flops(model, x).forward == torch_counter.get_total_flops() == 42_624


def test_the_figure_json_is_what_plotlys_renderer_sends():
    fig = go.Figure(go.Bar(x=["shared", "twin"], y=[1.0, 12.0]))
    sent = pio.renderers["plotly_mimetype"].to_mimebundle(fig)["application/vnd.plotly.v1+json"]
    assert json.loads(figure_json(fig)) == sent
