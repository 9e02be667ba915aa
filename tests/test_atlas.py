"""The tie atlas: every transformers model type, its counts equal to analyze, cached, stoppable, searchable."""

from __future__ import annotations

import json
import threading

import pytest

transformers = pytest.importorskip("transformers")

from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES  # noqa: E402

import paramshare_viz as psv  # noqa: E402
from paramshare_viz.analysis import atlas  # noqa: E402
from paramshare_viz.analysis.atlas import (  # noqa: E402
    AtlasRow,
    atlas_row,
    build_default,
    cache_path,
    iter_atlas,
    model_types,
    plain_reason,
    read_cache,
    select_rows,
)

# Built for real in these tests: a causal LM, a masked LM with factorised embeddings, an encoder-decoder,
# and a part of a larger model that no Auto class maps (built from its own model class).
BUILT = ["gpt2", "albert", "t5", "align_text_model"]


@pytest.fixture(scope="module")
def rows() -> dict[str, AtlasRow]:
    return {t: atlas_row(t) for t in BUILT}


def test_model_types_are_transformers_config_mapping():
    assert model_types() == sorted(CONFIG_MAPPING_NAMES, key=str.lower)
    assert {"gpt2", "bert", "albert", "t5", "llama"} <= set(model_types())


def test_the_atlas_lists_every_model_type(tmp_path):
    """Every type of the mapping gets a row: cached ones read back, the rest built (here two, to stay fast)."""
    path = cache_path(tmp_path)
    missing = ["autoformer", "gpt2"]
    placeholders = [AtlasRow(t, error="placeholder") for t in model_types() if t not in missing]
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in placeholders))
    steps = list(iter_atlas(cache=path))
    assert [s.row.model_type for s in steps if not s.from_cache] == missing  # only those were built
    assert sorted(s.row.model_type for s in steps) == sorted(CONFIG_MAPPING_NAMES)
    assert [s.done for s in steps] == list(range(1, len(CONFIG_MAPPING_NAMES) + 1))
    assert {s.total for s in steps} == {len(CONFIG_MAPPING_NAMES)}
    # The built rows were appended to the cache: the next run reads all of them.
    assert set(read_cache(path)) == set(CONFIG_MAPPING_NAMES)


@pytest.mark.parametrize("model_type", BUILT)
def test_row_counts_equal_analyze_on_the_same_model(rows, model_type):
    report = psv.analyze(build_default(model_type))
    row = rows[model_type]
    assert row.error == ""
    assert (row.naive_params, row.unique_params) == (report.naive_params, report.unique_params)
    assert row.tied == [g.names for g in report.groups]


def test_gpt2_row(rows):
    row = rows["gpt2"]
    assert row.model_class == "GPT2LMHeadModel"
    # wte 50257*768 + wpe 1024*768 + 12 blocks * 7,087,872 + ln_f 2*768 = 124,439,808 held;
    # the head is wte under a second name, so naive adds 50257*768 = 38,597,376.
    assert row.unique_params == 124_439_808
    assert row.naive_params == 124_439_808 + 50257 * 768
    assert row.tied == [["lm_head.weight", "transformer.wte.weight"]]
    assert row.dropped == {"transformer.wte.weight": "lm_head.weight"}  # save_model keeps the sorted-first name


def test_t5_row_one_tensor_under_four_names(rows):
    row = rows["t5"]
    assert row.tied == [["decoder.embed_tokens.weight", "encoder.embed_tokens.weight", "lm_head.weight", "shared.weight"]]
    assert sorted(row.dropped) == ["encoder.embed_tokens.weight", "lm_head.weight", "shared.weight"]
    assert set(row.dropped.values()) == {"decoder.embed_tokens.weight"}
    assert row.saving == 3 * 32128 * 512  # vocab 32,128 x d_model 512, held once instead of four times


def test_part_of_a_larger_model_is_built_from_its_own_class(rows):
    assert rows["align_text_model"].model_class == "AlignTextModel"
    assert rows["align_text_model"].unique_params > 0


def test_a_type_that_does_not_build_says_why_in_plain_words():
    row = atlas_row("autoformer")  # its default config leaves prediction_length unset
    assert row.model_class == "" and row.unique_params == 0
    assert row.error.startswith("its default config does not build: ")
    assert "prediction_length" in row.error
    assert "spec=" not in row.error and "Traceback" not in row.error


@pytest.mark.parametrize(
    ("message", "starts"),
    [
        ("spec='hf:detr': cannot build AutoModel for 'detr': TimmBackbone requires the timm library but it was "
         "not found", "needs the timm package, which is not installed here"),
        ("spec='hf:x': cannot build AutoModel for 'x': Unrecognized configuration class <class 'XConfig'>",
         "transformers maps no model class to this config type"),
        ("Config has to be initialized with encoder and decoder config", "a composite model"),
        ("'NoneType' object has no attribute 'get'", "its default config does not build: 'NoneType'"),
    ],
)
def test_plain_reasons(message, starts):
    assert plain_reason(ValueError(message)).startswith(starts)


def test_second_run_reads_the_cache_and_builds_nothing(tmp_path, monkeypatch):
    path = cache_path(tmp_path)
    first = [s.row for s in iter_atlas(["gpt2", "autoformer"], cache=path)]
    assert f"transformers-{transformers.__version__}" in path.name

    def no_build(model_type):
        raise AssertionError(f"{model_type} was built again")

    monkeypatch.setattr(atlas, "atlas_row", no_build)
    again = list(iter_atlas(["gpt2", "autoformer"], cache=path))
    assert all(s.from_cache for s in again)
    assert [s.row for s in again] == first


def test_stop_keeps_what_was_built_and_resume_goes_on(tmp_path):
    path = cache_path(tmp_path)
    stop = threading.Event()
    got = []
    for step in iter_atlas(["gpt2", "albert", "bert"], stop=stop, cache=path):
        got.append(step.row.model_type)
        stop.set()  # the visitor pressed Stop after the first row
    assert got == ["gpt2"]
    resumed = list(iter_atlas(["gpt2", "albert", "bert"], cache=path))
    assert [(s.row.model_type, s.from_cache) for s in resumed] == [("gpt2", True), ("albert", False), ("bert", False)]


def test_a_cut_line_in_the_cache_is_skipped(tmp_path):
    path = tmp_path / "atlas.jsonl"
    path.write_text(json.dumps(AtlasRow("gpt2", "GPT2LMHeadModel", 3, 2).to_dict()) + '\n{"model_type": "ber')
    assert list(read_cache(path)) == ["gpt2"]


SAMPLE = [
    AtlasRow("gpt2", "GPT2LMHeadModel", 163, 124, [["lm_head.weight", "transformer.wte.weight"]],
             {"transformer.wte.weight": "lm_head.weight"}),
    AtlasRow("albert", "AlbertForMaskedLM", 210, 206, [["a", "b"], ["c", "d"]], {"b": "a", "d": "c"}),
    AtlasRow("bert", "BertForMaskedLM", 140, 110, [["x", "y"]], {}),
    AtlasRow("detr", error="needs the timm package, which is not installed here"),
]


@pytest.mark.parametrize(
    ("query", "sort", "errors", "want"),
    [
        ("", "type", True, ["albert", "bert", "detr", "gpt2"]),
        ("", "naive", True, ["albert", "gpt2", "bert", "detr"]),  # failures last
        ("", "saving", True, ["gpt2", "bert", "albert", "detr"]),  # 39, 30, 4
        ("", "tied", False, ["albert", "bert", "gpt2"]),  # 2 groups, then 1 and 1 by type
        ("", "dropped", True, ["albert", "gpt2", "bert", "detr"]),
        ("WTE", "type", True, ["gpt2"]),  # a tensor name, any case
        ("timm", "type", True, ["detr"]),  # words of the error
        ("timm", "type", False, []),
        ("masked wte", "type", True, []),  # no row has both words
        ("formaskedlm b", "type", True, ["albert", "bert"]),  # every word must match
    ],
)
def test_select_rows(query, sort, errors, want):
    assert [r.model_type for r in select_rows(SAMPLE, query, sort, errors=errors)] == want


AUDITED_SAMPLE = [
    AtlasRow("gpt2", "GPT2LMHeadModel", 163, 124, verdict="agrees"),
    AtlasRow("luke", "LukeForMaskedLM", 442, 314, verdict="config says tie, model does not"),
    AtlasRow("cpmant", "CpmAntForCausalLM", 9, 9, verdict="by design"),
    AtlasRow("detr", error="needs the timm package, which is not installed here"),
]


@pytest.mark.parametrize(
    ("query", "disagreements", "want"),
    [
        ("", False, ["cpmant", "detr", "gpt2", "luke"]),
        ("", True, ["cpmant", "luke"]),  # a row that did not build has no verdict: not a disagreement
        ("design", True, ["cpmant"]),  # words of the verdict match too
        ("gpt2", True, []),
    ],
)
def test_select_rows_disagreements_only(query, disagreements, want):
    picked = select_rows(AUDITED_SAMPLE, query, disagreements=disagreements)
    assert [r.model_type for r in picked] == want


def test_rows_round_trip_json_with_the_audit_fields(rows):
    row = rows["gpt2"]
    data = json.loads(json.dumps(row.to_dict()))
    assert data["verdict"] == "agrees" and data["config_tie"] is True
    assert data["class_ties"] == {"lm_head.weight": "transformer.wte.weight"}
    assert AtlasRow.from_dict(data) == row


def test_select_rows_refuses_an_unknown_sort():
    with pytest.raises(ValueError, match="sort='size'"):
        select_rows(SAMPLE, sort="size")
