"""Property tests: random module trees with random ties, checked against brute force.

Hypothesis builds small module trees on CPU or meta in which parameters and
buffers are fresh tensors, views of a few shared base storages (slices,
strided slices, transposes, reshapes), or the very same tensor object reused,
and in which submodules are reused in several places. The brute force is
independent of ``paramshare_viz.analysis``: it enumerates every element of
every name as a ``(storage key, byte address)`` pair (index by index) and
counts sets.
"""

from __future__ import annotations

import itertools

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import paramshare_viz as psv

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def views(draw, base: torch.Tensor) -> torch.Tensor:
    """A random view of a 1-D ``base``: slice, strided slice, 2-D reshape (maybe transposed) block."""
    n = base.numel()
    kind = draw(st.sampled_from(["slice", "step", "matrix"]))
    if kind == "slice":
        lo = draw(st.integers(0, n - 1))
        return base[lo : draw(st.integers(lo + 1, n))]
    if kind == "step":  # interleaves with other strided views: shared span, maybe no shared element
        step = draw(st.integers(2, 3))
        lo = draw(st.integers(0, min(step, n - 1)))
        return base[lo : draw(st.integers(lo + 1, n)) : step]
    rows = draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
    m = base.view(rows, n // rows)
    if draw(st.booleans()):
        m = m.t()
    r0 = draw(st.integers(0, m.shape[0] - 1))
    c0 = draw(st.integers(0, m.shape[1] - 1))
    return m[r0 : draw(st.integers(r0 + 1, m.shape[0])), c0 : draw(st.integers(c0 + 1, m.shape[1]))]


@st.composite
def models(draw) -> nn.Module:
    device = draw(st.sampled_from(["cpu", "meta"]))
    with torch.device(device):
        bases = [torch.zeros(draw(st.integers(1, 12))) for _ in range(draw(st.integers(1, 2)))]
        pool: list[torch.Tensor] = []  # tensors that may be registered (again)
        leaves: list[nn.Module] = []
        for _ in range(draw(st.integers(1, 5))):
            leaf = nn.Module()
            for i in range(draw(st.integers(0, 3))):
                sources = ["fresh", "view", "view", "interleaved"] + (["reuse"] if pool else [])
                source = draw(st.sampled_from(sources))
                if source == "reuse":
                    t = draw(st.sampled_from(pool))
                elif source == "fresh":
                    t = torch.zeros(draw(st.integers(1, 5)))
                elif source == "view":
                    t = draw(views(draw(st.sampled_from(bases))))
                else:  # every other element, or a column block: spans overlap, elements may not
                    base = draw(st.sampled_from(bases))
                    if base.numel() < 4:
                        base = bases[0] = torch.zeros(8)
                    cols = 2 if base.numel() % 2 == 0 else 1
                    t = draw(st.sampled_from([base[0::2], base[1::2], base[: base.numel() // cols * cols].view(-1, cols)[:, :1]]))
                    if draw(st.booleans()):
                        t = nn.Parameter(t, requires_grad=draw(st.booleans()))
                    pool.append(t)
                if isinstance(t, nn.Parameter):
                    leaf.register_parameter(f"p{i}", t)
                else:
                    leaf.register_buffer(f"b{i}", t)
            leaves.append(leaf)
        modules = list(leaves)
        for _ in range(draw(st.integers(1, 4))):  # containers over earlier modules, repeats allowed
            parent = nn.Module()
            for j, child in enumerate(draw(st.lists(st.sampled_from(modules), min_size=1, max_size=3))):
                parent.add_module(f"m{j}", child)
            modules.append(parent)
        root = nn.Module()
        for j, child in enumerate(draw(st.lists(st.sampled_from(modules), min_size=1, max_size=4))):
            root.add_module(f"c{j}", child)
    return root


def _elements(t: torch.Tensor) -> set[tuple[object, int]]:
    """Every element of ``t`` as (memory domain, byte address), index by index."""
    if t.is_meta:
        domain, base = t.untyped_storage()._cdata, t.storage_offset() * t.element_size()
    else:
        domain, base = "cpu", t.data_ptr()
    return {
        (domain, base + sum(i * s for i, s in zip(idx, t.stride(), strict=True)) * t.element_size())
        for idx in itertools.product(*(range(n) for n in t.shape))
    }


def _brute_force(model: nn.Module) -> dict[str, object]:
    params = list(model.named_parameters(remove_duplicate=False))
    buffers = list(model.named_buffers(remove_duplicate=False))
    named = params + buffers
    sets = {name: _elements(t) for name, t in named}
    held_by_params: set = set()
    trainable = 0
    for name, p in params:  # each element counts for the first name that holds it
        new = sets[name] - held_by_params
        trainable += len(new) if p.requires_grad else 0
        held_by_params |= new
    held_by_buffers = set().union(*(sets[n] for n, _ in buffers)) - held_by_params
    # groups: connected components of "shares an element"
    parent = {name: name for name, _ in named}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    owner: dict = {}
    for name, _ in named:
        for el in sets[name]:
            if el in owner:
                parent[find(name)] = find(owner[el])
            else:
                owner[el] = name
    components: dict[str, list[str]] = {}
    for name, _ in named:
        components.setdefault(find(name), []).append(name)
    tensors = dict(named)
    groups = set()
    for names in components.values():
        if len(names) >= 2:
            numel = len(set().union(*(sets[n] for n in names)))
            kind = "same-tensor" if len({id(tensors[n]) for n in names}) == 1 else "aliased-storage"
            groups.add((tuple(sorted(names)), numel, kind))
    return {
        "naive_params": sum(p.numel() for _, p in params),
        "unique_params": len(held_by_params),
        "trainable_params": trainable,
        "naive_buffers": sum(b.numel() for _, b in buffers),
        "unique_buffers": len(held_by_buffers),
        "groups": groups,
    }


@SETTINGS
@given(models())
def test_analyze_matches_brute_force(model: nn.Module) -> None:
    report = psv.analyze(model)
    expected = _brute_force(model)
    got = {name: getattr(report, name) for name in expected if name != "groups"}
    got["groups"] = {(tuple(g.names), g.numel, g.kind) for g in report.groups}
    assert got == expected
    for name in ("naive_params", "unique_params", "naive_buffers", "unique_buffers", "unique_bytes"):
        assert sum(getattr(r, name) for r in report.modules) == getattr(report, name)


@SETTINGS
@given(models())
def test_untie_leaves_nothing_shared(model: nn.Module) -> None:
    before = psv.analyze(model)
    untied = psv.analyze(psv.untie(model))
    assert untied.groups == []
    assert untied.unique_params == untied.naive_params == before.naive_params
    assert untied.unique_buffers == untied.naive_buffers == before.naive_buffers
    assert psv.analyze(model).groups == before.groups  # the input is untouched
