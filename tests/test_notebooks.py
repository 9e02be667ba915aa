"""Every notebook runs top to bottom in a real kernel, and shows what it should."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from paramshare_viz import tutorial

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
TUTORIALS = sorted((REPO / "notebooks").glob("0[1-6]_*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"
WHEN_TABLE = "| situation | measured here | share? |"


@functools.cache  # each notebook runs once per session; several tests read its outputs
def execute(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    # Warnings a reader would see become errors (test_notebook_runs_without_errors reports them): the
    # categories library code raises at users (e.g. torch's "requires_grad=True to a scalar" UserWarning).
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import warnings\nfor category in (UserWarning, RuntimeWarning, FutureWarning):\n"
        "    warnings.simplefilter('error', category)"
    ))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    return nb


def outputs(name: str) -> list[dict]:
    nb = execute(REPO / "notebooks" / name)
    return [o for c in nb.cells for o in c.get("outputs", [])]


def shown(name: str) -> str:
    """Everything a reader sees as text: Markdown, printed text, plain reprs."""
    parts = []
    for o in outputs(name):
        data = o.get("data", {})
        parts += [o.get("text", ""), data.get("text/markdown", ""), data.get("text/plain", "")]
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_without_errors(path):
    nb = execute(path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_shows_no_warning(path):
    """Nothing on stderr that reads as a warning (other categories than those raised as errors above)."""
    nb = execute(path)
    stderr = [o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not [t for t in stderr if "Warning" in t], stderr


def test_the_tutorials_are_all_there():
    assert [p.name for p in TUTORIALS] == [
        "01_spatial_sharing.ipynb", "02_temporal_sharing.ipynb", "03_cross_layer_sharing.ipynb",
        "04_tied_embeddings.ipynb", "05_multitask_siamese_lora.ipynb", "06_learned_tying.ipynb",
    ]


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_tutorial_prose_types_no_numbers(path):
    """Numbers come from outputs; Markdown cells hold none (names such as GPT-2 or L1 aside)."""
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = re.sub(r"^\s*\d+\. ", "", "".join(cell["source"]), flags=re.M)  # list markers
        text = re.sub(r"\b[A-Za-z][\w-]*\d[\w-]*", "", text)  # names: GPT-2, GPT2LMHeadModel, L1, Conv2d
        assert not re.search(r"\d", text), f"a typed number in {path.name}: {''.join(cell['source'])[:200]}"


def markdown_outputs(name: str) -> list[str]:
    return [o["data"]["text/markdown"] for o in outputs(name) if "text/markdown" in o.get("data", {})]


def section_outputs(name: str) -> dict[str, str]:
    """``{"## " heading: everything its cells show as text}``, in the executed notebook."""
    sections: dict[str, str] = {}
    heading = ""
    for cell in execute(REPO / "notebooks" / name).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    heading = line[3:].strip()
                    sections.setdefault(heading, "")
            continue
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            sections[heading] = sections.get(heading, "") + "\n".join(
                [o.get("text", ""), data.get("text/markdown", ""), data.get("text/plain", "")])
    return sections


def ledger_rows(name: str) -> list[tuple[str, str]]:
    """``(claim, evidence)`` rows of the claims ledger, the notebook's last Markdown output."""
    ledger = markdown_outputs(name)[-1]
    assert ledger.startswith(tutorial.LEDGER_TITLE)
    rows = [line for line in ledger.splitlines() if line.startswith("| ")][1:]  # the header row aside
    return [tuple(c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)[1:-1]) for row in rows]


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_tutorial_ends_with_when_to_share_references_and_claims(path):
    md = markdown_outputs(path.name)
    assert WHEN_TABLE in md[-3]
    assert md[-2].startswith("**References**") and "(" in md[-2]
    assert md[-1].startswith(tutorial.LEDGER_TITLE)


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_every_claim_is_computed_or_sourced(path):
    """Each ledger row is computed (its figure appears in an output of the section it names)
    or sourced (authors, year, where in the paper, and the figure or statement taken from it)."""
    sections = section_outputs(path.name)
    rows = ledger_rows(path.name)
    assert len(rows) >= 3
    for claim, evidence in rows:
        assert claim
        computed = re.fullmatch(r"computed in “(.+?)”: `(.+)`", evidence)
        if computed:
            assert computed[1] in sections, f"{path.name}: {claim!r} names no section of the notebook"
            assert computed[2] in sections[computed[1]], f"{path.name}: {claim!r}: {computed[2]!r} is not shown there"
        else:
            assert re.fullmatch(r"source: .+ \(\d{4}\), (Table|Section|Appendix|abstract)[^:]*: .+", evidence), (
                f"{path.name}: {claim!r} is neither computed nor sourced: {evidence!r}"
            )


def test_spatial_checks_a_claim_a_reader_could_get_wrong_and_shows_the_slide_panel():
    text = shown("01_spatial_sharing.ipynb")
    # 64 kernels of 3*3*3 weights + 64 biases = 64*27 + 64 = 1,792; the shortcut 3*3*64 = 576; 1792/576 = 3.11
    assert "holds **1,792** = 64 × (3·3·3) weights + 64 biases: the claim is wrong by 3.11×." in text
    assert "| 32×32 | 1,792 | 1,835,008 | 201,392,128 |" in text  # 32*32 positions * 1,792; (3*32*32) * (64*32*32) + 64*32*32
    # no padding: 62*62 = 3,844 positions * 1,792 = 6,888,448
    assert "Without padding the output is 62×62 and the twin holds 6,888,448 (3,844×)." in text
    assert "its relative error **exactly zero**" in text  # a conv commutes with a shift, bit for bit here
    assert "an own projection per patch would hold **115,756,032** (196×)" in text  # 196 * 590,592
    assert any(WIDGET in o.get("data", {}) for o in outputs("01_spatial_sharing.ipynb"))


def test_temporal_counts_are_flat_and_flops_equal():
    text = shown("02_temporal_sharing.ipynb")
    # one LSTM cell 32 -> 64: 4*64*(32 + 64) + 2*4*64 = 25,088; plus the learned h0 and c0 (2*64) = 25,216
    assert "The LSTM holds 25,216 parameters at every length; its twin adds 25,088 per step" in text
    assert "FLOPs are the same" in text
    # the 8-step twin needs cells 5-7: 3 cells * 4 tensors (weight_ih, weight_hh, bias_ih, bias_hh) = 12
    assert "| shared | loads |" in text
    assert "does not load: the 8-step model needs 12 tensors the 5-step state dict does not have" in text
    assert "produced **6 different** input matrices" in text  # one B per step of a selective projection


def test_cross_layer_measures_albert_ratios_and_compute():
    text = shown("03_cross_layer_sharing.ipynb")
    base, large = tutorial.albert_claim("ALBERT-base"), tutorial.albert_claim("ALBERT-large")
    # HF: albert-base-v2 11,683,584; bert-base-uncased 109,482,240 -> 9.4x; large 17,683,968 vs 335,141,888 -> 19.0x
    assert (base.albert, base.bert, large.albert, large.bert) == (11_683_584, 109_482_240, 17_683_968, 335_141_888)
    # Lan et al. (2020), Table 1: 108M / 12M = 9.0x, 334M / 18M = 18.6x
    assert "| ALBERT-base | 11,683,584 | 89,650,176 | 109,482,240 | 9.4× | 9.0× |" in text
    assert "| ALBERT-large | 17,683,968 | 307,397,120 | 335,141,888 | 19.0× | 18.6× |" in text
    assert "are **1.00×** of ALBERT's: every layer still runs" in text  # FLOPs equal, parameters do not
    assert "measured time follows" not in text and "2000s" not in text  # no unmeasured timing claim, no strawman
    assert "over 5 seeds" in text  # the capacity and LayerNorm claims rest on several seeds, with their range


def test_tied_embeddings_saving_is_vocab_times_width():
    text = shown("04_tied_embeddings.ipynb")
    assert "The tie saves **38,597,376** = 50,257 × 768 (vocab × width): exactly one embedding matrix." in text
    # 50,000 * 512 = 25,600,000 of 70,377,472 untied = 36%; GPT-2: 38,597,376 / 163,037,184 = 24%
    assert "The untied head is **25,600,000** parameters, **36%** of the untied model" in text
    assert "in GPT-2 small, with more and wider layers, it is **24%**" in text
    assert "`load_model` into a fresh tied model: the tie is **still there**" in text
    assert "`load_file` into the untied twin (`strict=False`): missing `wte.weight`" in text  # save_model kept lm_head
    assert any(WIDGET in o.get("data", {}) for o in outputs("04_tied_embeddings.ipynb"))  # psv.show


def test_multitask_lora_gqa_each_answer_their_question():
    text = shown("05_multitask_siamese_lora.ipynb")
    assert "262,144 trainable parameters in all (65,536 per task)" in text  # 4 tasks * 8 * (4096 + 4096)
    # LoRA: base 4096^2 * 4 B frozen + 262,144 * (4 + 4 + 8) B = 71,303,168 (+ Adam's step counters);
    # 4 full copies: 4 * 4096^2 * 16 B = 1,073,741,824 (+ Adam's step counters): 15.1x, activations not counted
    assert "| total (no activations) | 71,303,200 | 1,073,741,840 | 15.1 |" in text
    assert "`branch` runs 2×" in text
    # Llama-2-70B: 2 (K, V) * 80 layers * 128 dims * 2 bytes = 40,960 B per K/V head per token;
    # 8 heads: 327,680 B; 64 heads: 2,621,440 B; at 4,096 tokens * batch 8: 10.0 vs 80.0 GiB
    assert "| K/V cache per token, 80 layers, float16 (bytes) | 327,680 | 2,621,440 | 8× |" in text
    assert "| K/V cache, context 4,096, batch 8 (GiB) | 10.0 | 80.0 | 8× |" in text
    assert "| parameters of one attention layer | 150,994,944 | 268,435,456 | 1.8× |" in text
    assert "| related (odd or even) |" in text and "| unrelated (random projection bins) |" in text
    assert "gqa 1.40×" not in text  # GQA is not sharing across tasks


def test_learned_tying_shows_its_three_methods():
    nb = "06_learned_tying.ipynb"
    text = shown(nb)
    assert "**2 entries exactly zero** (`out == 0`)" in text  # -0.2 and 0.1 fall below their thresholds
    assert "found 4 groups to tie" in text  # the four planted groups
    assert "over 5 seeds" in text and "| ∞ (hard sharing) |" in text
    # 64*32 = 2,048 virtual weights at 1/64: 32 buckets + 32 biases + 32*10 + 10 = 394; dense 64*32 + 32 + 330 = 2,410
    assert "shrinks the whole network from 2,410 to 394 parameters: **6.1×**, not 64×" in text
    assert sum(PLOTLY in o.get("data", {}) for o in outputs(nb)) == 3


def test_dashboard_notebook_displays_the_app():
    assert any(WIDGET in o.get("data", {}) for o in outputs("dashboard.ipynb"))


def test_inspect_notebook_shows_gpt2_tie():
    text = shown("07_inspect_your_model.ipynb")
    assert "naive 163,037,184  unique 124,439,808  saved 38,597,376" in text  # wte counted twice by a naive sum
    assert "['lm_head.weight', 'transformer.wte.weight']" in text
    # ALBERT's one block runs once per layer: 6 calls of one object, not 6 per name
    assert "one Block object under 6 names (layers.0, layers.1, layers.2, layers.3, layers.4, layers.5): 6 forward calls in all" in text
    assert "'layers.0': 6" not in text
    # GPT-2 is built on meta: every operation is simulated, predicted or dry-run, and the notebook says which
    assert "torch_save               predicted: torch.save writes each storage once" in text
    assert "safetensors_save_model   dry run" in text
    assert any(WIDGET in o.get("data", {}) for o in outputs("07_inspect_your_model.ipynb"))  # psv.show(mine)
