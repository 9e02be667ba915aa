"""Roofline of conv vs its locally connected twin (and ALBERT vs BERT) on this machine.

Same FLOPs, very different speed: the conv reuses one small kernel at every
position (high arithmetic intensity), the twin streams a kernel per position
through memory (low intensity). Prints the roofs and each point; ``--html``
writes the figure.

    .venv/bin/python benchmarks/bench_roofline.py [--device cpu] [--threads 1] [--html roofline.html]
"""

from __future__ import annotations

import argparse

import torch

import paramshare_viz as psv
from paramshare_viz.plots.bench_figures import make_roofline_figure
from paramshare_viz.units import plural

#: (label, form, overrides, batch)
CASES = (
    ("conv 16->32 @32x32", "conv", dict(in_channels=16, out_channels=32, image_size=32), 8),
    ("conv 32->64 @16x16", "conv", dict(in_channels=32, out_channels=64, image_size=16), 8),
    ("albert 8 layers", "albert", dict(num_layers=8, hidden_size=64, intermediate_size=256, seq_len=32), 8),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=0.3)
    ap.add_argument("--html", help="write the roofline figure here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    roof = psv.bench.measure_roof(args.device)
    print(
        f"{roof.device_name} ({roof.device}, {plural(roof.threads, 'thread')}): peak {roof.peak_flops / 1e9:.1f} GFLOP/s "
        f"({roof.peak_kernel}), bandwidth {roof.bandwidth_bytes_per_s / 1e9:.1f} GB/s (copy), "
        f"ridge {roof.ridge_intensity:.2f} FLOP/B\n"
    )
    print(
        f"{'point':34s} {'MFLOP':>9s} {'MB moved':>9s} {'FLOP/B':>8s} {'ms':>9s} {'GFLOP/s':>8s} {'% roof':>7s}"
    )
    points = []
    for label, form, overrides, batch in CASES:
        pair = psv.zoo.pair(form, device=args.device, **overrides)
        x = psv.zoo.example_input(form, batch=batch, device=args.device, **overrides)
        # time both in turns (same noise), then place each on the roofline
        timing = psv.bench.compare(*pair, x, device=args.device, backward=False, min_time_s=args.min_time)
        times = (timing.forward.shared.median_s, timing.forward.unshared.median_s)
        for model, kind, t in zip(pair, ("shared", "unshared"), times, strict=True):
            p = psv.bench.roofline_point(
                model, x, device=args.device, label=f"{label} {kind}", kind=kind, time_s=t
            )
            points.append(p)
            share = p.achieved_flops / roof.attainable(p.intensity)
            print(
                f"{p.label:34s} {p.flops / 1e6:9.2f} {p.bytes_moved / 1e6:9.3f} {p.intensity:8.2f} "
                f"{p.time_s * 1e3:9.3f} {p.achieved_flops / 1e9:8.2f} {share:7.1%}"
            )
    if args.html:
        make_roofline_figure(points, roof).write_html(args.html)
        print(f"\nwrote {args.html}")


if __name__ == "__main__":
    main()
