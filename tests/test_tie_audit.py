"""The tie audit: config flags, class-declared ties and built ties of transformers models, and their verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

transformers = pytest.importorskip("transformers")

from paramshare_viz.analysis.atlas import AtlasRow, atlas_row, select_rows  # noqa: E402
from paramshare_viz.analysis.tie_audit import BY_DESIGN, Verdict, tie_verdict  # noqa: E402
from paramshare_viz.cli import main  # noqa: E402
from paramshare_viz.plots.tie_tables import atlas_table_html, audit_table_html  # noqa: E402

GPT2_TIED = [["lm_head.weight", "transformer.wte.weight"]]
HEAD, EMB = "lm_head.weight", "transformer.wte.weight"
GPT2_KEYS = {HEAD: EMB}

# (config flag, text config flag, class keys, built ties, head, embedding, by design, verdict, words in the detail)
VERDICT_CASES = [
    pytest.param(True, None, GPT2_KEYS, GPT2_TIED, HEAD, EMB, "", Verdict.AGREES, "lm_head.weight is transformer",
                 id="config-and-model-tie"),
    pytest.param(False, None, GPT2_KEYS, [], HEAD, EMB, "", Verdict.AGREES, "are separate",
                 id="config-and-model-do-not-tie"),
    pytest.param(None, None, {}, [], HEAD, EMB, "", Verdict.AGREES, "are separate", id="no-flag-no-tie"),
    pytest.param(True, True, {}, [], "", EMB, "", Verdict.AGREES, "no output head", id="no-head"),
    pytest.param(True, None, {}, [], HEAD, EMB, "", Verdict.CONFIG_ONLY, "config says True",
                 id="luke-like-config-ties-model-does-not"),
    pytest.param(False, True, GPT2_KEYS, [], HEAD, EMB, "", Verdict.CONFIG_ONLY, "text config says True",
                 id="modernvbert-like-text-config-ties"),
    pytest.param(True, False, GPT2_KEYS, GPT2_TIED, HEAD, EMB, "", Verdict.CLASS_ONLY, "as the class declares",
                 id="glmasr-like-text-config-says-no"),
    pytest.param(False, None, {}, GPT2_TIED, HEAD, EMB, "", Verdict.CLASS_ONLY, "config says False",
                 id="tied-in-code-against-the-config"),
    pytest.param(None, None, {}, GPT2_TIED, HEAD, EMB, "", Verdict.CLASS_ONLY, "has no flag (read as False)",
                 id="missing-flag-read-as-false"),
    pytest.param(True, None, {}, [], HEAD, EMB, "file.py: a reason", Verdict.BY_DESIGN, "Source: file.py",
                 id="disagreement-explained-by-source"),
    pytest.param(True, None, GPT2_KEYS, GPT2_TIED, HEAD, EMB, "file.py: a reason", Verdict.AGREES, "is transformer",
                 id="a-reason-does-not-hide-agreement"),
    pytest.param(True, None, {}, [[HEAD, "decoder.embed.weight"]], HEAD, EMB, "", Verdict.CONFIG_ONLY,
                 "it is decoder.embed.weight", id="head-tied-to-another-embedding"),
]


@pytest.mark.parametrize(
    ("config_tie", "head_model_tie", "tied", "verdict", "words"),
    [
        # vision-encoder-decoder: the wrapper's config says False, the decoder's says True and it ties
        (False, True, GPT2_TIED, Verdict.AGREES, "lm_head.weight is transformer"),
        (None, True, GPT2_TIED, Verdict.AGREES, "lm_head.weight is transformer"),  # blip-2: wrapper has no flag
        (True, False, GPT2_TIED, Verdict.CLASS_ONLY, "decoder config says False"),
        (True, None, GPT2_TIED, Verdict.CLASS_ONLY, "decoder config has no flag (read as False)"),
        (False, True, [], Verdict.CONFIG_ONLY, "decoder config says True"),
    ],
)
def test_the_flag_of_the_sub_model_holding_the_head_is_the_one_read(config_tie, head_model_tie, tied, verdict, words):
    found = tie_verdict(config_tie, None, GPT2_KEYS, tied, HEAD, EMB, head_model="decoder",
                        head_model_tie=head_model_tie)
    assert (found.verdict, words in found.detail) == (verdict, True)


@pytest.mark.parametrize(
    ("config_tie", "text_tie", "keys", "tied", "head", "embedding", "reason", "verdict", "words"), VERDICT_CASES
)
def test_tie_verdict_table(config_tie, text_tie, keys, tied, head, embedding, reason, verdict, words):
    found = tie_verdict(config_tie, text_tie, keys, tied, head, embedding, head_params=10, by_design=reason)
    assert found.verdict == verdict
    assert words in found.detail


def test_an_untied_head_says_how_many_parameters_are_held_twice():
    found = tie_verdict(True, None, {}, [], HEAD, EMB, head_params=38_605_056)
    assert "38,605,056 parameters a reader of the config believes are shared are held twice" in found.detail


# The nine types whose config and built model disagree (transformers 5), and one that agrees.
AUDITED = {
    "luke": Verdict.CONFIG_ONLY,
    "modernvbert": Verdict.CONFIG_ONLY,
    "cpmant": Verdict.BY_DESIGN,
    "t5gemma": Verdict.BY_DESIGN,
    "encoder-decoder": Verdict.BY_DESIGN,
    "glmasr": Verdict.CLASS_ONLY,
    "granite_speech": Verdict.CLASS_ONLY,
    "granite_speech_plus": Verdict.CLASS_ONLY,
    "moss_transcribe_diarize": Verdict.CLASS_ONLY,
    "gpt2": Verdict.AGREES,
    # the head is the decoder's / language model's, tied by that sub-model's config (True) under a wrapper
    # config that says False (set in VisionEncoderDecoderModel.__init__) or nothing (Blip2Config)
    "vision-encoder-decoder": Verdict.AGREES,
    "blip-2": Verdict.AGREES,
}
AGREEING = {"gpt2", "vision-encoder-decoder", "blip-2"}


@pytest.fixture(scope="module")
def rows() -> dict[str, AtlasRow]:
    return {t: atlas_row(t) for t in AUDITED}


@pytest.mark.parametrize("model_type", list(AUDITED))
def test_audit_verdicts_of_built_models(rows, model_type):
    row = rows[model_type]
    assert row.error == ""
    assert row.verdict == AUDITED[model_type]
    assert row.disagrees == (model_type not in AGREEING)


def test_luke_config_says_tie_but_the_head_is_its_own_tensor(rows):
    row = rows["luke"]
    assert (row.config_tie, row.text_config_tie) == (True, None)
    assert row.head == "lm_head.decoder.weight"
    assert row.embedding == "luke.embeddings.word_embeddings.weight"
    # transformers 5 declares only the entity head and the bias, not lm_head.decoder.weight
    assert row.class_ties == {
        "entity_predictions.decoder.weight": "luke.entity_embeddings.entity_embeddings.weight",
        "lm_head.bias": "lm_head.decoder.bias",
    }
    # vocab 50,267 x hidden 768 = 38,605,056 head parameters held apart from the word embeddings
    assert row.head_params == 50_267 * 768 == 38_605_056
    assert "38,605,056 parameters" in row.detail


def test_modernvbert_top_level_and_text_config_disagree(rows):
    row = rows["modernvbert"]
    assert (row.config_tie, row.text_config_tie) == (False, True)
    assert "text config says True" in row.detail
    assert row.class_ties == {"lm_head.weight": "model.text_model.embeddings.tok_embeddings.weight"}


@pytest.mark.parametrize("model_type", ["glmasr", "granite_speech", "granite_speech_plus", "moss_transcribe_diarize"])
def test_text_config_false_under_a_top_level_true(rows, model_type):
    row = rows[model_type]
    assert (row.config_tie, row.text_config_tie) == (True, False)
    assert sorted([row.head, row.embedding]) in row.tied  # transformers reads the top level, and ties
    assert row.class_ties == {"lm_head.weight": "model.language_model.embed_tokens.weight"}


def test_a_wrapper_flag_is_not_the_one_read_for_the_decoders_head(rows):
    row = rows["vision-encoder-decoder"]
    assert (row.config_tie, row.head_model, row.head_model_tie) == (False, "decoder", True)
    assert sorted([row.head, row.embedding]) in row.tied
    page = audit_table_html([row])
    assert "config False, text config True; read for the head: decoder config True" in page


def test_by_design_heads(rows):
    assert "it is model.decoder.embed_tokens.weight" in rows["t5gemma"].detail
    assert rows["encoder-decoder"].config_tie is None  # EncoderDecoderConfig has no flag of its own
    assert "it is decoder.bert.embeddings.word_embeddings.weight" in rows["encoder-decoder"].detail
    assert "shape-mismatched" in rows["cpmant"].detail
    assert rows["cpmant"].class_ties == {}


# Each by-design reason quotes transformers' source: the quoted text is in the installed file.
QUOTES = {
    "cpmant": ("models/cpmant/modeling_cpmant.py", "so a whole-tensor tie\n    # would be shape-mismatched"),
    "t5gemma": ("models/t5gemma/modeling_t5gemma.py", "The tying happens from decoder to lm-head"),
    "encoder-decoder": ("models/encoder_decoder/modeling_encoder_decoder.py",
                        "return self.decoder.get_output_embeddings()"),
}


@pytest.mark.parametrize("model_type", sorted(BY_DESIGN))
def test_by_design_reasons_quote_the_installed_source(model_type):
    path, quote = QUOTES[model_type]
    assert BY_DESIGN[model_type].startswith(path)
    assert quote in (Path(transformers.__file__).parent / path).read_text(encoding="utf-8")


def test_disagreements_filter_and_table(rows):
    picked = select_rows(rows.values(), disagreements=True)
    assert [r.model_type for r in picked] == sorted(t for t in AUDITED if t not in AGREEING)
    page = audit_table_html(picked)
    assert page.count("class='psv-verdict-detail'") == 9  # one reason per disagreeing type
    assert "config True, text config False" in page  # glmasr's flags
    assert "38,605,056 parameters" in page  # luke's reason
    assert "agrees" in atlas_table_html([rows["gpt2"]])  # the full atlas has the verdict column


def test_cli_atlas_disagreements_and_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PSV_CACHE_DIR", str(tmp_path))
    assert main(["atlas", "gpt2", "luke", "--disagreements"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "2 model types, 2 built from a default config, 1 whose config and built ties disagree"
    assert "luke (LukeForMaskedLM; tie_word_embeddings: config True): config says tie, model does not" in out
    assert "gpt2" not in out.split("\n", 1)[1]
    assert main(["atlas", "gpt2", "luke", "--json"]) == 0  # read back from the cache
    data = {r["model_type"]: r for r in json.loads(capsys.readouterr().out)}
    assert data["luke"]["verdict"] == "config says tie, model does not"
    assert data["luke"]["head_params"] == 38_605_056
    assert data["gpt2"]["class_ties"] == {"lm_head.weight": "transformer.wte.weight"}


def test_cli_atlas_names_an_unknown_type(capsys):
    assert main(["atlas", "gtp2"]) == 2
    assert "TYPE 'gtp2' is not a model type" in capsys.readouterr().err


def test_inspect_atlas_disagreements_only_toggle(tmp_path, monkeypatch):
    pytest.importorskip("ipywidgets")
    from paramshare_viz.app.inspect import AtlasView
    from paramshare_viz.app.state import AppState

    monkeypatch.setenv("PSV_CACHE_DIR", str(tmp_path))
    view = AtlasView(AppState())
    view.start(["gpt2", "luke"])
    assert view.jobs.worker.wait(120)
    assert "GPT2LMHeadModel" in view.table.value and "LukeForMaskedLM" in view.table.value
    view.disagreements.value = True
    assert "GPT2LMHeadModel" not in view.table.value
    assert "config says tie, model does not" in view.table.value and "38,605,056 parameters" in view.table.value
