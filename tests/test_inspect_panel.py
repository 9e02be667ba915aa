"""The Inspect tab without a browser: specs, uploads, refusals (nothing from a file runs), recovery, the atlas."""

from __future__ import annotations

import io
import json
import pickle
import sys
import threading
from datetime import UTC, datetime

import pytest
import torch

pytest.importorskip("transformers")
safetensors_torch = pytest.importorskip("safetensors.torch")

from paramshare_viz.analysis.uploads import MAX_UPLOAD_BYTES, config_problem, visitor_spec  # noqa: E402
from paramshare_viz.app import inspect as inspect_module  # noqa: E402
from paramshare_viz.app import make_dashboard  # noqa: E402
from paramshare_viz.app.inspect import InspectPanel, uploaded_files  # noqa: E402


class Hostile:
    """Unpickling this runs ``exec``: it writes ``marker``. A weights-only load must refuse it unrun."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('payload ran')",)


@pytest.fixture(scope="module")
def app():
    return make_dashboard()


@pytest.fixture(scope="module")
def panel(app) -> InspectPanel:
    return app.tabs.panel("Inspect")


def enter(panel: InspectPanel, spec: str) -> None:
    panel.spec.value = ""  # so that typing the same spec again is a change
    panel.spec.value = spec
    assert panel.jobs.worker.wait(120)


def upload(panel: InspectPanel, widget, name: str, content: bytes) -> None:
    """What the browser sends: ipywidgets 8's FileUpload value, a tuple of dicts with a memoryview."""
    widget.value = ({"name": name, "type": "", "size": len(content), "content": memoryview(content),
                     "last_modified": datetime.now(UTC)},)
    assert panel.jobs.worker.wait(60)


def torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_inspect_tab_sits_after_compare_and_is_built_only_when_opened(app):
    titles = list(app.tabs.titles)
    assert "Inspect" in titles
    for before in ("Explore", "Compare"):
        if before in titles:
            assert titles.index(before) < titles.index("Inspect")
    if "Learn" in titles:
        assert titles.index("Inspect") < titles.index("Learn")
    fresh = make_dashboard()
    assert "Inspect" not in fresh.tabs.panels  # not built at page load


def test_gpt2_shows_the_tied_head_and_embedding(panel, app):
    enter(panel, "hf:gpt2")
    state = app.state
    assert state.status_level == "info", state.status
    assert "lm_head.weight" in panel.groups.value and "transformer.wte.weight" in panel.groups.value
    # wte 50257*768 + wpe 1024*768 + 12 * 7,087,872 per block + ln_f 1,536 = 124,439,808 held once;
    # naive adds the head, the same 50257*768 = 38,597,376 under a second name.
    assert "124,439,808" in panel.cards.value and "163,037,184" in panel.cards.value
    assert "GPT2LMHeadModel" in panel.title.value and "meta device" in panel.title.value
    # Tie health: materialising from meta breaks the tie; safetensors save_model drops the embedding name.
    assert "✗ breaks" in panel.ties.value and "tie_weights()" in panel.ties.value
    assert "transformer.wte.weight (kept as lm_head.weight)" in panel.safetensors.value
    assert "psv-stale" not in panel.result._dom_classes


def test_a_bare_model_type_is_a_spec_too():
    assert visitor_spec("albert") == "hf:albert"
    assert visitor_spec(" zoo:albert?num_layers=2 ") == "zoo:albert?num_layers=2"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("os:system", "never imports or runs code"),
        ("no_such_module_psv:factory", "never imports or runs code"),
        ("hf:/etc/hostname", "does not read files on the server"),
        ("../weights.pt", "does not read files on the server"),
        ("hf:gtp2", "close by name: hf:gpt2"),
        ("", "spec is empty"),
    ],
)
def test_refused_specs(spec, says):
    with pytest.raises(ValueError, match=says):
        visitor_spec(spec)


@pytest.mark.parametrize(
    ("spec", "model_type"),
    [("hf:openai-community/gpt2", "gpt2"), ("openai-community/gpt2", "gpt2"), ("google/flan-t5-small", "t5")],
)
def test_a_hub_id_says_what_to_type_instead(spec, model_type):
    with pytest.raises(ValueError) as err:
        visitor_spec(spec)
    message = str(err.value)
    assert "is a Hugging Face Hub id; the dashboard never downloads" in message
    assert f"type hf:{model_type} (likely its model type), or upload the model's config.json" in message
    assert "file path" not in message


@pytest.mark.parametrize(
    ("target", "close"),
    [
        ("nonexistent_model", []),  # not every *_text_model: nothing is close by name
        ("gtp2", ["gpt2"]),
        ("t5-small", ["t5"]),  # a word of the name is a type
        ("llama3", ["llama", "mllama", "llama4"]),  # one type per name, not also mllama_text_model
    ],
)
def test_close_model_types_by_name_only(target, close):
    from paramshare_viz.analysis.atlas import model_types
    from paramshare_viz.analysis.loading import close_model_types

    assert close_model_types(target, model_types())[: len(close) or None] == close


def test_an_unknown_type_suggests_nothing_unrelated():
    with pytest.raises(ValueError) as err:
        visitor_spec("hf:nonexistent_model")
    assert str(err.value) == "spec='hf:nonexistent_model': 'nonexistent_model' is not a model type of the installed transformers"


def test_module_factory_is_refused_without_importing_and_the_app_recovers(panel, app):
    enter(panel, "psv_never_imported_module:factory")
    assert app.state.status_level == "error"
    assert "'psv_never_imported_module:factory' looks like 'module:factory'" in app.state.status
    assert "psv_never_imported_module" not in sys.modules
    assert "psv-stale" in panel.result._dom_classes  # the last result stays, dimmed
    enter(panel, "hf:albert")
    assert app.state.status_level == "info"
    assert "AlbertForMaskedLM" in panel.title.value
    assert "psv-stale" not in panel.result._dom_classes


def test_uploaded_state_dict_keeps_its_tie(panel, app):
    weight = torch.randn(10, 4)
    content = torch_bytes({"emb.weight": weight, "head.weight": weight, "head.bias": torch.zeros(10)})
    upload(panel, panel.weights_upload, "tied.pt", content)
    assert app.state.status_level == "info", app.state.status
    assert "file 'tied.pt'" in app.state.status
    assert "emb.weight" in panel.groups.value and "head.weight" in panel.groups.value
    # 10*4 held once + 10 bias = 50 unique; naive counts the weight twice: 90.
    assert "&gt;50&lt;" not in panel.cards.value and ">50<" in panel.cards.value and ">90<" in panel.cards.value
    assert panel.weights_upload.value == ()  # the bytes are not kept in the widget


def test_uploaded_safetensors(panel, app):
    content = safetensors_torch.save({"a.weight": torch.ones(3, 2), "a.bias": torch.ones(3)})
    upload(panel, panel.weights_upload, "model.safetensors", content)
    assert app.state.status_level == "info", app.state.status
    assert ">9<" in panel.cards.value  # 3*2 + 3


def test_uploaded_config_json_is_built_on_meta(panel, app):
    config = {"model_type": "gpt2", "n_layer": 2, "n_embd": 64, "n_head": 2, "vocab_size": 100, "n_positions": 32}
    upload(panel, panel.config_upload, "config.json", json.dumps(config).encode())
    assert app.state.status_level == "info", app.state.status
    assert "GPT2LMHeadModel" in panel.title.value and "meta device" in panel.title.value
    # wte 100*64 + wpe 32*64 + 2 blocks * (2*64 ln + 64*192+192 + 64*64+64 + 2*64 ln + 64*256+256 + 256*64+64)
    # + ln_f 2*64 = 6,400 + 2,048 + 2 * 49,984 + 128 = 108,544
    assert "108,544" in panel.cards.value


@pytest.mark.parametrize("how", ["torch.save", "raw pickle"])
def test_hostile_pickle_is_refused_and_its_payload_never_runs(panel, app, tmp_path, how):
    marker = tmp_path / "payload-ran"
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(Hostile(control)))  # an ordinary unpickling does run it: the payload is real
    assert control.exists()
    evil = {"w": torch.ones(2), "x": Hostile(marker)}
    content = torch_bytes(evil) if how == "torch.save" else pickle.dumps(evil, protocol=2)
    enter(panel, "hf:bert")
    upload(panel, panel.weights_upload, "model.pt", content)
    assert app.state.status_level == "error"
    assert "weights_only=True" in app.state.status and "file 'model.pt'" in app.state.status
    assert "Traceback" not in app.state.status
    assert not marker.exists()
    # The app keeps working: the next valid input shows normally.
    upload(panel, panel.weights_upload, "ok.pt", torch_bytes({"w": torch.ones(4)}))
    assert app.state.status_level == "info"
    assert not marker.exists()


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("empty.pt", b"", "is empty (0 bytes)"),
        ("junk.pt", b"not a checkpoint at all", "is not a torch checkpoint"),
        ("cut.pt", b"PK\x03\x04 cut short", "not a readable torch checkpoint"),
        ("junk.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}", "not a readable safetensors file"),
        ("model.pkl", b"x", ".pkl is not supported"),
        ("big.pt", b"\0" * (MAX_UPLOAD_BYTES + 1), "over the dashboard's 8 MiB limit"),
        ("config.json", b"{not json", "is not valid JSON"),
        ("config.json", b"[1, 2]", "holds a JSON list"),
        ("config.json", json.dumps({"model_type": "gpt2", "n_layer": 10**6}).encode(), "n_layer=1,000,000 is too large"),
        ("config.json", json.dumps({"model_type": "gpt2", "auto_map": {"AutoModel": "x.Y"}}).encode(), "custom code"),
        ("config.json", json.dumps({"n_layer": 2}).encode(), "has no model_type"),
    ],
)
def test_bad_uploads_get_a_plain_message(panel, app, name, content, says):
    panel.inspect_upload(name, content)
    assert panel.jobs.worker.wait(60)
    assert app.state.status_level == "error"
    assert says in app.state.status and "Traceback" not in app.state.status


def test_nested_config_limits():
    big = {"model_type": "t5", "text_config": {"num_hidden_layers": 5000}}
    assert config_problem(big) == "text_config.num_hidden_layers=5,000 is too large to build here (at most 1,024 layers or experts)"
    assert config_problem({"model_type": "gpt2", "n_positions": 1 << 30}).startswith("n_positions=1,073,741,824")
    assert config_problem({"model_type": "gpt2", "n_layer": 12}) == ""


def test_upload_value_formats():
    eight = ({"name": "a.pt", "content": memoryview(b"xy"), "size": 2, "type": "", "last_modified": 0},)
    assert uploaded_files(eight) == [("a.pt", b"xy")]
    assert uploaded_files(()) == []


def test_atlas_starts_only_when_asked_and_fills_the_table(panel, app, tmp_path, monkeypatch):
    monkeypatch.setenv("PSV_CACHE_DIR", str(tmp_path))
    atlas = panel.atlas
    assert atlas.jobs.kind is None and atlas.rows == [] and atlas.table.value == ""  # nothing at tab open
    atlas.start(["gpt2", "autoformer"])
    assert atlas.jobs.worker.wait(120)
    assert [r.model_type for r in atlas.rows] == ["gpt2", "autoformer"]
    assert "124,439,808" in atlas.table.value and "prediction_length" in atlas.table.value
    assert "2 of 2 model types" in atlas.jobs.line.value
    assert (atlas.build.disabled, atlas.jobs.stop.disabled) == (False, True)
    atlas.search.value = "wte"
    assert "gpt2" in atlas.table.value and "autoformer" not in atlas.table.value
    atlas.search.value = ""
    atlas.failures.value = False
    assert "autoformer" not in atlas.table.value


def test_stop_ends_an_inspection_after_the_step_in_hand(panel, app, monkeypatch):
    loading, release = threading.Event(), threading.Event()

    def slow_load(text):
        loading.set()
        assert release.wait(60)
        return torch.nn.Linear(2, 2), text

    monkeypatch.setattr(inspect_module, "load_visitor_spec", slow_load)
    panel.spec.value = ""
    panel.spec.value = "zoo:slow"
    assert loading.wait(60)
    assert panel.go.disabled and app.state.status == "Inspect: building zoo:slow…"
    assert panel.jobs.layout.display == "" and panel.jobs.line.value == "zoo:slow: loading…"
    panel.jobs.stop.click()
    assert panel.jobs.stop.disabled and app.state.status == "Inspect: stopping zoo:slow after the step in hand…"
    release.set()
    assert panel.jobs.worker.wait(60)
    assert app.state.status.startswith("Inspect: stopped before zoo:slow was counted.")
    assert not panel.go.disabled and panel.jobs.layout.display == "none"  # Stop and progress go with the job


def test_an_atlas_failure_keeps_its_rows_and_says_what_failed(tmp_path, monkeypatch):
    from paramshare_viz.analysis import atlas as atlas_module
    from paramshare_viz.app.inspect import AtlasView
    from paramshare_viz.app.state import AppState

    monkeypatch.setenv("PSV_CACHE_DIR", str(tmp_path))
    real = atlas_module.iter_atlas

    def breaks_after_one(types, stop):
        for step in real(types, stop=stop):
            yield step
            raise RuntimeError("the cache disk is full")

    monkeypatch.setattr(atlas_module, "iter_atlas", breaks_after_one)
    view = AtlasView(AppState())
    view.start(["gpt2", "bert"])
    assert view.jobs.worker.wait(120)
    assert view.state.status == ("Tie atlas: building stopped: RuntimeError: the cache disk is full. "
                                 "The rows built before it are kept.")
    assert [r.model_type for r in view.rows] == ["gpt2"] and "GPT2LMHeadModel" in view.table.value
    assert (view.build.disabled, view.jobs.stop.disabled) == (False, True)
