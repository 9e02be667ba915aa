"""How long the worst config of every size field takes to answer, at the real budgets.

Runs ``twin_counts`` (what Explore runs: build both sides, copy, analyse one
forward) for every integer field of every form at 10^5, 10^6 and 10^7 on cpu
and meta, and prints the slowest answers. Usage:
``.venv/bin/python benchmarks/bench_budgets.py``.
"""

from __future__ import annotations

import dataclasses
import enum
import time

import paramshare_viz as psv
from paramshare_viz.analysis.twin_counts import twin_counts
from paramshare_viz.models import budget


def main() -> None:
    rows = []
    for device in ("cpu", "meta"):
        for form in psv.zoo.forms():
            config = psv.zoo.default_config(form)
            for f in dataclasses.fields(config):
                value = getattr(config, f.name)
                if not isinstance(value, int) or isinstance(value, (bool, enum.Enum)):
                    continue
                for size in (10**5, 10**6, 10**7):
                    start = time.perf_counter()
                    try:
                        twin_counts(form, device=device, **{f.name: size})
                        outcome = "built"
                    except ValueError:
                        outcome = "refused"
                    rows.append((time.perf_counter() - start, device, form, f.name, size, outcome))
    rows.sort(reverse=True)
    print(f"budgets: memory {budget.fmt_bytes(budget.MEMORY_BUDGET)}, modules {budget.MAX_MODULES:,}, "
          f"forward ops {budget.MAX_FORWARD_OPS:,}; {len(rows)} cases")
    for device in ("cpu", "meta"):
        mine = [r for r in rows if r[1] == device]
        built = sum(r[5] == "built" for r in mine)
        print(f"{device}: {len(mine)} cases, {built} built, {len(mine) - built} refused, "
              f"total {sum(r[0] for r in mine):.1f} s, slowest {mine[0][0]:.2f} s")
    print("slowest 10:")
    for seconds, device, form, field, size, outcome in rows[:10]:
        print(f"  {seconds:6.2f} s  {device:4}  {form}.{field}={size:,}  {outcome}")


if __name__ == "__main__":
    main()
