"""Does ``psv.bench.time_model`` agree with ``torch.utils.benchmark.Timer.blocked_autorange``?

For three ops (a conv forward, an ALBERT forward + backward, an RNN forward) the
two methods time the same callable, in alternating rounds (ours, Timer, ours,
Timer ... with the order flipped every round), so both see the same machine.
Printed per op: the median over rounds of ``our median / Timer median`` (target
0.85-1.15) and each method's spread (IQR / median, median over rounds).

    .venv/bin/python benchmarks/bench_timing.py [--rounds 6] [--min-time 0.2] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics

import torch
from torch.utils.benchmark import Timer

import paramshare_viz as psv
from paramshare_viz.bench._workload import Workload
from paramshare_viz.units import plural

#: (label, form, overrides, batch, backward)
OPS = (
    ("conv forward", "conv", dict(in_channels=16, out_channels=32, image_size=32), 8, False),
    ("albert forward+backward", "albert", dict(hidden_size=64, intermediate_size=256, seq_len=32), 8, True),
    ("rnn forward", "rnn", dict(input_size=32, hidden_size=64, seq_len=32), 8, False),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per measurement (both methods)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for both methods (default 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    env = psv.bench.environment("cpu")
    print(
        f"{env['device_name']}, torch {env['torch_version']}, {plural(env['threads'], 'thread')}, "
        f"{args.rounds} rounds of {args.min_time} s per method\n"
    )
    print(
        f"{'op':26s} {'ours':>10s} {'Timer':>10s} {'ratio':>7s} {'ratio range':>14s} "
        f"{'ours IQR/med':>13s} {'Timer IQR/med':>14s}"
    )
    for label, form, overrides, batch, backward in OPS:
        ours, theirs, ratios = _rounds(form, overrides, batch, backward, args)
        med = statistics.median
        print(
            f"{label:26s} {med(o[0] for o in ours) * 1e3:8.3f}ms {med(t[0] for t in theirs) * 1e3:8.3f}ms "
            f"{med(ratios):7.3f} {min(ratios):6.3f}-{max(ratios):6.3f} "
            f"{med(o[1] for o in ours):13.3f} {med(t[1] for t in theirs):14.3f}"
        )


def _rounds(form: str, overrides: dict, batch: int, backward: bool, args: argparse.Namespace):
    """``(ours, Timer's, ratios)``: per round ``(median_s, IQR / median)`` of each, and ours / Timer."""
    model = psv.zoo.build(form, **overrides)
    x = psv.zoo.example_input(form, batch=batch, **overrides)
    work = Workload.make(model, x, "cpu")
    timer = Timer(
        stmt="fn()", globals={"fn": work.backward if backward else work.forward}, num_threads=args.threads
    )

    def run_ours() -> tuple[float, float]:
        res = psv.bench.time_model(model, x, backward=backward, min_time_s=args.min_time)
        stats = res.backward if backward else res.forward
        return stats.median_s, stats.iqr_s / stats.median_s

    def run_timer() -> tuple[float, float]:
        m = timer.blocked_autorange(min_run_time=args.min_time)
        return m.median, m.iqr / m.median

    ours, theirs, ratios = [], [], []
    for r in range(args.rounds):
        if r % 2 == 0:
            a, b = run_ours(), run_timer()
        else:
            b, a = run_timer(), run_ours()
        ours.append(a)
        theirs.append(b)
        ratios.append(a[0] / b[0])
    return ours, theirs, ratios


if __name__ == "__main__":
    main()
