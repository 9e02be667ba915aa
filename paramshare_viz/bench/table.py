"""Plain-text tables of bench rows (for the CLI and logs); numbers in readable units."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from paramshare_viz.units import fmt_bytes  # noqa: F401  (re-exported; the models use it too)


def fmt_count(n: float | None) -> str:
    """``1234567 -> '1.23M'``; small integers as they are."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "-"
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.3g}" if isinstance(n, float) else str(n)


def fmt_seconds(s: float | None, iqr: float | None = None) -> str:
    """``0.00123, 0.00005 -> '1.23 ms ± 0.05'`` (the IQR in the same unit)."""
    if s is None:
        return "-"
    scale, unit = next(((m, u) for m, u in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")) if s >= m), (1e-9, "ns"))
    text = f"{s / scale:.3g} {unit}"
    return text if iqr is None else f"{text} ± {iqr / scale:.2g}"


def fmt_times(r: float) -> str:
    """``1024.0 -> '1,024x'``, ``0.0584 -> '0.058x'``: no exponents in a ratio column."""
    if r >= 100:
        return f"{r:,.0f}x"
    return f"{r:.3g}x" if r >= 0.01 else f"{r:.2e}x"


#: Rows of the one-configuration table: (label, column stem, formatter).
PAIR_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("unique parameters", "params", fmt_count),
    ("parameter bytes", "param_bytes", fmt_bytes),
    ("FLOPs forward", "flops_fwd", fmt_count),
    ("FLOPs backward", "flops_bwd", fmt_count),
    ("bytes moved (fwd)", "bytes_moved", fmt_bytes),
    ("intensity FLOP/B", "intensity", lambda v: "-" if v is None else f"{v:.3g}"),
    ("achieved FLOP/s", "achieved_flops", fmt_count),
    ("training memory", "train_mem", fmt_bytes),
    ("measured peak", "peak", fmt_bytes),
)


def twin_over_shared(shared_over_twin: float | None) -> str:
    """Bench stores time ratios as shared / twin per turn; tables show twin / shared like every size
    ratio. The median of ``1/r`` is ``1/median(r)`` (an odd number of turns; ``1/x`` is monotone)."""
    return fmt_times(1 / shared_over_twin) if shared_over_twin else "-"


def _ratio(a: Any, b: Any) -> str:
    if isinstance(a, int | float) and isinstance(b, int | float) and a:
        return fmt_times(b / a)
    return ""


def _render(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    lines = []
    for r in [header, *body]:
        cells = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells))
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def pair_table(row: dict[str, Any]) -> str:
    """Shared vs unshared, one metric per line, with the twin / shared factor."""
    body: list[list[str]] = []
    for label, stem, fmt in PAIR_ROWS:
        a, b = row.get(f"{stem}_shared"), row.get(f"{stem}_unshared")
        if a is None and b is None:
            continue
        body.append([label, fmt(a), fmt(b), _ratio(a, b)])
    for kind, label in (("fwd", "time forward"), ("bwd", "time fwd+bwd")):
        if f"time_{kind}_shared_s" not in row:
            continue
        body.append(
            [
                f"{label} (median ± IQR)",
                fmt_seconds(row[f"time_{kind}_shared_s"], row[f"time_{kind}_shared_iqr_s"]),
                fmt_seconds(row[f"time_{kind}_unshared_s"], row[f"time_{kind}_unshared_iqr_s"]),
                twin_over_shared(row.get(f"time_{kind}_ratio")),
            ]
        )
    text = _render(["metric", "shared", "twin", "twin/shared"], body)
    text += "\ntwin/shared: the twin's number divided by the shared model's"
    if any(f"time_{kind}_ratio" in row for kind in ("fwd", "bwd")):
        text += "; for times, the median over turns that ran both (turn by turn, so load cancels)"
    if "peak_method" in row:
        text += f"\nmeasured peak: {row['peak_method']}; training memory: params + grads + Adam state"
    return text


#: Columns of the sweep table: (header, column, formatter).
SWEEP_COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("params", "params_shared", fmt_count),
    ("params twin", "params_unshared", fmt_count),
    ("FLOPs fwd", "flops_fwd_shared", fmt_count),
    ("FLOPs fwd twin", "flops_fwd_unshared", fmt_count),
    ("time fwd", "time_fwd_shared_s", fmt_seconds),
    ("time fwd twin", "time_fwd_unshared_s", fmt_seconds),
    ("time fwd twin/shared", "time_fwd_ratio", twin_over_shared),
    ("time fwd+bwd twin/shared", "time_bwd_ratio", twin_over_shared),
    ("train mem", "train_mem_shared", fmt_bytes),
    ("train mem twin", "train_mem_unshared", fmt_bytes),
    ("peak", "peak_shared", fmt_bytes),
    ("peak twin", "peak_unshared", fmt_bytes),
    ("FLOP/B", "intensity_shared", lambda v: f"{v:.3g}"),
    ("FLOP/B twin", "intensity_unshared", lambda v: f"{v:.3g}"),
)


def sweep_table(knob: str, rows: Sequence[dict[str, Any]]) -> str:
    """One line per knob value; only the columns that were measured."""
    cols = [c for c in SWEEP_COLUMNS if any(c[1] in r for r in rows)]
    body = [[str(r.get(knob))] + [fmt(r[key]) if key in r else "-" for _, key, fmt in cols] for r in rows]
    return _render([knob] + [h for h, _, _ in cols], body)
