"""Budgets before work: every size field of every form at 10^5..10^7 answers within seconds.

The worst cases run in one child process per device, each case under a
watchdog (``faulthandler.dump_traceback_later``), so a hang fails this test
naming the case instead of freezing the suite.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import subprocess
import sys

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import paramshare_viz as psv
from paramshare_viz.analysis.runtime import call_model
from paramshare_viz.models import budget, registry

SIZES = (10**5, 10**7)  # the issue names 10^5-10^7; 10^6 runs in benchmarks/bench_budgets.py
HANG_S = 60  # a case still running after this is a hang, not a slow answer


def int_fields(form: str) -> list[str]:
    config = psv.zoo.default_config(form)
    return [
        f.name
        for f in dataclasses.fields(config)
        for v in [getattr(config, f.name)]
        if isinstance(v, int) and not isinstance(v, (bool, enum.Enum))
    ]


CASES = [
    (device, form, field, size)
    for device in ("cpu", "meta")
    for form in psv.zoo.forms()
    for field in int_fields(form)
    for size in SIZES
]

CHILD = r"""
import faulthandler, json, sys, time
from paramshare_viz.analysis.twin_counts import twin_counts
from paramshare_viz.models import budget
cases, memory_budget, HANG_S = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
budget.MEMORY_BUDGET = memory_budget
for device, form, field, size in cases:
    print(json.dumps({"start": [device, form, field, size]}), flush=True)
    faulthandler.dump_traceback_later(HANG_S, exit=True)
    t = time.perf_counter()
    try:
        counts = twin_counts(form, device=device, **{field: size})
        outcome, message = "built", f"{counts.shared.unique_params} / {counts.unshared.unique_params}"
    except ValueError as err:
        outcome, message = "refused", str(err)
    except Exception as err:
        outcome, message = "crashed", f"{type(err).__name__}: {err}"
    faulthandler.cancel_dump_traceback_later()
    print(json.dumps({"case": [device, form, field, size], "outcome": outcome, "message": message,
                      "seconds": time.perf_counter() - t}), flush=True)
"""


def test_every_size_field_answers():
    # The memory budget is lowered to 16 MiB so the suite stays quick: the same
    # checks run and what is built is small (benchmarks/bench_budgets.py runs
    # this table at the real budget and prints the slowest answers).
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(CASES), str(16 * 1024**2), str(HANG_S)],
        capture_output=True, text=True, timeout=HANG_S * 4 + 120,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    started = [line["start"] for line in lines if "start" in line]
    results = {tuple(line["case"]): line for line in lines if "case" in line}
    assert len(results) == len(CASES), f"hung or died at {started[-1:]}: {proc.stderr[-2000:]}"
    for (device, form, field, size), r in results.items():
        assert r["outcome"] in ("built", "refused"), (device, form, field, size, r["message"])
        if r["outcome"] == "refused":
            assert f"{field}=" in r["message"], (device, form, field, size, r["message"])  # names its field
            assert "memory_budget" not in r["message"] and " GB" not in r["message"]
    # the cases: refused at once with the field to lower, not built for minutes
    for case in [("rnn", "seq_len"), ("multitask", "num_tasks"), ("lora", "num_tasks"), ("albert", "num_layers"),
                 ("universal_transformer", "num_layers")]:
        for device in ("cpu", "meta"):
            assert results[(device, *case, 10**5)]["outcome"] == "refused", (device, case)
    assert results[("cpu", "hashednet", "in_features", 10**7)]["outcome"] == "refused"  # free on meta


def over(form: str, device: str = "cpu", forward: bool = True, **overrides) -> str | None:
    config = psv.zoo.make_config(form, **overrides)
    try:
        psv.zoo.check_budget(form, config, device=device, forward=forward)
    except ValueError as err:
        return str(err)
    return None


@pytest.mark.parametrize(
    ("form", "field", "size", "device"),
    [
        ("albert", "num_layers", 100_000, "meta"),
        ("albert", "num_layers", 1_000, "cpu"),
        ("rnn", "seq_len", 100_000, "cpu"),
        ("multitask", "num_tasks", 100_000, "meta"),
        ("hashednet", "in_features", 10_000_000, "cpu"),
        ("conv", "image_size", 100_000, "cpu"),
        ("tied_embeddings", "vocab_size", 10_000_000, "cpu"),
    ],
)
def test_refusal_suggests_a_value_that_fits(form, field, size, device):
    message = over(form, device, **{field: size})
    assert message is not None and message.startswith(f"{form}: {field}={size:,} ")
    fit = int(re.search(rf"{field}=([\d,]+) fits", message).group(1).replace(",", ""))
    assert 1 <= fit < size
    assert over(form, device, **{field: fit}) is None  # the suggestion passes every budget
    assert over(form, device, **{field: fit + 1}) is not None or fit + 1 == size  # and is the largest


def test_module_limit_holds_on_meta_and_names_the_field():
    message = over("albert", "meta", num_layers=100_000)
    # 8 modules outside the layers + 12 per BERT-style layer (block, drop, attention 5, ffn 3, 2 norms)
    assert "would give the shared model 1,200,008 module names to walk" in message and "meta device" in message
    # the limit is objects, not parameters: one block of 12,704 + embeddings (100+64+2)*16 + 2*16 = 2,688
    # + projection 16*32 + 32 = 544 -> 15,936 at any depth; the twin holds 100,000 blocks: 1,270,403,232
    assert "the shared model holds 15,936 parameters and the twin 1,270,403,232" in message
    assert over("albert", "meta", num_layers=416) is None  # 8 + 12*416 = 5,000


def test_memory_refusal_speaks_binary_units():
    message = over("tied_embeddings", vocab_size=10_000_000)
    # 10^7 * 32 * 4 bytes = 1.19 GiB of parameters (+ positions, blocks) before any activation
    assert "GiB" in message and "256.0 MiB" in message and "meta device" in message


class _CountOps(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.n += 1
        return func(*args, **(kwargs or {}))


SMALL = [(form, {}) for form in psv.zoo.forms()] + [
    ("rnn", dict(cell="gru", seq_len=3)), ("rnn", dict(cell="lstm", seq_len=6)), ("ssm", dict(seq_len=3)),
    ("albert", dict(share="attention", num_layers=3)),
    ("albert", dict(share="ffn", share_layernorm=False, num_layers=3)),
    ("albert", dict(embedding_size=32, add_pooler=True)), ("universal_transformer", dict(act=True, num_layers=3)),
    ("tied_embeddings", dict(num_layers=3)), ("multitask", dict(num_tasks=5, num_layers=3)),
    ("lora", dict(num_tasks=5)), ("hashednet", dict(sign_hash=False)), ("gqa", dict(groups=1)),
]


@pytest.mark.parametrize(("form", "overrides"), SMALL, ids=[f"{f}-{i}" for i, (f, _) in enumerate(SMALL)])
def test_footprint_matches_the_built_model(form, overrides):
    config = psv.zoo.make_config(form, **overrides)
    x = psv.zoo.example_input(form, **overrides)
    inputs = sum(t.numel() for t in (x if isinstance(x, tuple) else (x,)))
    for shared in (True, False):
        fp = budget.footprint(form, config, shared)
        model = psv.zoo.build(form, shared=shared, **overrides)
        counter = _CountOps()
        with torch.no_grad(), counter:
            out = call_model(model, x)
        assert fp.params == sum(p.numel() for p in model.parameters())
        assert fp.modules == len(list(model.named_modules(remove_duplicate=False)))
        assert fp.ops == counter.n
        assert fp.inputs == inputs
        assert fp.activations >= inputs + out.numel()  # an upper estimate holds at least input and output
        buffers = sum(b.numel() * b.element_size() for b in model.buffers())
        if form == "hashednet" and shared:  # plus the hash's three int64 temporaries while building
            buffers += 3 * 8 * config.in_features * config.out_features
        assert fp.buffer_bytes == buffers


def test_estimate_reads_as_a_table():
    text = str(psv.zoo.estimate("albert", num_layers=100_000))
    assert "modules" in text and "1,200,008" in text and "parameters" in text
    assert registry.get("albert").footprint is not None
