"""Compact tables for result objects: one plain-text ``__str__`` and one ``_repr_html_``.

A result class inherits :class:`TableRepr` and says what its table holds in
``_as_table()``; printing it gives aligned text, and a notebook shows the same
table as HTML (JupyterLab's theme colours), instead of a raw dataclass dump.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table:
    """A title, a header row, body rows (strings) and notes under the table."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    notes: Sequence[str] = field(default_factory=tuple)


def table_text(t: Table) -> str:
    """Aligned plain text: first column left, the others right."""
    lines = [t.title]
    if t.rows:
        grid = [list(t.header), *[list(r) for r in t.rows]]
        widths = [max(len(r[i]) for r in grid) for i in range(len(t.header))]
        for n, row in enumerate(grid):
            cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
            lines.append("  " + "  ".join(cells).rstrip())
            if n == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
    lines += [f"  {note}" for note in t.notes]
    return "\n".join(lines)


_STYLE = (
    "<style>.psv-repr{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums;margin:2px 0}"
    ".psv-repr th{text-align:right;color:var(--jp-ui-font-color2,#6b7280);font-weight:600;padding:2px 10px;"
    "border-bottom:1px solid var(--jp-border-color2,#e5e7eb)}.psv-repr td{text-align:right;padding:2px 10px}"
    ".psv-repr td:first-child,.psv-repr th:first-child{text-align:left}"
    ".psv-repr-note{font-size:12px;color:var(--jp-ui-font-color2,#6b7280)}</style>"
)


def table_html(t: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in t.rows)
    notes = "".join(f"<div class='psv-repr-note'>{esc(n)}</div>" for n in t.notes)
    grid = f"<table class='psv-repr'><tr>{head}</tr>{body}</table>" if t.rows else ""
    return f"{_STYLE}<div><b>{esc(t.title)}</b>{grid}{notes}</div>"


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders digit runs by value: ``layers.2`` before ``layers.10``."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part)


def natural_sorted(names: Iterable[str]) -> list[str]:
    """``names`` in natural order (``layers.0, layers.1, layers.2, ..., layers.10``), not as text."""
    return sorted(names, key=natural_key)


def names_cell(names: Sequence[str]) -> str:
    """``a.weight +3 names``: the first name of a group and how many more."""
    more = len(names) - 1
    return names[0] + (f" +{more} name{'s' if more > 1 else ''}" if more > 0 else "") if names else ""


def clip(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class TableRepr:
    """Mixin: ``str(obj)`` and the notebook view come from ``obj._as_table()``."""

    def _as_table(self) -> Table:
        raise NotImplementedError

    def __str__(self) -> str:
        return table_text(self._as_table())

    def _repr_html_(self) -> str:
        return table_html(self._as_table())
