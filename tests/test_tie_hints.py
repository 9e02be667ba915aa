"""Ties a saved file lost or copied, told from its names and values (real files, written by safetensors and torch)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_model
from torch import nn

import paramshare_viz as psv
from paramshare_viz.analysis.tie_hints import tie_hints
from paramshare_viz.app.inspect import inspect_cards, inspect_model
from paramshare_viz.plots.tie_tables import tie_health_html, tie_hints_html


class TiedHead(nn.Module):
    """A user's language model whose head is its embedding: ``head.weight`` is ``embed.weight``."""

    def __init__(self, bias: bool = True) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.norm1 = nn.LayerNorm(16)
        self.norm2 = nn.LayerNorm(16)
        self.body = nn.Linear(16, 16)
        self.head = nn.Linear(16, 100, bias=bias)
        self.head.weight = self.embed.weight  # tied


def inspect_file(path) -> tuple:
    ins = inspect_model(lambda: (psv.load_model(str(path)), f"file {path.name!r}"))
    return ins, {c.key: c for c in inspect_cards(ins)}["risk"]


def test_save_model_dropped_the_head(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "tied.safetensors"
    save_model(TiedHead(), str(path))  # keeps embed.weight, drops head.weight (one name per tie)
    ins, risk = inspect_file(path)
    assert not ins.report.groups and ins.health.ties_at_risk == []
    assert ins.hints.missing == (
        "head.bias is here but head.weight is not: that weight was saved under another name, likely a tie "
        "(safetensors' save_model keeps one name of a tie)",
    )
    assert risk.value == "0"
    assert risk.note == "no tensor is held under two names here; 1 sign of a tie lost or copied (see below)"
    assert "No tensor is held under two names here" in tie_health_html(ins.health)
    assert "head.bias is here but head.weight is not" in tie_hints_html(ins.hints)


def test_a_bias_free_head_leaves_an_embedding_without_a_head(tmp_path):
    path = tmp_path / "tied.safetensors"
    save_model(TiedHead(bias=False), str(path))
    hints = tie_hints(psv.load_model(str(path)))
    assert hints.missing == (
        "embed.weight looks like an input embedding and no output head is here: if the model ties its head "
        "to it, the head was saved under this one name and must be re-tied after loading",
    )


def test_gpt2_save_model_dropped_lm_head(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=50, n_positions=16)
    path = tmp_path / "gpt2.safetensors"
    save_model(transformers.GPT2LMHeadModel(config), str(path))
    hints = tie_hints(psv.load_model(str(path)))
    # save_model keeps lm_head.weight and drops transformer.wte.weight here
    assert hints.missing == (
        "lm_head.weight is here but transformer.wte.weight is not: GPT-2 ties transformer.wte.weight and "
        "lm_head.weight, so the tie was saved under fewer names (safetensors' save_model keeps one); "
        "re-tie after loading (tie_weights())",
    )


def test_equal_separate_copies_in_a_pt(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "copies.pt"
    torch.save(psv.untie(TiedHead()).state_dict(), path)  # the tie came apart: two equal tensors
    ins, risk = inspect_file(path)
    assert not ins.report.groups
    assert ins.hints.equal == (("embed.weight", "head.weight"),)
    assert ins.hints.lines == (
        "embed.weight and head.weight are equal bit for bit (same shape and dtype) but stored separately: "
        "a tie saved as copies (they would now train apart), or two tensors that happen to be equal",
    )
    # the two LayerNorms' weights (all ones) and biases (all zeros) are equal by initialisation: 2 groups
    # not listed
    assert ins.hints.constant_groups == 2
    assert risk.note.startswith("no tensor is held under two names here; 1 sign")


def test_a_kept_tie_is_no_hint(tmp_path):
    path = tmp_path / "tied.pt"
    torch.save(TiedHead().state_dict(), path)  # torch.save keeps the aliasing: one tensor, two names
    ins, risk = inspect_file(path)
    assert len(ins.report.groups) == 1 and ins.hints.lines == ()
    assert risk.note == "every tie survives" or "break" in risk.note
    assert "Nothing in the names and values suggests" in tie_hints_html(ins.hints)


def test_meta_models_are_checked_by_name_only():
    hints = tie_hints(psv.load_model("hf:gpt2"))  # both names present, tied
    assert hints.lines == () and not hints.checked_values


def test_the_cli_lists_the_signs(tmp_path, capsys):
    from paramshare_viz.cli import main

    path = tmp_path / "tied.safetensors"
    save_model(TiedHead(), str(path))
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Signs of a tie lost or copied (from the names and values):" in text
    assert "  - head.bias is here but head.weight is not" in text
    assert "no tensor is held under two names here" in text


def test_a_safetensors_file_reads_in_natural_order(tmp_path):
    from paramshare_viz.plots.tables import module_lines

    path = tmp_path / "deep.safetensors"
    save_model(nn.Sequential(*[nn.Linear(2, 2) for _ in range(12)]), str(path))  # stored as 0, 1, 10, 11, 2, ...
    lines = module_lines(psv.analyze(psv.load_model(str(path))))
    assert [line.name for line in lines] == ["", *map(str, range(12))]
