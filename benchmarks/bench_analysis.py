"""How fast is ``psv.analyze``? Against a bare parameter walk and against torchinfo.

Run: ``.venv/bin/python benchmarks/bench_analysis.py [--repeats N]``

Models (all built without allocating weights where possible):

* GPT-2 small from ``transformers.GPT2Config()`` on the meta device
  (148 parameter names + 1 tied head, 124,439,808 unique parameters);
* a synthetic model with 10,000 distinct parameter tensors (500 blocks of
  10 ``Linear(4, 4)``), on meta and on CPU (the CPU path compares real
  addresses, one bucket for the whole device).

Contenders, sampled once per round in rotating order (interleaved), each
sample a loop of about 20 ms, garbage collector paused while timing (as
``timeit`` does), medians over rounds:

* ``floor``: one ``for _ in model.named_parameters(remove_duplicate=False)`` walk;
* ``analyze``: ``psv.analyze(model)`` (static; the per-module table is built
  on first access of ``report.modules``);
* ``analyze+table``: ``psv.analyze(model).modules`` (the table materialised);
* ``torchinfo``: ``torchinfo.summary(model, verbose=0)`` (static: no input,
  works on meta);
* with an input (GPT-2 only, 16 tokens on meta): ``psv.analyze(model, ids)``
  (calls + FLOPs + every tensor use) vs ``torchinfo.summary(model, input_data=ids, verbose=0)``;
* the cost of tracing uses (issue 20), on GPT-2 small and ALBERT-base
  (``AlbertConfig(hidden_size=768, num_attention_heads=12, intermediate_size=3072)``),
  both on meta with 16 tokens: ``psv.analyze(model, ids)`` against the same
  analysis without the use tracer (calls + FLOPs only, what ``analyze`` ran
  before), side by side with their ratio (the budget is 2x).

Prints two tables: median milliseconds, ratio to the floor, ratio to torchinfo;
then traced vs untraced.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paramshare_viz as psv  # noqa: E402


def albert_base() -> nn.Module:
    from transformers import AlbertConfig, AlbertForMaskedLM

    with torch.device("meta"):
        return AlbertForMaskedLM(AlbertConfig(hidden_size=768, num_attention_heads=12, intermediate_size=3072)).eval()


def untraced(model: nn.Module, example: torch.Tensor) -> object:
    """``analyze(model, example)`` without the use tracer: calls and FLOPs only (the analysis before issue 20)."""
    from paramshare_viz.analysis.flops import FlopCount, counting_mode, per_module_flops
    from paramshare_viz.analysis.groups import inventory
    from paramshare_viz.analysis.report import _report
    from paramshare_viz.analysis.runtime import call_model

    inv = inventory(model)
    counter, calls = counting_mode(model)
    with torch.no_grad(), counter:
        call_model(model, example)
    return _report(model, inv, calls.calls, FlopCount(counter.get_total_flops(), None, per_module_flops(counter)))


def gpt2_small() -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    with torch.device("meta"):
        return GPT2LMHeadModel(GPT2Config()).eval()


def synthetic(device: str, blocks: int = 500, width: int = 10) -> nn.Module:
    """``blocks * width`` Linear(4, 4) layers: ``2 * blocks * width`` = 10,000 parameter tensors."""
    with torch.device(device):
        return nn.Sequential(*[nn.Sequential(*[nn.Linear(4, 4) for _ in range(width)]) for _ in range(blocks)])


def floor(model: nn.Module) -> None:
    for _ in model.named_parameters(remove_duplicate=False):
        pass


def measure(contenders: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds per call for each contender.

    Each contender is warmed up once and given a loop count so that one sample
    lasts about 20 ms (as ``timeit.autorange`` does); samples are interleaved,
    one per contender per round in rotating order, with the garbage collector
    paused while timing.
    """
    names = list(contenders)
    number: dict[str, int] = {}
    for n in names:
        start = time.perf_counter()
        contenders[n]()
        number[n] = max(1, min(200, int(0.02 / max(time.perf_counter() - start, 1e-6))))
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        gc.collect()
        gc.disable()
        try:
            for n in names[r % len(names) :] + names[: r % len(names)]:
                fn, k = contenders[n], number[n]
                start = time.perf_counter()
                for _ in range(k):
                    fn()
                times[n].append((time.perf_counter() - start) / k)
        finally:
            gc.enable()
    return {n: statistics.median(v) for n, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="rounds per model (default 15)")
    args = parser.parse_args(argv)
    try:
        import torchinfo
    except ImportError:
        torchinfo = None

    rows: list[tuple[str, str, float, float, float | None]] = []
    models = [("gpt2-small (meta)", gpt2_small()), ("synthetic 10k (meta)", synthetic("meta"))]
    models.append(("synthetic 10k (cpu)", synthetic("cpu")))
    for label, model in models:
        n_names = sum(1 for _ in model.named_parameters(remove_duplicate=False))
        contenders: dict[str, Callable[[], object]] = {
            "floor": lambda m=model: floor(m),
            "analyze": lambda m=model: psv.analyze(m),
            "analyze+table": lambda m=model: psv.analyze(m).modules,
        }
        if torchinfo is not None:
            contenders["torchinfo"] = lambda m=model: torchinfo.summary(m, verbose=0)
        med = measure(contenders, args.repeats)
        for name, seconds in med.items():
            ti = med.get("torchinfo")
            rows.append((f"{label}, {n_names} names", name, seconds, seconds / med["floor"], ti and seconds / ti))

    model = models[0][1]
    ids = torch.zeros(1, 16, dtype=torch.long, device="meta")
    contenders = {"analyze(input)": lambda: psv.analyze(model, ids)}
    if torchinfo is not None:
        contenders["torchinfo(input)"] = lambda: torchinfo.summary(model, input_data=ids, verbose=0)
    med = measure(contenders, max(5, args.repeats // 3))
    for name, seconds in med.items():
        ti = med.get("torchinfo(input)")
        rows.append(("gpt2-small (meta), 16 tokens", name, seconds, float("nan"), ti and seconds / ti))

    print(f"torch {torch.__version__}; medians of interleaved rounds; lower is better")
    print(f"{'model':<36} {'contender':<17} {'median ms':>10} {'x floor':>8} {'x torchinfo':>12}")
    for label, name, seconds, x_floor, x_ti in rows:
        ti = f"{x_ti:12.2f}" if x_ti is not None else f"{'n/a':>12}"
        print(f"{label:<36} {name:<17} {seconds * 1e3:10.3f} {x_floor:8.2f} {ti}")

    print("\ntracing every tensor use (one forward, meta, 16 tokens): traced / untraced, budget 2x")
    print(f"{'model':<22} {'untraced ms':>12} {'traced ms':>10} {'traced / untraced':>18}")
    for label, m in (("gpt2-small", model), ("albert-base", albert_base())):
        med = measure(
            {"untraced": lambda m=m: untraced(m, ids), "traced": lambda m=m: psv.analyze(m, ids)},
            max(5, args.repeats // 3),
        )
        print(f"{label:<22} {med['untraced'] * 1e3:12.1f} {med['traced'] * 1e3:10.1f} "
              f"{med['traced'] / med['untraced']:18.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
