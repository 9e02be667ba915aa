"""CLI specs resolve as people expect: module:factory from the current directory, hub ids explained."""

from __future__ import annotations

import subprocess
import sys

import pytest

import paramshare_viz as psv
from paramshare_viz.units import plural


def test_module_factory_is_found_in_the_current_directory(tmp_path, monkeypatch):
    (tmp_path / "my_local_model.py").write_text("import torch\ndef make():\n    return torch.nn.Linear(2, 3)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    model = psv.load_model("my_local_model:make")
    assert sum(p.numel() for p in model.parameters()) == 9  # 2*3 weights + 3 biases
    assert str(tmp_path) not in sys.path  # the path is not left behind


def test_console_script_finds_it_too(tmp_path):
    (tmp_path / "cwd_model.py").write_text("import torch\ndef make():\n    return torch.nn.Linear(2, 3)\n")
    exe = [sys.executable, "-c", "import sys; from paramshare_viz.cli import main; sys.exit(main(sys.argv[1:]))"]
    out = subprocess.run([*exe, "inspect", "cwd_model:make"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "cwd_model:make" in out.stdout


@pytest.mark.parametrize(
    ("hub_id", "model_type"),
    [("openai-community/gpt2", "gpt2"), ("google/flan-t5-small", "t5"), ("EleutherAI/gpt-neo-125M", "gpt_neo")],
)
def test_hub_id_says_no_download_and_what_to_pass(hub_id, model_type):
    with pytest.raises(ValueError) as err:
        psv.load_model(f"hf:{hub_id}")
    message = str(err.value)
    assert "Hugging Face Hub id" in message and "never downloads" in message
    assert f"'hf:{model_type}'" in message and "config.json" in message
    assert "no such file" not in message


def test_an_unknown_type_suggests_close_names_only(capsys):
    with pytest.raises(ValueError) as err:
        psv.load_model("hf:nonexistent_model")
    message = str(err.value)
    # no "did you mean xclip_text_model": nothing is close to "nonexistent" by name
    assert "close by name" not in message and "text_model" not in message
    assert "common types: hf:gpt2, hf:bert" in message
    with pytest.raises(ValueError, match="close by name: hf:gptj, hf:gpt2; common types"):
        psv.load_model("hf:gpt3")


def test_a_missing_json_is_still_no_such_file():
    with pytest.raises(ValueError, match="no such file or directory 'nowhere/config.json'"):
        psv.load_model("hf:nowhere/config.json")


def test_plurals_in_the_inspect_summary():
    import torch

    from paramshare_viz.analysis.summary import format_summary

    model = torch.nn.Linear(2, 3, bias=False)  # one state-dict name
    text = format_summary(psv.analyze(model), psv.check_ties(model))
    assert "save_model keeps 1 name, drops 0" in text


def test_plurals():
    assert plural(1, "name") == "1 name" and plural(2, "name") == "2 names" and plural(1_024, "thread") == "1,024 threads"
