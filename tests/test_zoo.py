"""Generic invariants of every sharing form in the zoo (parametrised over ``psv.zoo.forms()``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest
import torch
from torch import nn

import paramshare_viz as psv
from paramshare_viz.models import registry

FORMS = psv.zoo.forms()
#: Size-like config fields the meta test scales up (by name fragment).
SIZE_FIELDS = ("size", "features", "channels", "dim", "seq_len", "vocab")


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def call(model: nn.Module, x) -> object:
    return model(*x) if isinstance(x, tuple) else model(x)


def as_tuple(x) -> tuple[torch.Tensor, ...]:
    return x if isinstance(x, tuple) else (x,)


def to_double(x):
    cast = tuple(t.double() if t.is_floating_point() else t for t in as_tuple(x))
    return cast if isinstance(x, tuple) else cast[0]


def tensors_of(out) -> list[torch.Tensor]:
    """Every floating tensor in a model output (tensor, sequence, mapping)."""
    if isinstance(out, torch.Tensor):
        return [out] if out.is_floating_point() else []
    if isinstance(out, Mapping):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in tensors_of(o)]
    return []


def random_loss(out) -> torch.Tensor:
    """A fixed random projection of the output: no symmetry makes its gradient vanish
    (a plain sum would, after a softmax or a LayerNorm)."""
    g = torch.Generator().manual_seed(1)
    outs = tensors_of(out)
    assert outs, "the model returned no floating tensor"
    return sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype).to(t.device)).sum() for t in outs)


def scaled_overrides(form: str, factor: int) -> dict:
    """The default config with every size-like integer field times ``factor`` (if valid)."""
    config = psv.zoo.default_config(form)
    overrides = {
        f.name: getattr(config, f.name) * factor
        for f in dataclasses.fields(config)
        if any(s in f.name for s in SIZE_FIELDS)
        and isinstance(getattr(config, f.name), int)
        and not isinstance(getattr(config, f.name), bool)
    }
    try:
        psv.zoo.make_config(form, **overrides)
    except ValueError:
        return {}
    return overrides


def test_forms_registered():
    assert FORMS, "no sharing form is registered"
    assert len(set(FORMS)) == len(FORMS)
    for form in FORMS:
        assert registry.get(form).summary


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_twin_computes_the_same_function(form, dtype):
    shared, unshared = psv.zoo.pair(form, dtype=dtype)
    x = psv.zoo.example_input(form)
    if dtype == torch.float64:
        x = to_double(x)
    with torch.no_grad():
        torch.testing.assert_close(call(unshared, x), call(shared, x))


@pytest.mark.parametrize("form", FORMS)
def test_param_count_formula_and_twin_strictly_more(form):
    config = psv.zoo.default_config(form)
    spec = registry.get(form)
    shared, unshared = psv.zoo.pair(form)
    assert spec.param_count(config, True) == n_params(shared)
    assert spec.param_count(config, False) == n_params(unshared)
    assert n_params(unshared) > n_params(shared)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("shared", [True, False], ids=["shared", "unshared"])
def test_gradients_reach_every_parameter(form, shared):
    model = psv.zoo.build(form, shared=shared)
    random_loss(call(model, psv.zoo.example_input(form))).backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    for name, p in trainable:
        assert p.grad is not None, f"{form}: no gradient reaches {name}"
        assert p.grad.abs().sum() > 0, f"{form}: the gradient of {name} is all zero"


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.timeout(60)
def test_meta_build_of_a_large_config_allocates_nothing(form):
    overrides = scaled_overrides(form, 16)
    config = psv.zoo.make_config(form, **overrides)
    for shared in (True, False):
        model = psv.zoo.build(form, shared=shared, device="meta", **overrides)
        assert all(t.is_meta for t in model.parameters())
        assert all(t.is_meta for t in model.buffers())
        assert n_params(model) == registry.get(form).param_count(config, shared)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present, so building on cuda is valid")
@pytest.mark.parametrize("form", FORMS)
def test_cuda_without_gpu_is_refused(form):
    with pytest.raises(ValueError, match="cuda"):
        psv.zoo.build(form, device="cuda")


@pytest.mark.parametrize("form", FORMS)
def test_over_budget_is_refused_before_allocating(form, monkeypatch):
    spec = registry.get(form)
    need = psv.zoo.estimated_bytes(form, spec.config_cls(), shared=True)

    def no_build(config, shared):
        raise AssertionError("build ran although the config is over the memory budget")

    monkeypatch.setitem(registry._FORMS, form, dataclasses.replace(spec, build=no_build))
    with pytest.raises(ValueError, match="meta"):
        psv.zoo.build(form, memory_budget=need - 1)


@pytest.mark.parametrize("form", FORMS)
def test_unknown_override_is_named(form):
    with pytest.raises(ValueError, match="not_a_field"):
        psv.zoo.build(form, not_a_field=3)
    with pytest.raises(ValueError, match="not_a_field"):
        psv.zoo.example_input(form, not_a_field=3)


@pytest.mark.parametrize("form", FORMS)
def test_pair_is_reproducible_per_seed(form):
    x = psv.zoo.example_input(form)
    runs = {}
    for seed in (0, 1):
        first, second = psv.zoo.pair(form, seed=seed), psv.zoo.pair(form, seed=seed)
        for a, b in zip(first, second, strict=True):
            torch.testing.assert_close(a.state_dict(), b.state_dict(), rtol=0, atol=0)
            with torch.no_grad():
                torch.testing.assert_close(call(a, x), call(b, x), rtol=0, atol=0)
        runs[seed] = first[0].state_dict()
    assert any(not torch.equal(runs[0][k], runs[1][k]) for k in runs[0]), "seed does not change the weights"
