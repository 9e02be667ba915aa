"""psv.load_model: every spec kind, literal counts, hostile pickles, bad specs."""

from __future__ import annotations

import os
import pickle
import sys
import textwrap

import pytest
import torch
from torch import nn

import paramshare_viz as psv
from paramshare_viz.analysis.loading import StateDictModule, example_input_for, parse_zoo_spec

pytest.importorskip("transformers")


# --------------------------------------------------------------------------- Hugging Face

# (spec, class, naive params, unique params, names per sharing group)
HF_CASES = [
    # GPT-2 small: wte 50257*768 = 38,597,376; wpe 1024*768 = 786,432;
    # 12 blocks * 7,087,872 (ln 1536 + c_attn 768*2304+2304 + c_proj 768*768+768
    # + ln 1536 + c_fc 768*3072+3072 + c_proj 3072*768+768); ln_f 1536
    # -> 124,439,808 unique; naive adds lm_head (= wte) 38,597,376.
    ("hf:gpt2", "GPT2LMHeadModel", 163_037_184, 124_439_808, [["lm_head.weight", "transformer.wte.weight"]]),
    # BERT-base without pooler: embeddings 30522*768 + 512*768 + 2*768 + LN 1536 = 23,837,184;
    # 12 layers * 7,087,872 = 85,054,464; MLM head dense 590,592 + LN 1536 + bias 30,522
    # -> 109,514,298; naive adds decoder.weight (= word embeddings) 23,440,896
    # and decoder.bias (= predictions.bias) 30,522.
    (
        "hf:bert",
        "BertForMaskedLM",
        132_985_716,
        109_514_298,
        [
            ["bert.embeddings.word_embeddings.weight", "cls.predictions.decoder.weight"],
            ["cls.predictions.bias", "cls.predictions.decoder.bias"],
        ],
    ),
    # AlbertConfig() defaults are albert-xxlarge shaped (E=128, H=4096, I=16384, vocab 30000):
    # embeddings 30000*128 + 512*128 + 2*128 + LN 256 = 3,906,048; mapping 128*4096+4096 = 528,384;
    # ONE layer (looped 12 times in code, registered once): 4*(4096^2+4096) + LN 8192
    # + 4096*16384+16384 + 16384*4096+4096 + LN 8192 = 201,379,840; MLM head
    # 4096*128+128 + LN 256 + bias 30000 = 554,672 -> 206,368,944;
    # naive adds decoder.weight 3,840,000 and decoder.bias 30,000.
    (
        "hf:albert",
        "AlbertForMaskedLM",
        210_238_944,
        206_368_944,
        [
            ["albert.embeddings.word_embeddings.weight", "predictions.decoder.weight"],
            ["predictions.bias", "predictions.decoder.bias"],
        ],
    ),
    # T5Config() defaults are t5-small shaped (d_model 512, d_ff 2048, 6+6 layers, 8 heads * 64):
    # shared 32128*512 = 16,449,536; encoder 6 * (4*512^2 + 512 + 2*512*2048 + 512) + 32*8 + 512
    # = 18,881,280; decoder 6 * (8*512^2 + 3*512 + 2*512*2048) + 32*8 + 512 = 25,175,808
    # -> 60,506,624; naive adds encoder/decoder embed_tokens and lm_head, 3 * 16,449,536.
    (
        "hf:t5",
        "T5ForConditionalGeneration",
        109_855_232,
        60_506_624,
        [["decoder.embed_tokens.weight", "encoder.embed_tokens.weight", "lm_head.weight", "shared.weight"]],
    ),
    # LlamaConfig() is 7B shaped, head not tied: 6,738,415,616 parameters, built on meta.
    ("hf:llama", "LlamaForCausalLM", 6_738_415_616, 6_738_415_616, []),
]


@pytest.mark.parametrize(("spec", "cls", "naive", "unique", "groups"), HF_CASES, ids=[c[0] for c in HF_CASES])
def test_hf_model_types(spec, cls, naive, unique, groups) -> None:
    model = psv.load_model(spec)
    assert type(model).__name__ == cls
    assert all(p.is_meta for p in model.parameters())  # no download, no memory
    report = psv.analyze(model)
    assert (report.naive_params, report.unique_params) == (naive, unique)
    assert unique == sum(p.numel() for p in model.parameters())
    assert [g.names for g in report.groups] == groups
    assert all(g.kind == "same-tensor" for g in report.groups)


def test_hf_gpt2_head_is_the_embedding() -> None:
    model = psv.load_model("hf:gpt2")
    assert model.lm_head.weight is model.transformer.wte.weight


@pytest.mark.parametrize(
    ("model_type", "warns"),
    [
        ("modernvbert", False),  # top level False (read), text config True: transformers intends no tie
        ("encoder-decoder", False),  # the wrapper's config has no flag; the decoder ties by its own
        ("t5gemma", False),  # the head is the decoder's embedding (another nn.Embedding than the input one)
        ("glmasr", False),  # top level True, tied; the text config's False is not what transformers reads
        ("luke", True),  # top level True, and lm_head.decoder.weight is not the word embedding
    ],
)
def test_hf_tie_warning_reads_the_flag_transformers_reads(model_type, warns) -> None:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        psv.load_model(f"hf:{model_type}")
    said = [str(w.message) for w in caught if "config.tie_word_embeddings is set" in str(w.message)]
    assert bool(said) == warns, said


def test_hf_local_config_json(tmp_path) -> None:
    from transformers import GPT2Config

    path = tmp_path / "config.json"
    GPT2Config(n_layer=2, n_embd=64, n_head=4, n_positions=32, vocab_size=100).to_json_file(str(path))
    for spec in (f"hf:{path}", f"hf:{tmp_path}"):
        model = psv.load_model(spec)
        assert type(model).__name__ == "GPT2LMHeadModel"
        report = psv.analyze(model)
        # wte 100*64 + wpe 32*64 + 2 blocks * (2*128 + 64*192+192 + 64*64+64 + 64*256+256 + 256*64+64)
        # + ln_f 128 = 6400 + 2048 + 2 * 49,984 + 128 = 108,544
        assert report.unique_params == 108_544
        assert report.naive_params == 108_544 + 6_400
        assert model.lm_head.weight is model.transformer.wte.weight


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("hf:gpt", r"'hf:gpt'.*not a Hugging Face model type.*gpt2"),
        ("hf:", "names no model type"),
        ("hf:/no/such/config.json", "no such file"),
    ],
)
def test_hf_bad_specs(spec, match) -> None:
    with pytest.raises(ValueError, match=match):
        psv.load_model(spec)


def test_hf_config_with_remote_code_is_refused(tmp_path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"model_type": "my-custom", "auto_map": {"AutoConfig": "evil.EvilConfig"}}')
    with pytest.raises(ValueError, match="cannot read a Hugging Face config"):
        psv.load_model(f"hf:{path}")


# --------------------------------------------------------------------------- zoo


def test_zoo_spec_with_overrides_matches_build() -> None:
    model = psv.load_model("zoo:albert?num_layers=3&hidden_size=64&share=attention")
    expected = psv.zoo.build("albert", num_layers=3, hidden_size=64, share="attention")
    assert type(model) is type(expected)
    got, want = psv.analyze(model), psv.analyze(expected)
    assert (got.naive_params, got.unique_params) == (want.naive_params, want.unique_params)


def test_zoo_spec_build_arguments() -> None:
    assert psv.analyze(psv.load_model("zoo:albert?shared=false")).groups == []
    meta = psv.load_model("zoo:albert?device=meta&dtype=float64")
    assert all(p.is_meta and p.dtype == torch.float64 for p in meta.parameters())


def test_parse_zoo_spec_values() -> None:
    form, overrides = parse_zoo_spec(
        "zoo:rnn?hidden_size=8&dropout=0.5&share_layernorm=False&cell=gru&x=none"
    )
    assert form == "rnn"
    assert overrides == {"hidden_size": 8, "dropout": 0.5, "share_layernorm": False, "cell": "gru", "x": None}
    assert isinstance(overrides["hidden_size"], int)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("zoo:albert?num_layers=1", r"zoo:albert\?num_layers=1.*num_layers=1 must be at least 2"),
        ("zoo:albert?bogus=3", r"unknown config field.*bogus"),
        ("zoo:albrt", r"not a sharing form; did you mean \['albert'\]"),
        ("zoo:", "names no form"),
        ("zoo:albert?num_layers", "cannot parse the query"),
        ("zoo:albert?num_layers=2&num_layers=3", "given twice"),
        ("zoo:albert?dtype=float99", "not a torch dtype"),
    ],
)
def test_zoo_bad_specs(spec, match) -> None:
    with pytest.raises(ValueError, match=match):
        psv.load_model(spec)


# --------------------------------------------------------------------------- files


def test_pt_state_dict_keeps_its_tie(tmp_path) -> None:
    w = torch.randn(10, 4)
    path = tmp_path / "tied.pt"
    torch.save(
        {"emb.weight": w, "head.weight": w, "head.bias": torch.zeros(10), "steps": torch.tensor(3)}, path
    )
    model = psv.load_model(str(path))
    assert isinstance(model, StateDictModule)
    assert model.head.weight is model.emb.weight  # same view in the file -> one Parameter
    assert dict(model.named_buffers()).keys() == {"steps"}  # integer tensors are buffers
    report = psv.analyze(model)
    (group,) = report.groups
    assert group.names == ["emb.weight", "head.weight"] and group.kind == "same-tensor"
    assert report.naive_params == 90  # 40 + 40 + 10
    assert report.unique_params == 50  # 40 + 10
    torch.testing.assert_close(model.emb.weight.detach(), w)


def test_pth_views_and_nested_checkpoint(tmp_path) -> None:
    full = torch.randn(4, 6)
    path = tmp_path / "ckpt.pth"
    torch.save({"model": {"full": full, "top": full[:2]}, "epoch": 7, "note": "hi"}, path)
    model = psv.load_model(str(path))
    report = psv.analyze(model)
    assert [g.names for g in report.groups] == [["model.full", "model.top"]]
    assert report.groups[0].kind == "aliased-storage"
    assert report.unique_params == 24  # the 2x6 view adds nothing


def test_safetensors_file(tmp_path) -> None:
    safetensors_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "m.safetensors"
    safetensors_torch.save_file({"a.weight": torch.randn(3, 4), "a.bias": torch.randn(3)}, str(path))
    model = psv.load_model(str(path))
    report = psv.analyze(model)
    assert report.unique_params == report.naive_params == 15  # 3*4 + 3
    assert report.groups == []  # a safetensors file holds no aliases


class _Payload:
    """Unpickling this would run a shell command that creates a file."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _OpenPayload:
    """Unpickling this would create a file through builtins.open."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("how", ["torch.save", "pickle.dump"])
@pytest.mark.parametrize("payload", [_Payload, _OpenPayload])
def test_malicious_pickle_is_refused_without_side_effect(tmp_path, how, payload) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    obj = {"x": payload(marker), "weight": torch.ones(2)}  # the payload is unpickled first
    if how == "torch.save":
        torch.save(obj, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=2)  # the protocol torch.load's weights-only unpickler reads
    with pytest.raises(ValueError, match="not loaded for safety") as info:
        psv.load_model(str(path))
    assert "state_dict()" in str(info.value)
    assert ("system" in str(info.value)) if payload is _Payload else ("open" in str(info.value))
    assert not marker.exists()
    # control: the payload is real — an unsafe load does run it (harmless here: it creates `marker`)
    if how == "torch.save":
        torch.load(path, weights_only=False)
    else:
        with open(path, "rb") as f:
            pickle.load(f)
    assert marker.exists()


def test_full_module_pickle_is_refused(tmp_path) -> None:
    path = tmp_path / "module.bin"
    torch.save(nn.Linear(2, 2), path)
    with pytest.raises(
        ValueError, match=r"a whole pickled module.*Save model.state_dict\(\) with torch.save instead"
    ):
        psv.load_model(str(path))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p / "missing.pt", "no such file"),
        (lambda p: p / "missing.safetensors", "no such file"),
        (lambda p: p, "is a directory"),
        (lambda p: _write(p / "notes.txt", b"hello"), "unsupported file type"),
        (
            lambda p: _write(p / "junk.pt", b"not a checkpoint"),
            r"cannot be loaded with torch.load\(weights_only",
        ),
        (lambda p: _write(p / "junk.pth", b"PK\x03\x04zip?"), "not a readable torch checkpoint"),
        (lambda p: _write(p / "junk.safetensors", b"\x00\x01"), "not a readable safetensors file"),
        (lambda p: _save(p / "tensor.pt", torch.ones(3)), "holds a Tensor, not a state dict"),
        (lambda p: _save(p / "empty.pt", {"epoch": 3}), "holds no tensors"),
        (
            lambda p: _save(p / "clash.pt", {"a": torch.ones(1), "a.b": torch.ones(1)}),
            "clashes with another key",
        ),
        (lambda p: _save(p / "attr.pt", {"training": torch.ones(1)}), "cannot be registered on a module"),
    ],
)
def test_bad_files(tmp_path, make, match) -> None:
    spec = str(make(tmp_path))
    with pytest.raises(ValueError, match=match) as info:
        psv.load_model(spec)
    assert spec in str(info.value)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _save(path, obj):
    torch.save(obj, path)
    return path


# --------------------------------------------------------------------------- factory


@pytest.fixture
def user_package(tmp_path, monkeypatch):
    """A module ``psv_user_models`` on sys.path with a few factories."""
    (tmp_path / "psv_user_models.py").write_text(
        textwrap.dedent(
            """
            from torch import nn

            def tied():
                emb = nn.Embedding(5, 3)
                head = nn.Linear(3, 5, bias=False)
                head.weight = emb.weight
                return nn.Sequential(emb, head)

            def not_a_module():
                return 42

            def broken():
                raise RuntimeError("boom")

            instance = nn.Linear(2, 2)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "psv_user_models"
    sys.modules.pop("psv_user_models", None)


def test_factory_spec(user_package) -> None:
    model = psv.load_model(f"{user_package}:tied")
    report = psv.analyze(model)
    assert [g.names for g in report.groups] == [["0.weight", "1.weight"]]
    assert (report.naive_params, report.unique_params) == (30, 15)  # 2 * 5*3 names, one tensor


@pytest.mark.parametrize(
    ("attr", "match"),
    [
        ("not_a_module", "returned int, not an nn.Module"),
        ("broken", r"broken\(\) raised RuntimeError: boom"),
        ("missing", "has no attribute 'missing'"),
        ("instance", "is a module instance"),
    ],
)
def test_factory_bad_targets(user_package, attr, match) -> None:
    with pytest.raises(ValueError, match=match):
        psv.load_model(f"{user_package}:{attr}")


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("", "is empty"),
        ("gpt2", "is not a model spec"),
        ("no_such_package_xyz:make", "cannot import 'no_such_package_xyz'"),
        ("1bad.module:make", "expected 'package.module:factory'"),
        ("torch.nn:", "expected 'package.module:factory'"),
    ],
)
def test_bad_specs(spec, match) -> None:
    with pytest.raises(ValueError, match=match):
        psv.load_model(spec)


# --------------------------------------------------------------------------- inputs


def test_example_inputs() -> None:
    albert = psv.load_model("zoo:albert?num_layers=3")
    x = example_input_for("zoo:albert?num_layers=3", albert)
    torch.testing.assert_close(x, psv.zoo.example_input("albert", num_layers=3))
    assert psv.analyze(albert, x).calls["layers.0"] == 3  # one block, three calls

    gpt2 = psv.load_model("hf:gpt2")
    ids = example_input_for("hf:gpt2", gpt2, (2, 8))
    assert ids["input_ids"].shape == (2, 8) and ids["input_ids"].is_meta
    t5 = psv.load_model("hf:t5")
    assert set(example_input_for("hf:t5", t5, (1, 4))) == {"input_ids", "decoder_input_ids"}

    assert example_input_for("pkg:f", nn.Linear(3, 2), None) is None
    x = example_input_for("pkg:f", nn.Linear(3, 2).double(), (5, 3))
    assert x.shape == (5, 3) and x.dtype == torch.float64
    with pytest.raises(ValueError, match="bare state dict"):
        example_input_for("w.pt", StateDictModule({"w": torch.ones(2)}), (1, 2))
