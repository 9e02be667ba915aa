"""psv.check_ties: which ties survive .to(), state_dict round trips, meta->to_empty, saving.

Every verdict is checked against what PyTorch and safetensors really do on a
small model, and the meta-device simulation against the real run.
"""

from __future__ import annotations

import io
import json

import pytest
import torch
from torch import nn

import paramshare_viz as psv
from paramshare_viz.analysis.ties import OPERATIONS, safetensors_dry_run

safetensors_torch = pytest.importorskip("safetensors.torch")


class TiedLM(nn.Module):
    """Embedding -> Linear head, the head weight *is* the embedding weight."""

    def __init__(self, vocab: int = 10, dim: int = 4, tied: bool = True) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        if tied:
            self.head.weight = self.emb.weight  # tied embeddings (Press & Wolf, 2017)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.emb(ids))


class SlicedParams(nn.Module):
    """Two Parameters viewing one storage: ``top`` is the first two rows of ``full``."""

    def __init__(self) -> None:
        super().__init__()
        self.full = nn.Parameter(torch.randn(4, 6))
        self.top = nn.Parameter(self.full.data[:2])  # a view: same storage, rows 0-1


class SharedBlockStack(nn.Module):
    """One Linear registered three times (ALBERT-style layer sharing)."""

    def __init__(self) -> None:
        super().__init__()
        block = nn.Linear(3, 3)
        self.layers = nn.ModuleList([block] * 3)


def _survives(health: psv.TieHealth) -> list[dict]:
    return [g.survives for g in health.groups]


def test_tied_lm_verdicts() -> None:
    health = psv.check_ties(TiedLM())
    (group,) = health.groups
    assert group.names == ["emb.weight", "head.weight"]
    assert group.kind == "same-tensor"
    assert group.numel == 40  # 10 * 4
    assert group.survives == {
        "to_dtype": True,  # Module._apply sets .data on the one Parameter object
        "state_dict": True,  # deepcopy keeps the tie, load_state_dict copies in place
        "meta_to_empty": False,  # meta -> cpu: a new Parameter per module
        "torch_save": True,  # one storage in one save
        "safetensors_save_model": False,  # a safetensors file holds no aliases
        "safetensors_save_file": False,
    }
    assert set(health.modes.values()) >= {"run"}
    assert health.safetensors.exact
    assert health.safetensors.dropped == {"head.weight": "emb.weight"}  # keeps the sorted-first name
    assert health.safetensors.kept == ["emb.weight"]
    assert health.safetensors.save_file_refuses
    (risk,) = health.ties_at_risk
    assert risk.startswith("emb.weight / head.weight: ")
    assert "dropped as a separate key by safetensors save_model: head.weight (kept: emb.weight)" in risk
    assert "to_empty" in risk and "re-tie" in risk
    json.dumps(health.to_dict())


def test_dry_run_matches_real_safetensors(tmp_path) -> None:
    model = TiedLM()
    dry = psv.check_ties(model).safetensors
    path = tmp_path / "m.safetensors"
    safetensors_torch.save_model(model, str(path))
    assert sorted(safetensors_torch.load_file(str(path))) == dry.kept
    with pytest.raises(RuntimeError, match="share memory"):
        safetensors_torch.save_file(model.state_dict(), str(tmp_path / "refused.safetensors"))


def test_real_meta_to_empty_breaks_a_parameter_tie() -> None:
    # What the verdict predicts, done by hand: build on meta, materialise on CPU.
    with torch.device("meta"):
        model = TiedLM()
    assert model.head.weight is model.emb.weight
    model.to_empty(device="cpu")
    assert model.head.weight is not model.emb.weight
    assert psv.check_ties(TiedLM()).groups[0].survives["meta_to_empty"] is False


def test_shared_module_survives_meta_to_empty() -> None:
    health = psv.check_ties(SharedBlockStack())
    assert sorted(g.names for g in health.groups) == [
        ["layers.0.bias", "layers.1.bias", "layers.2.bias"],
        ["layers.0.weight", "layers.1.weight", "layers.2.weight"],
    ]
    for survives in _survives(health):
        # _apply visits the one Linear once, so all three names keep one Parameter
        assert survives["meta_to_empty"] is True
        assert survives["to_dtype"] is True


def test_state_dict_into_untied_class_breaks_the_tie() -> None:
    model = TiedLM()
    health = psv.check_ties(model, target=lambda: TiedLM(tied=False))
    (group,) = health.groups
    assert group.survives["state_dict"] is False
    assert "ties them itself" in group.notes["state_dict"]
    assert "not tied after load_state_dict" in health.ties_at_risk[0]
    # the same, by hand
    fresh = TiedLM(tied=False)
    fresh.load_state_dict(model.state_dict())
    assert fresh.head.weight.data_ptr() != fresh.emb.weight.data_ptr()
    # into a class that ties the weights itself, the tie holds
    assert psv.check_ties(model, target=TiedLM()).groups[0].survives["state_dict"] is True


def test_views_break_under_to_and_deepcopy_but_survive_torch_save() -> None:
    model = SlicedParams()
    (group,) = psv.check_ties(model).groups
    assert group.kind == "aliased-storage"
    assert group.numel == 24  # 4 * 6: the view adds nothing
    assert group.survives["to_dtype"] is False  # each Parameter converted on its own
    assert group.survives["state_dict"] is False  # Parameter.__deepcopy__ clones each one
    assert group.survives["meta_to_empty"] is False
    assert group.survives["torch_save"] is True
    # torch.save keeps the aliasing, checked by hand
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    assert loaded["full"].untyped_storage().data_ptr() == loaded["top"].untyped_storage().data_ptr()
    loaded["full"][0, 0] = 123.0
    assert loaded["top"][0, 0] == 123.0


def test_model_is_not_modified() -> None:
    model = SlicedParams()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    psv.check_ties(model)
    assert model.top.untyped_storage().data_ptr() == model.full.untyped_storage().data_ptr()
    assert model.full.dtype == torch.float32
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k])


@pytest.mark.parametrize("factory", [TiedLM, SlicedParams, SharedBlockStack])
def test_meta_simulation_matches_the_real_run(factory) -> None:
    torch.manual_seed(0)
    real = psv.check_ties(factory())
    with torch.device("meta"):
        meta_model = factory()
    simulated = psv.check_ties(meta_model)
    assert simulated.device == "meta"
    assert all(mode != "run" for mode in simulated.modes.values())
    assert _survives(simulated) == _survives(real)
    assert simulated.safetensors.exact is False and real.safetensors.exact is True
    for field in ("shared", "kept", "dropped", "save_model_error", "save_file_refuses"):
        assert getattr(simulated.safetensors, field) == getattr(real.safetensors, field), field
    # over the memory budget, a CPU model is simulated on meta too, with the same verdicts
    assert _survives(psv.check_ties(factory(), memory_budget=0)) == _survives(real)


def test_overlapping_incomplete_views_make_save_model_refuse() -> None:
    # a = w[:6], b = w[4:]: they overlap and neither covers the whole storage
    for device in ("cpu", "meta"):
        w = torch.zeros(10, device=device)
        dry = safetensors_dry_run({"a": w[:6], "b": w[4:]})
        assert dry.exact is (device == "cpu")
        assert dry.shared == [["a", "b"]]
        assert dry.save_model_error is not None and "RuntimeError" in dry.save_model_error
        assert dry.kept == [] and dry.save_file_refuses
    # disjoint slices of one storage are saved separately: nothing dropped, nothing refused
    w = torch.zeros(10)
    dry = safetensors_dry_run({"a": w[:5], "b": w[5:]})
    assert dry.shared == [] and dry.dropped == {} and not dry.save_file_refuses


def test_hf_gpt2_on_meta() -> None:
    model = psv.load_model("hf:gpt2")
    health = psv.check_ties(model)
    (group,) = health.groups
    assert group.names == ["lm_head.weight", "transformer.wte.weight"]
    assert group.numel == 38_597_376  # 50257 * 768
    assert group.survives["to_dtype"] is True
    assert group.survives["meta_to_empty"] is False  # why HF calls tie_weights() after loading
    assert group.survives["safetensors_save_model"] is False
    st = health.safetensors
    assert st.dropped == {"transformer.wte.weight": "lm_head.weight"}  # save_model keeps one of them
    assert len(st.kept) == 148  # 149 state-dict names, one dropped
    assert st.save_file_refuses and "lm_head.weight / transformer.wte.weight" in st.save_file_reason
    assert health.modes["torch_save"].startswith("predicted")
    assert health.modes["to_dtype"].startswith("simulated")
    assert "model.tie_weights()" in health.ties_at_risk[0]
    # nothing was materialised, and the model's own tie is intact
    assert model.lm_head.weight is model.transformer.wte.weight
    assert all(p.is_meta for p in model.parameters())


def test_7b_shaped_llama_on_meta_allocates_nothing() -> None:
    model = psv.load_model("hf:llama")  # AutoConfig.for_model("llama"): 7B shape, untied head
    health = psv.check_ties(model)
    assert health.groups == [] and health.ties_at_risk == []
    assert not health.safetensors.save_file_refuses
    assert len(health.safetensors.kept) == len(model.state_dict())
    assert all(p.is_meta for p in model.parameters())


def test_operations_are_reported_for_every_group() -> None:
    for group in psv.check_ties(TiedLM()).groups:
        assert list(group.survives) == list(OPERATIONS)
