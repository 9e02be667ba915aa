"""Units of the plain-text bench tables (also used by the dashboard cards)."""

from __future__ import annotations

import pytest

from paramshare_viz.bench.table import fmt_bytes, fmt_count, fmt_seconds, fmt_times


@pytest.mark.parametrize(
    ("n", "text"),
    [(None, "-"), (448, "448 B"), (1792, "1.8 KiB"), (3 * 1024**2, "3.0 MiB"), (5 * 1024**3, "5.0 GiB")],
)
def test_fmt_bytes(n, text):
    assert fmt_bytes(n) == text


@pytest.mark.parametrize(("n", "text"), [(448, "448"), (458_752, "459k"), (1_770_000, "1.77M"), (None, "-")])
def test_fmt_count(n, text):
    assert fmt_count(n) == text


@pytest.mark.parametrize(("s", "iqr", "text"), [(0.00123, 0.00005, "1.23 ms ± 0.05"), (2.5, None, "2.5 s")])
def test_fmt_seconds(s, iqr, text):
    assert fmt_seconds(s, iqr) == text


@pytest.mark.parametrize(("r", "text"), [(1024.0, "1,024x"), (27.0, "27x"), (0.0584, "0.0584x"), (0.001, "1.00e-03x")])
def test_fmt_times_has_no_exponent_for_ordinary_ratios(r, text):
    assert fmt_times(r) == text
