"""Learn tab figure builders on seeded short runs: trimmed golden JSON (``PSV_UPDATE_GOLDEN=1`` rewrites)."""

from __future__ import annotations

import json

import pytest

from paramshare_viz.learn.growl import GrowlConfig, two_stage
from paramshare_viz.learn.hashing import hashing_tradeoff
from paramshare_viz.learn.soft_tying import SoftTyingConfig, train_soft_tied
from paramshare_viz.plots.learn import make_growl_figure, make_hashing_figure, make_soft_tying_figure
from tests.test_slide_figures import check_golden

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def trimmed(fig) -> dict:
    """Titles and each trace's numbers and words; no template or styling. Floats to 4 digits."""
    d = json.loads(fig.to_json())

    def rounded(v):
        if isinstance(v, float):
            return round(v, 4)
        return [rounded(x) for x in v] if isinstance(v, list) else v

    keep = ("type", "name", "x", "y", "text", "customdata")
    return {
        "title": d["layout"]["title"]["text"],
        "subplots": [a["text"] for a in d["layout"].get("annotations", [])],
        "traces": [{k: rounded(t[k]) for k in keep if k in t} for t in d["data"]],
    }


def test_soft_tying_figure():
    run = train_soft_tied(SoftTyingConfig(lam=0.1, steps=20, train_size=40, record_every=5))
    check_golden("learn_soft_tying", trimmed(make_soft_tying_figure(run)))


def test_growl_figure():
    result = two_stage(GrowlConfig(steps=40, retrain_steps=10))
    check_golden("learn_growl", trimmed(make_growl_figure(result)))


def test_hashing_figure():
    result = hashing_tradeoff((1, 8), hidden=8, steps=10)
    check_golden("learn_hashing", trimmed(make_hashing_figure(result.points, result.models[8][0].index)))
