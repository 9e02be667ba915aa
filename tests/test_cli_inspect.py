"""``paramshare-viz inspect SPEC [--json] [--input-shape ...]``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import paramshare_viz as psv
from paramshare_viz.analysis.summary import format_summary
from paramshare_viz.cli import main


def _inspect(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["inspect", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_hf_gpt2_summary(capsys) -> None:
    pytest.importorskip("transformers")
    code, out, err = _inspect(capsys, "hf:gpt2")
    assert code == 0, err
    assert out.startswith("GPT2LMHeadModel  (hf:gpt2, meta)\n")
    assert "163,037,184" in out and "124,439,808" in out  # naive, unique
    assert "38,597,376 (23.7%)" in out  # the saving: the tied head, 50257 * 768
    assert "lm_head.weight, transformer.wte.weight" in out
    assert "Ties at risk (1):" in out
    assert "dropped as a separate key by safetensors save_model: transformer.wte.weight" in out


def test_hf_gpt2_json(capsys) -> None:
    pytest.importorskip("transformers")
    code, out, _ = _inspect(capsys, "hf:gpt2", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["spec"] == "hf:gpt2" and data["model_class"] == "GPT2LMHeadModel"
    assert (data["naive_params"], data["unique_params"]) == (163_037_184, 124_439_808)
    assert data["groups"][0]["names"] == ["lm_head.weight", "transformer.wte.weight"]
    health = data["tie_health"]
    assert health["safetensors"]["dropped"] == {"transformer.wte.weight": "lm_head.weight"}
    assert health["groups"][0]["survives"]["meta_to_empty"] is False
    assert data["calls"] is None  # no input shape, no forward


def test_hf_input_shape_counts_flops_on_meta(capsys) -> None:
    pytest.importorskip("transformers")
    code, out, err = _inspect(capsys, "hf:gpt2", "--input-shape", "1,8", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["calls"]["transformer.h.0"] == 1
    assert data["flops"]["forward"] > 0


def test_zoo_spec_runs_its_example_input(capsys) -> None:
    code, out, _ = _inspect(capsys, "zoo:albert?num_layers=4", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["calls"]["layers.0"] == 4  # one shared block, called once per layer
    assert data["unique_params"] < data["naive_params"]
    code, out, _ = _inspect(capsys, "zoo:albert?num_layers=4")
    # the block and its 10 sublayers with parameters (attention + 4 projections, ffn + 2, 2 norms), not
    # its dropout: 11 module objects, each under 4 names
    assert "Modules with parameters called more than once per forward (11 module objects):" in out
    assert "4 x  layers.0, layers.1, layers.2, ... and 1 more" in out


def test_pt_file_with_tie(capsys, tmp_path) -> None:
    w = torch.randn(6, 3)
    path = tmp_path / "tied.pt"
    torch.save({"emb.weight": w, "head.weight": w}, path)
    code, out, _ = _inspect(capsys, str(path))
    assert code == 0
    # naive 2 names * 6*3 = 36, unique 18, saving 18
    assert re.search(r"^parameters\s+36\s+18\s+18 \(50\.0%\)$", out, re.MULTILINE)
    assert "same-tensor" in out and "emb.weight, head.weight" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-spec"], "is not a model spec"),
        (["hf:gpt"], "is not a Hugging Face model type"),
        (["zoo:albert?num_layers=1"], "num_layers=1 must be at least 2"),
        (["missing.pt"], "no such file"),
        (["zoo:albert", "--input-shape", "2,3,32,32"], "the forward on shape 2,3,32,32 failed"),
    ],
)
def test_errors_are_one_plain_line(capsys, args, message) -> None:
    code, out, err = _inspect(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("paramshare-viz inspect: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_malicious_pickle_via_cli(capsys, tmp_path) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"x": Payload()}, path)
    code, _, err = _inspect(capsys, str(path))
    assert code == 2 and "not loaded for safety" in err
    assert not marker.exists()


def test_bad_input_shape_is_an_argparse_error(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["inspect", "zoo:albert", "--input-shape", "2,zero"])
    assert info.value.code == 2
    assert "not a shape" in capsys.readouterr().err


def test_console_script(tmp_path) -> None:
    script = Path(sys.executable).parent / "paramshare-viz"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "paramshare_viz.cli"]
    w = torch.randn(4, 2)
    path = tmp_path / "m.pt"
    torch.save({"a": w, "b": w[:2]}, path)
    done = subprocess.run(
        [*command, "inspect", str(path), "--json"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["model_class"] == "StateDictModule"
    assert [g["names"] for g in data["groups"]] == [["a", "b"]]
    assert data["tie_health"]["groups"][0]["survives"]["torch_save"] is True


def test_format_summary_is_pure_and_caps_long_lists(capsys) -> None:
    model = psv.zoo.build("albert", num_layers=4)  # one block: 16 tensors, each a 4-name group
    report = psv.analyze(model)
    text = format_summary(report, title="Albert")
    assert capsys.readouterr().out == ""  # returns, never prints
    assert text.startswith("Albert\n======\n") and text.endswith("\n")
    assert "Sharing groups (16):" in text and "... and 4 more groups (--json lists all)" in text
    assert "Tie health" not in text  # no health given
    with_health = format_summary(report, psv.check_ties(model, report=report), max_groups=20)
    assert "Ties at risk (16):" in with_health and "more groups" not in with_health
