"""How long Explore takes to count a published-size preset: on meta vs built on CPU.

Run: ``.venv/bin/python benchmarks/bench_presets.py [--repeats N] [--cpu-limit-mib M]``

For every preset of every form, ``twin_counts`` (build both models, analyse
both) on the meta device, the path Explore takes above its CPU budget; and,
for presets whose twin fits in ``--cpu-limit-mib`` of float32 parameters, the
same on CPU (random init, a forward on the example input for calls and FLOPs).
The two are sampled alternately, the cache cleared before each sample;
medians over ``--repeats`` rounds. Prints one row per preset: milliseconds on
meta, seconds on CPU, and the ratio CPU / meta.
"""

from __future__ import annotations

import argparse
import statistics
import time

import paramshare_viz as psv
from paramshare_viz.analysis import twin_counts as tc
from paramshare_viz.models import registry


def sample(form: str, device: str, overrides: dict) -> float:
    tc._twin_counts.cache_clear()  # every sample builds and analyses from scratch
    start = time.perf_counter()
    tc.twin_counts(form, device=device, **overrides)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpu-limit-mib", type=float, default=400.0)
    args = parser.parse_args()
    sample("conv", "meta", {})  # first meta call loads torch's meta kernels
    print(f"{'form':22} {'preset':42} {'twin MiB':>9} {'meta ms':>8} {'cpu s':>7} {'cpu/meta':>9}")
    for form in psv.zoo.forms():
        for name, overrides in psv.zoo.presets(form).items():
            config = psv.zoo.make_config(form, **overrides)
            twin_mib = registry.get(form).param_count(config, False) * 4 / 2**20
            on_cpu = twin_mib <= args.cpu_limit_mib
            meta, cpu = [], []
            for _ in range(args.repeats):
                meta.append(sample(form, "meta", overrides))
                if on_cpu:
                    try:
                        cpu.append(sample(form, "cpu", overrides))
                    except ValueError:  # over one of the zoo's own budgets on CPU
                        on_cpu = False
            m = statistics.median(meta)
            row = f"{form:22} {name:42} {twin_mib:9.1f} {m * 1000:8.1f}"
            if cpu:
                c = statistics.median(cpu)
                row += f" {c:7.2f} {c / m:8.0f}x"
            print(row, flush=True)


if __name__ == "__main__":
    main()
