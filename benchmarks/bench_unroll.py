"""What the Unroll tab costs per slider move, measured side by side.

Run: ``.venv/bin/python benchmarks/bench_unroll.py [--rounds N]``

1. The counts curve (T or L = 2..32): ``psv.unroll.count_curve`` from the closed-form
   ``param_count`` against building both models on the meta device for every value and
   summing ``numel`` (what the curve would cost without the formula).
2. The gradient split: ``grad_contributions`` (pair, forward and backward of the shared
   model and its twin) against one forward and backward of the shared model alone.

Contenders alternate within each round; medians over rounds, milliseconds and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from paramshare_viz import zoo
from paramshare_viz.unroll import STEP_FIELD, count_curve, grad_contributions

STEPS = range(2, 33)
CASES = [("rnn", {"cell": "lstm"}, 16), ("albert", {}, 12), ("universal_transformer", {}, 12)]


def built_curve(form: str, **overrides) -> list[tuple[int, int]]:
    field = STEP_FIELD[form]
    out = []
    for s in STEPS:
        pair = [zoo.build(form, shared=sh, device="meta", **{**overrides, field: s}) for sh in (True, False)]
        out.append(tuple(sum(p.numel() for p in m.parameters()) for m in pair))
    return out


def shared_backward(form: str, steps: int, **overrides) -> None:
    field = STEP_FIELD[form]
    model = zoo.build(form, **{**overrides, field: steps})
    x = zoo.example_input(form, **{**overrides, field: steps})
    model(x).sum().backward()


def median_ms(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1000)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} rounds, medians\n")
    print(f"{'form':<24}{'curve: formula':>16}{'curve: built':>14}{'ratio':>8}"
          f"{'split at':>10}{'split':>12}{'shared f+b':>13}{'ratio':>8}")
    for form, overrides, steps in CASES:
        curve = count_curve(form, STEPS, **overrides)
        assert list(zip(curve.shared, curve.twin, strict=True)) == built_curve(form, **overrides)  # same numbers
        t = median_ms({
            "formula": lambda: count_curve(form, STEPS, **overrides),  # noqa: B023
            "built": lambda: built_curve(form, **overrides),  # noqa: B023
            "split": lambda: grad_contributions(form, steps, **overrides),  # noqa: B023
            "plain": lambda: shared_backward(form, steps, **overrides),  # noqa: B023
        }, args.rounds)
        label = form + (f" ({overrides['cell']})" if "cell" in overrides else "")
        print(f"{label:<24}{t['formula']:>13.2f} ms{t['built']:>11.1f} ms{t['built'] / t['formula']:>7.0f}×"
              f"{steps:>10}{t['split']:>9.1f} ms{t['plain']:>10.1f} ms{t['split'] / t['plain']:>7.1f}×")


if __name__ == "__main__":
    main()
