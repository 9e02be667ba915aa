"""Presets of published models: every one builds on meta, counts match the forms' formulas
and the published (or Hugging Face) figures; Explore's preset menu."""

from __future__ import annotations

import re

import pytest

import paramshare_viz as psv
from paramshare_viz.app import make_dashboard
from paramshare_viz.app.explore import CUSTOM, DEFAULT
from paramshare_viz.models import presets, registry
from paramshare_viz.views.explore import EXPLORE_BUDGETS, counting_device

CASES = [(form, name) for form in psv.zoo.forms() for name in psv.zoo.presets(form)]

#: Forms whose shared model reaches one tensor under several names (a block per layer slot,
#: a head that *is* the embedding): there the naive count (per name) is the twin's count.
SHARE_BY_NAME = {"albert", "universal_transformer", "tied_embeddings"}


def counts(form: str, name: str) -> tuple[psv.SharingReport, psv.SharingReport]:
    shared, twin = psv.zoo.pair(form, device="meta", **psv.zoo.presets(form)[name])
    assert {p.device.type for p in [*shared.parameters(), *twin.parameters()]} == {"meta"}
    return psv.analyze(shared), psv.analyze(twin)


def test_every_form_has_presets():
    assert all(psv.zoo.presets(form) for form in psv.zoo.forms())


@pytest.mark.parametrize(("form", "name"), CASES)
def test_preset_counts_follow_the_form_formula(form, name):
    config = psv.zoo.make_config(form, **psv.zoo.presets(form)[name])
    formula = registry.get(form).param_count
    shared, twin = counts(form, name)
    assert shared.unique_params == formula(config, True)
    assert twin.unique_params == twin.naive_params == formula(config, False)  # the twin shares nothing
    assert shared.naive_params == (formula(config, False) if form in SHARE_BY_NAME else shared.unique_params)
    assert twin.unique_params > shared.unique_params


def test_albert_base_is_hugging_faces_albert_model():
    shared, twin = counts("albert", "ALBERT-base")
    # embeddings (30000 + 512 + 2) * 128 + 2 * 128 = 3,906,048; projection 128 * 768 + 768 = 99,072;
    # one block 4 (768^2 + 768) + 2 * 768 * 3072 + 3072 + 768 + 4 * 768 = 7,087,872; pooler 768^2 + 768
    # = 590,592: 11,683,584, HF AlbertModel(albert-base-v2).
    assert shared.unique_params == 3_906_048 + 99_072 + 7_087_872 + 590_592 == 11_683_584
    assert twin.unique_params == 11_683_584 + 11 * 7_087_872  # the 11 other layers' blocks


def test_bert_base_is_the_twin_of_one_shared_block():
    shared, twin = counts("albert", "BERT-base, one shared block")
    # (30522 + 512 + 2) * 768 + 2 * 768 = 23,837,184; 12 blocks * 7,087,872 = 85,054,464;
    # pooler 590,592: 109,482,240, HF BertModel(bert-base-uncased).
    assert twin.unique_params == 23_837_184 + 12 * 7_087_872 + 590_592 == 109_482_240
    assert shared.unique_params == 23_837_184 + 7_087_872 + 590_592 == 31_515_648


def test_gpt2_small_tied_head():
    shared, twin = counts("tied_embeddings", "GPT-2 small")
    assert shared.unique_params == 124_439_808  # HF GPT2LMHeadModel (gpt2)
    # The head is the embedding: 50,257 * 768 = 38,597,376 saved.
    assert twin.unique_params - shared.unique_params == 50_257 * 768 == 38_597_376
    (group,) = shared.groups
    assert group.names == ["lm_head.weight", "wte.weight"] and group.saving == 38_597_376


@pytest.mark.parametrize(
    ("form", "name", "shared", "twin"),
    [
        # LeCun et al. (1998): C1 has 156 parameters and 122,304 connections (28 * 28 * 156).
        ("conv", "LeNet-5 C1", 156, 122_304),
        # 64 * 3 * 7 * 7 = 9,408 (torchvision resnet50 conv1); 112 * 112 = 12,544 positions.
        ("conv", "ResNet-50 stem", 9_408, 12_544 * 9_408),
        # 768 * 3 * 16 * 16 + 768 = 590,592 (timm vit_base_patch16_224.patch_embed); 196 patches.
        ("patch_embed", "ViT-B/16 at 224", 590_592, 196 * 590_592),
        # q, o: 2 * 8192^2; k, v: 2 * 8192 * (8 * 128) = 150,994,944; the twin 4 * 8192^2.
        ("gqa", "Llama-2-70B attention", 150_994_944, 4 * 8192**2),
        # 2 * 4096^2 + 2 * 4096 * (8 * 128) = 41,943,040.
        ("gqa", "Mistral-7B attention", 41_943_040, 4 * 4096**2),
        # 4096^2 + 4 tasks * 8 * (4096 + 4096) = 17,039,360; the twin 4 * 4096^2.
        ("lora", "rank 8, 4096x4096, 4 tasks", 4096**2 + 4 * 8 * 8192, 4 * 4096**2),
        # 784,000 virtual weights at 1/64: 12,250 buckets + 1000 biases.
        ("hashednet", "784 -> 1000 at 1/64", 12_250 + 1000, 784_000 + 1000),
    ],
)
def test_published_figures(form, name, shared, twin):
    s, t = counts(form, name)
    assert (s.unique_params, t.unique_params) == (shared, twin)


def test_hugging_face_models_on_meta_agree():
    transformers = pytest.importorskip("transformers")
    import torch

    with torch.device("meta"):
        hf_albert = transformers.AlbertModel(transformers.AlbertConfig(
            vocab_size=30000, embedding_size=128, hidden_size=1024, num_hidden_layers=24,
            num_attention_heads=16, intermediate_size=4096,
        ))
        hf_bert = transformers.BertModel(transformers.BertConfig())  # bert-base-uncased sizes
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert counts("albert", "ALBERT-large")[0].unique_params == n(hf_albert) == 17_683_968
    assert counts("albert", "BERT-base, one shared block")[1].unique_params == n(hf_bert) == 109_482_240


def test_every_preset_names_its_source():
    for form, name in CASES:
        assert re.search(r"\(\d{4}\)", presets.source(form, name)), (form, name)  # who and when
    assert presets.source("albert", "no such preset") == ""


def test_presets_are_copies_and_forms_are_checked():
    psv.zoo.presets("albert")["ALBERT-base"]["hidden_size"] = 1
    assert psv.zoo.presets("albert")["ALBERT-base"]["hidden_size"] == 768
    with pytest.raises(ValueError, match="form='bert' is not a sharing form"):
        psv.zoo.presets("bert")


def test_counting_device_moves_large_sizes_to_meta():
    def config(form: str, preset: str | None = None, **overrides):
        return psv.zoo.make_config(form, **(psv.zoo.presets(form)[preset] if preset else overrides))

    assert counting_device("conv", config("conv", "LeNet-5 C1"), "cpu", "float32") == ("cpu", "")
    where, note = counting_device("albert", config("albert", "BERT-base, one shared block"), "cpu", "float32")
    # 109,482,240 * 4 bytes = 417.6 MiB for the twin, over the page's 64 MiB on cpu.
    assert where == "meta" and EXPLORE_BUDGETS["cpu"] == 64 * 1024**2
    assert note.startswith("counted without allocating; too large to time here: 417.6 MiB twin > 64.0 MiB budget")
    assert counting_device("albert", config("albert"), "meta", "float32") == ("meta", "")
    # Few parameters but a forward of 1,000 steps: over the zoo's own budget on cpu, counted on meta.
    where, note = counting_device("rnn", config("rnn", seq_len=1000), "cpu", "float32")
    assert where == "meta" and note == (
        "counted without allocating, because on cpu: rnn: seq_len=1,000 would run about 7,002 tensor operations "
        "in one forward of the shared model, over the limit of 5,000 that can be counted in a few seconds; "
        "seq_len=714 fits."  # not "or count it on the meta device": it is counted there
    )


def test_explore_preset_menu_fills_the_fields_and_says_custom():
    app = make_dashboard()
    panel = app.tabs.panel("Explore")
    app.state.form = "albert"
    assert panel.preset.options[0] == DEFAULT and panel.preset.options[-1] == CUSTOM
    panel.preset.value = "ALBERT-base"
    assert panel.editor.inputs["hidden_size"].value == "768" and panel.editor.inputs["add_pooler"].value is True
    assert "Lan et al. (2019)" in panel.preset_source.value  # the source, beside the menu
    assert 'data-key="shared"' in panel.cards.value and "11,683,584" in panel.cards.value
    assert "counted without allocating" in panel.bars.value and app.state.status_level == "info"
    assert "one block reused at 12 layers" in panel.cards.value  # on meta no forward runs to count calls
    panel.editor.inputs["num_layers"].value = "6"
    assert panel.preset.value == CUSTOM
    # The shared model does not grow with depth; the twin holds 6 blocks: 11,683,584 + 5 * 7,087,872.
    assert "11,683,584" in panel.cards.value and "47,122,944" in panel.cards.value
    app.state.form = "gqa"
    assert panel.preset.value == DEFAULT and "Llama-2-70B attention" in panel.preset.options


def test_preset_notes_state_what_the_counts_show():
    name = "Small LM: vocab 50k x width 512"
    shared, twin = counts("tied_embeddings", name)
    # the head is 50,000 * 512 = 25,600,000 of the untied model's 70,377,472: 36.4%, not "most of the model"
    assert twin.unique_params - shared.unique_params == 50_000 * 512 == 25_600_000
    assert twin.unique_params == 70_377_472 and round(100 * 25_600_000 / 70_377_472) == 36
    assert "25,600,000) is 36% of the untied model (70,377,472)" in presets.source("tied_embeddings", name)
    lora = presets.source("lora", "rank 8, 4096x4096, 4 tasks")
    assert "Hu et al. (2021)" in lora and "Touvron et al., 2023" in lora  # LoRA is 2021, Llama 2 is 2023
    assert "selective" in presets.source("ssm", "Mamba-130M scan (1536 x 16, 2048 steps)")
