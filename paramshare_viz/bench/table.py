"""Plain-text tables of bench rows (for the CLI and logs); numbers in readable units."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from paramshare_viz.bench.explain import memory_note, time_note
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
    return text if iqr is None else f"{text} ± {_spread(iqr / scale)}"


def _spread(v: float) -> str:
    """An IQR beside a value: two significant digits, whole numbers from 100 (never an exponent)."""
    return f"{v:,.0f}" if v >= 100 else f"{v:.2g}"


def fmt_times(r: float) -> str:
    """``1024.0 -> '1,024x'``, ``0.0584 -> '0.058x'``: no exponents in a ratio column."""
    if r >= 100:
        return f"{r:,.0f}x"
    if r == 0:
        return "0x"
    return f"{r:.3g}x" if r >= 0.01 else f"{r:.2e}x"


def fmt_ratio(r: float | None, iqr: float | None = None) -> str:
    """A twin ÷ shared ratio with its IQR: ``'9.77x ± 0.31'``; ``'-'`` when absent."""
    if r is None or (isinstance(r, float) and math.isnan(r)):
        return "-"
    return fmt_times(r) if iqr is None else f"{fmt_times(r)} ± {_spread(iqr)}"


#: What a time ratio beside two medians is, said under every table that shows one.
TIME_RATIO_NOTE = (
    "times: median ± IQR per call; twin ÷ shared: median over turns of (twin time / shared time), "
    "each turn timing both, so it can differ from the ratio of the two medians; "
    "'noisy' where the ratio's IQR is over 25% of it or the medians' ratio is over 25% away"
)

#: Rows of the one-configuration table: (label, column stem, formatter).
PAIR_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("unique parameters", "params", fmt_count),
    ("parameter bytes", "param_bytes", fmt_bytes),
    ("buffer bytes", "buffer_bytes", fmt_bytes),
    ("parameters + buffers", "held_bytes", fmt_bytes),
    ("FLOPs forward", "flops_fwd", fmt_count),
    ("FLOPs backward", "flops_bwd", fmt_count),
    ("bytes moved (fwd)", "bytes_moved", fmt_bytes),
    ("intensity FLOP/B", "intensity", lambda v: "-" if v is None else f"{v:.3g}"),
    ("achieved FLOP/s", "achieved_flops", fmt_count),
    ("training memory", "train_mem", fmt_bytes),
    ("measured peak", "peak", fmt_bytes),
)


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
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def pair_table(row: dict[str, Any]) -> str:
    """Shared vs unshared, one metric per line, with the twin ÷ shared factor."""
    body: list[list[str]] = []
    for label, stem, fmt in PAIR_ROWS:
        a, b = row.get(f"{stem}_shared"), row.get(f"{stem}_unshared")
        if a is None and b is None:
            continue
        body.append([label, fmt(a), fmt(b), _ratio(a, b), ""])
    for kind, label in (("fwd", "time forward"), ("bwd", "time fwd+bwd")):
        if f"time_{kind}_shared_s" not in row:
            continue
        body.append(
            [
                f"{label} (median ± IQR)",
                fmt_seconds(row[f"time_{kind}_shared_s"], row[f"time_{kind}_shared_iqr_s"]),
                fmt_seconds(row[f"time_{kind}_unshared_s"], row[f"time_{kind}_unshared_iqr_s"]),
                fmt_ratio(row[f"time_{kind}_twin_over_shared"], row[f"time_{kind}_twin_over_shared_iqr"]),
                row.get(f"time_{kind}_noise", ""),
            ]
        )
    text = _render(["metric", "shared", "twin", "twin ÷ shared", ""], body)
    text += "\ntwin ÷ shared: the twin's number divided by the shared model's (x the shared model)"
    if any(f"time_{kind}_twin_over_shared" in row for kind in ("fwd", "bwd")):
        text += "\n" + TIME_RATIO_NOTE
    if "peak_method" in row:
        text += (
            f"\nmeasured peak: {row['peak_method']}; "
            "training memory: parameters + buffers + gradients + Adam state"
        )
    for note in (memory_note(row), time_note(row, "fwd")):
        if note:
            text += "\n" + note
    return text


#: Columns of the sweep table: (header, column, formatter); a time ratio column shows its IQR.
SWEEP_COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("params", "params_shared", fmt_count),
    ("params twin", "params_unshared", fmt_count),
    ("FLOPs fwd", "flops_fwd_shared", fmt_count),
    ("FLOPs fwd twin", "flops_fwd_unshared", fmt_count),
    ("time fwd", "time_fwd_shared_s", fmt_seconds),
    ("time fwd twin", "time_fwd_unshared_s", fmt_seconds),
    ("time fwd twin ÷ shared", "time_fwd_twin_over_shared", fmt_times),
    ("time fwd+bwd twin ÷ shared", "time_bwd_twin_over_shared", fmt_times),
    ("train mem", "train_mem_shared", fmt_bytes),
    ("train mem twin", "train_mem_unshared", fmt_bytes),
    ("peak", "peak_shared", fmt_bytes),
    ("peak twin", "peak_unshared", fmt_bytes),
    ("FLOP/B", "intensity_shared", lambda v: f"{v:.3g}"),
    ("FLOP/B twin", "intensity_unshared", lambda v: f"{v:.3g}"),
)


def _sweep_cell(row: dict[str, Any], key: str, fmt: Callable[[Any], str]) -> str:
    if key not in row:
        return "-"
    if key.endswith("_s") and f"{key[:-2]}_iqr_s" in row:  # a median: with its IQR
        return fmt_seconds(row[key], row[f"{key[:-2]}_iqr_s"])
    if key.endswith("_twin_over_shared"):  # a time ratio: with its IQR
        return fmt_ratio(row[key], row.get(f"{key}_iqr"))
    return fmt(row[key])


def sweep_body(knob: str, rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the sweep table: the measured columns, medians and time ratios with
    their IQR, and a last column saying which time ratios are noisy."""
    cols = [c for c in SWEEP_COLUMNS if any(c[1] in r for r in rows)]
    noise = any(r.get("time_fwd_noise") or r.get("time_bwd_noise") for r in rows)
    header = [knob] + [h for h, _, _ in cols] + (["timing"] if noise else [])
    body = []
    for r in rows:
        line = [str(r.get(knob))] + [_sweep_cell(r, key, fmt) for _, key, fmt in cols]
        if noise:
            words = [f"{kind} {r[f'time_{kind}_noise']}" for kind in ("fwd", "bwd") if r.get(f"time_{kind}_noise")]
            line.append("; ".join(words))
        body.append(line)
    return header, body


def sweep_table(knob: str, rows: Sequence[dict[str, Any]]) -> str:
    """One line per knob value; only the columns that were measured."""
    header, body = sweep_body(knob, rows)
    text = _render(header, body)
    if any(f"time_{kind}_twin_over_shared" in r for r in rows for kind in ("fwd", "bwd")):
        text += "\n" + TIME_RATIO_NOTE
    return text
