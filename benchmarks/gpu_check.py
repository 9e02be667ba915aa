"""Run every CUDA path of paramshare_viz on this machine's GPU and print one table (``make gpu-check``).

For each zoo form: build the shared model and its twin on ``cuda``, analyze them
with an input on the GPU, run the Compare tab's measurement
(:func:`paramshare_viz.bench.twins.measure_twins`: timing in turns with
synchronisation, ``max_memory_allocated`` after ``reset_peak_memory_stats``, the
CUDA roof, bytes moved), then time the same forward passes with
``torch.utils.benchmark.Timer`` (its own blocked autorange, a synchronising
clock) and measure the peak once more by hand. A short sweep and Explore's
counts run on CUDA too. Where there is no GPU it says so and exits 0.

    .venv/bin/python benchmarks/gpu_check.py [--batch 8] [--min-time 0.2]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from typing import Any

import torch
from torch.utils import benchmark

import paramshare_viz as psv
from paramshare_viz.analysis.twin_counts import twin_counts
from paramshare_viz.bench._workload import Workload, scalar_loss
from paramshare_viz.bench.table import fmt_bytes, fmt_seconds
from paramshare_viz.bench.twins import measure_twins

#: Sizes where a GPU has some work to do (the zoo's defaults are tiny); others keep their defaults.
SIZES: dict[str, dict[str, Any]] = {
    "conv": dict(in_channels=16, out_channels=32, image_size=32),
    "albert": dict(hidden_size=256, num_heads=4, intermediate_size=1024, num_layers=6, seq_len=128,
                   max_position_embeddings=128),
    "tied_embeddings": dict(vocab_size=5000, hidden_size=256, num_heads=4, intermediate_size=1024, seq_len=128,
                            max_position_embeddings=128),
    "gqa": dict(hidden_size=256, num_heads=8, groups=2, seq_len=256),
}
DEVICE = "cuda"  # a dry run of the script's logic on "cpu" needs the torch.cuda calls stubbed
#: Timer and our timing should agree within this (both are medians of blocked runs).
AGREEMENT = 0.25


def synchronised_clock() -> float:
    torch.cuda.synchronize()
    return time.perf_counter()


def timer_median(fn, min_time: float) -> float:
    """``torch.utils.benchmark.Timer``'s median seconds per call of ``fn()``."""
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, timer=synchronised_clock)
    return timer.blocked_autorange(min_run_time=min_time).median


def peak_by_hand(model: torch.nn.Module, x: Any) -> int:
    """Bytes above the starting allocation held at once by one forward + backward, measured directly."""
    work = Workload.make(model, x, DEVICE)
    work.backward()  # warm-up: cuBLAS/cuDNN workspaces are allocated once
    work.clear_grads()
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    scalar_loss(model(*work.args, **work.kwargs)).backward()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - before
    work.clear_grads()
    return peak


def check_form(form: str, batch: int, min_time: float) -> dict[str, Any]:
    overrides = SIZES.get(form, {})
    shared, twin = psv.zoo.pair(form, device=DEVICE, **overrides)
    assert all(p.device.type == DEVICE for m in (shared, twin) for p in m.parameters()), "a parameter stayed off"
    x = psv.zoo.example_input(form, batch=batch, device=DEVICE, **overrides)
    report = psv.analyze(shared, x)
    assert report.unique_params == psv.analyze(shared).unique_params
    counts = twin_counts(form, device=DEVICE, **overrides)  # Explore's path
    assert counts.shared.unique_params == report.unique_params

    m = measure_twins(form, device=DEVICE, batch=batch, timing=dict(min_time_s=min_time), **overrides)
    assert DEVICE != "cuda" or m.row["peak_method"] == "cuda.max_memory_allocated", m.row["peak_method"]
    timer = {
        side: timer_median(Workload.make(model, x, DEVICE).forward, min_time)
        for side, model in (("shared", shared), ("unshared", twin))
    }
    by_hand = {side: peak_by_hand(model, x) for side, model in (("shared", shared), ("unshared", twin))}
    ours = {side: m.row[f"time_fwd_{side}_s"] for side in timer}
    agreement = max(abs(ours[s] / timer[s] - 1) for s in timer)
    return {
        "form": form,
        "params": (m.row["params_shared"], m.row["params_unshared"]),
        "ours": ours,
        "timer": timer,
        "bwd": (m.row["time_bwd_shared_s"], m.row["time_bwd_unshared_s"]),
        "peak": (m.row["peak_shared"], m.row["peak_unshared"]),
        "by_hand": (by_hand["shared"], by_hand["unshared"]),
        "agreement": agreement,
        "roof": m.roof,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds of timed work per side and pass")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu-check: skipped, no CUDA GPU here (torch.cuda.is_available() is False). "
              f"torch {torch.__version__}; on a GPU machine install a CUDA build of torch and run it again.")
        return 0
    name = torch.cuda.get_device_name()
    print(f"gpu-check on {name}, torch {torch.__version__} (CUDA {torch.version.cuda}), batch {args.batch}\n")
    sweep = psv.bench.sweep("conv", "image_size", [8, 16], device=DEVICE, timing=dict(min_time_s=0.05), bar=False)
    assert len(sweep.rows) == 2 and sweep.device.startswith(DEVICE)
    header = (
        f"{'form':22s} {'params shared/twin':>22s} {'fwd shared':>11s} {'fwd twin':>11s} {'Timer sh.':>10s} "
        f"{'Timer twin':>10s} {'agree':>6s} {'fwd+bwd sh.':>11s} {'fwd+bwd twin':>12s} "
        f"{'peak shared':>11s} {'peak twin':>10s} {'by hand':>19s}"
    )
    print(header)
    print("-" * len(header))
    failures, roof = [], None
    for form in psv.zoo.forms():
        try:
            r = check_form(form, args.batch, args.min_time)
        except Exception as err:  # one broken form must not hide the others' results
            failures.append(form)
            print(f"{form:22s} FAILED: {type(err).__name__}: {err}")
            traceback.print_exc(limit=3, file=sys.stdout)
            continue
        finally:
            torch.cuda.empty_cache()
        roof = r["roof"]
        flag = "" if r["agreement"] <= AGREEMENT else "  <- check"
        print(
            f"{form:22s} {r['params'][0]:>10,}/{r['params'][1]:<11,} {fmt_seconds(r['ours']['shared']):>11s} "
            f"{fmt_seconds(r['ours']['unshared']):>11s} {fmt_seconds(r['timer']['shared']):>10s} "
            f"{fmt_seconds(r['timer']['unshared']):>10s} {r['agreement']:>6.1%} {fmt_seconds(r['bwd'][0]):>11s} "
            f"{fmt_seconds(r['bwd'][1]):>12s} {fmt_bytes(r['peak'][0]):>11s} {fmt_bytes(r['peak'][1]):>10s} "
            f"{fmt_bytes(r['by_hand'][0]):>9s}/{fmt_bytes(r['by_hand'][1]):<9s}{flag}"
        )
    if roof is not None:
        print(f"\nroof: {roof.peak_flops / 1e12:.1f} TFLOP/s ({roof.peak_kernel}), {roof.bandwidth_bytes_per_s / 1e9:.0f} GB/s")
    print(
        "\nfwd: Compare's measure_twins, median of blocked runs in turns, synchronised; Timer: "
        "torch.utils.benchmark.Timer.blocked_autorange median; agree: largest |ours / Timer - 1| of the two sides.\n"
        "peak: parameters + buffers + input + max_memory_allocated of one forward + backward above the start; "
        "by hand: that last part alone, measured here."
    )
    if failures:
        print(f"\n{len(failures)} form(s) failed on CUDA: {', '.join(failures)}")
        return 1
    print(f"\nall {len(psv.zoo.forms())} forms ran on CUDA.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
