"""``paramshare-viz bench``: one config table, a sweep with CSV/HTML, JSON, plain-words errors."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from paramshare_viz.analysis.loading import parse_value
from paramshare_viz.cli import main

FAST = ["--min-time", "0", "--threads", "1"]


def test_one_config_prints_the_comparison_table(capsys):
    assert main(["bench", "conv", "image_size=6", *FAST]) == 0
    out = capsys.readouterr().out
    assert "conv {'image_size': 6}: shared vs unshared twin" in out and "1 thread, the default" in out
    for label in (
        "unique parameters",
        "FLOPs forward",
        "FLOPs backward",
        "intensity FLOP/B",
        "training memory",
        "measured peak",
        "time forward (median ± IQR)",
        "time fwd+bwd (median ± IQR)",
        "twin ÷ shared: the twin's number divided by the shared model's",
        "parameters + buffers",
        "median over turns of (twin time / shared time)",
    ):
        assert label in out
    # 8 * 3*3*3 + 8 = 224 parameters shared; 6*6 = 36 positions with a kernel each in the twin
    params = next(line for line in out.splitlines() if line.startswith("unique parameters"))
    assert params.split()[2:] == ["224", "8.06k", "36x"]
    flops = next(line for line in out.splitlines() if line.startswith("FLOPs forward"))
    assert flops.split()[-1] == "1x"  # sharing saves parameters, not FLOPs
    assert "dispatch-tracked tensors" in out


def test_json_and_no_backward(capsys):
    assert main(["bench", "rnn", "seq_len=3", "--json", "--no-backward", *FAST]) == 0
    out = json.loads(capsys.readouterr().out)
    row = out["row"]
    assert out["form"] == "rnn" and out["overrides"] == {"seq_len": 3} and out["threads"] == 1
    assert "time_bwd_twin_over_shared" not in row and "flops_bwd_shared" not in row
    assert row["flops_fwd_shared"] == row["flops_fwd_unshared"]


def test_sweep_writes_csv_and_html(capsys, tmp_path):
    csv_path, html_path = tmp_path / "s.csv", tmp_path / "s.html"
    argv = [
        "bench",
        "conv",
        "--knob",
        "image_size",
        "--values",
        "4,6",
        "--csv",
        str(csv_path),
        "--html",
        str(html_path),
        "--metric",
        "peak",
        *FAST,
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("conv: shared vs twin over image_size")
    assert [line.split()[0] for line in lines[3:5]] == ["4", "6"]
    assert lines[5].startswith("times: median ± IQR per call; twin ÷ shared: median over turns")
    assert "image_size" in captured.err  # the tqdm bar, on stderr
    rows = list(csv.DictReader(csv_path.open()))
    assert [r["image_size"] for r in rows] == ["4", "6"] and rows[1]["params_unshared"] == str(36 * 224)
    assert html_path.stat().st_size > 1000


def test_sweep_json(capsys):
    assert (
        main(["bench", "conv", "--knob", "out_channels", "--values", "2,4", "--json", "image_size=4", *FAST])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["knob"] == "out_channels" and out["overrides"] == {"image_size": 4}
    assert [r["params_shared"] for r in out["rows"]] == [2 * 27 + 2, 4 * 27 + 4]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "conv", "image_size"], "write field=value"),
        (["bench", "nope"], "form='nope' is not a sharing form"),
        (["bench", "conv", "image_size=0"], "image_size=0"),
        (["bench", "conv", "--knob", "image_size"], "--knob and --values go together"),
        (["bench", "conv", "--knob", "image_size", "--values", "4,0"], "image_size=0"),
        (["bench", "conv", "--knob", "depth", "--values", "1"], "unknown config field"),
        (["bench", "conv", "--html", "x.html", "--metric", "colour"], "--metric 'colour' unknown"),
        # before anything is measured: a missing folder used to end a long run in a traceback
        (["bench", "conv", "--csv", "no/such/folder/x.csv"], "--csv no/such/folder/x.csv: the folder no/such/folder does not exist"),
        pytest.param(
            ["bench", "conv", "--device", "cuda"],
            "no CUDA GPU",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without a GPU"),
        ),
    ],
)
def test_errors_are_plain_words(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("paramshare-viz bench: ") and message in err and "Traceback" not in err


def test_values_parse_like_config_fields():
    assert [parse_value(v) for v in ("16", "0.5", "true", "False", "lstm")] == [16, 0.5, True, False, "lstm"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; CI machines have none")
def test_cuda(capsys):
    assert main(["bench", "conv", "--device", "cuda", "--json", *FAST]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["device"].startswith("cuda") and out["row"]["peak_method"] == "cuda.max_memory_allocated"
