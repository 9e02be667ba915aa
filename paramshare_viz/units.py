"""Units for numbers shown to people: one byte format everywhere (KiB, MiB, GiB)."""

from __future__ import annotations


def fmt_bytes(n: float | None) -> str:
    """``2048 -> '2.0 KiB'`` (binary units, as the cards and tables use)."""
    if n is None:
        return "-"
    for div, unit in ((2**60, "EiB"), (2**50, "PiB"), (2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(n) >= div:
            return f"{n / div:,.1f} {unit}"
    return f"{int(n)} B"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 name``, ``2 names``, ``1,024 threads``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
