"""HTML tables of a sharing report: groups of shared tensors, and the per-module view."""

from __future__ import annotations

import html

from paramshare_viz.analysis.report import SharingReport

STYLE = """
<style>
.psv-table{border-collapse:collapse;font-size:13px;margin:4px 0 10px;font-variant-numeric:tabular-nums}
.psv-table th{text-align:left;color:#6b7280;font-weight:600;border-bottom:1px solid var(--jp-border-color2,#e5e7eb);padding:4px 10px}
.psv-table td{border-bottom:1px solid var(--jp-border-color3,#f3f4f6);padding:4px 10px;vertical-align:top}
.psv-table td.num{text-align:right;white-space:nowrap}
.psv-table td.kind{white-space:nowrap}
.psv-table code{font-size:12px}
.psv-empty{color:#6b7280;font-style:italic;margin:4px 0 10px}
</style>
"""


def _names(names, limit: int = 4) -> str:
    shown = ", ".join(f"<code>{html.escape(n or '(root)')}</code>" for n in names[:limit])
    return shown + (f" … and {len(names) - limit} more" if len(names) > limit else "")


def _table(css_class: str, header: list[str], rows: list[list[str]], cell_classes: dict[int, str]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td class='{cell_classes.get(i, '')}'>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table class='psv-table {css_class}'><tr>{head}</tr>{body}</table>"


def groups_table_html(report: SharingReport) -> str:
    """One row per group of names that reach the same storage."""
    if not report.groups:
        note = "No tensor is reachable under two names"
        if report.calls and any(n > 1 for n in report.calls.values()):
            note += " — the sharing here is reuse at run time (see the calls column below)"
        return STYLE + f"<div class='psv-empty psv-groups'>{note}.</div>"
    rows = [[_names(g.names), str(len(g.names)), f"{g.numel:,}", g.kind] for g in report.groups]
    return STYLE + _table("psv-groups", ["Names", "n", "Elements", "Kind"], rows, {1: "num", 2: "num", 3: "kind"})


def modules_table_html(report: SharingReport, limit: int = 40) -> str:
    """Modules with parameters or runtime reuse: calls, unique/naive params, what they share."""
    rows = []
    for row in report.modules:
        if not (row.params or (row.calls or 0) > 1):
            continue
        rows.append([
            f"<code>{html.escape(row.name or '(root)')}</code>",
            html.escape(row.type),
            "" if row.calls is None else f"{row.calls:,}",
            f"{row.unique_params:,}",
            f"{row.naive_params:,}",
            _names(list(row.shared_with), 2) if row.shared_with else "",
        ])
    more = f"<div class='psv-empty'>… and {len(rows) - limit} more modules</div>" if len(rows) > limit else ""
    header = ["Module", "Type", "Calls", "Unique params", "Naive params", "Shares with"]
    return STYLE + _table("psv-modules", header, rows[:limit], {2: "num", 3: "num", 4: "num"}) + more
