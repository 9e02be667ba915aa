"""HTML tables of a sharing report: groups of shared tensors, and the per-module view."""

from __future__ import annotations

import html
from dataclasses import dataclass

from paramshare_viz.analysis.report import SharingReport
from paramshare_viz.display import natural_sorted

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


#: One-line definitions, shown on hover over each column head.
DEFINITIONS = {
    "calls": "forward calls of this module object in one forward of the example input, all its names together",
    "direct": "unique: parameter elements this module holds itself (not its children); "
    "a tensor shared with a row above counts there",
    "total": "unique parameter elements of this module and everything beneath it",
    "naive": "naive: summed over every parameter name beneath it, aliases included",
    "shares": "other names that reach the same storage",
    "names": "qualified names (parameters and buffers) that reach the same storage",
    "n": "how many names",
    "elements": "distinct elements the group holds (counted once)",
    "kind": "same-tensor: one tensor object under several names; aliased-storage: views of one storage; "
    "functional: read in code by a module that does not hold it (found by running the example input)",
}


def _head(label: str, key: str) -> str:
    return f"<span title='{html.escape(DEFINITIONS[key], quote=True)}'>{label}</span>"


def groups_table_html(report: SharingReport) -> str:
    """One row per group of names that reach the same storage."""
    if not report.groups:
        note = "No tensor is reachable under two names"
        if reused_modules(report):  # modules with parameters that run more than once (not a dropout)
            note += " — the sharing here is reuse at run time (see the calls column below)"
        return STYLE + f"<div class='psv-empty psv-groups'>{note}.</div>"
    rows = [[_names(natural_sorted(g.names)), str(len(g.names)), f"{g.numel:,}", _kind(g)] for g in report.groups]
    header = [_head("Names", "names"), _head("n", "n"), _head("Elements", "elements"), _head("Kind", "kind")]
    return STYLE + _table("psv-groups", header, rows, {1: "num", 2: "num", 3: "kind"})


def _kind(group) -> str:
    """The kind cell; a functional group also names who holds the tensor and who borrows it."""
    if group.kind != "functional":
        return group.kind
    return f"functional: held by {_names(group.holders, 2)}, read by {_names(group.borrowers, 2)}"


@dataclass(frozen=True)
class ModuleLine:
    """One row of the modules table.

    Attributes:
        name: qualified module name (``""`` for the root).
        type: class name.
        calls: forward calls of the module object, or ``None`` (no input, or an alias row).
        direct: unique parameter elements first held by this module itself.
        total: unique parameter elements of its subtree (``direct`` of it and every row beneath).
        naive: parameter elements summed over every name of its subtree, aliases included.
        same_as: for another name of a module shown earlier, that earlier name; its calls,
            children and parameters are on that row.
        shares_with: names outside its own that reach the same storage as its direct tensors.
        alias_only: every tensor it holds directly is another name of a tensor first held on a
            row above (GPT-2's ``lm_head`` beside ``transformer.wte``): its direct count is 0 and
            its naive count is that tensor's again.
    """

    name: str
    type: str
    calls: int | None
    direct: int
    total: int
    naive: int
    same_as: str = ""
    shares_with: tuple[str, ...] = ()
    alias_only: bool = False


def module_lines(report: SharingReport) -> list[ModuleLine]:
    """The modules worth a row: those holding a parameter name (their own or beneath, aliases
    included), and one line per other name of a module shown earlier (its inside is on the
    first name's rows).

    Every module object appears with its numbers once, so the ``direct`` column sums to
    ``report.unique_params``, each row's ``naive`` is its own names plus the ``naive`` of the
    rows just beneath it (the root's is ``report.naive_params``), and a module's calls are
    stated once, however many names it has.
    """
    rows = report.modules
    total: dict[str, int] = {}
    naive: dict[str, int] = {}
    for row in rows:  # add each row's direct counts to itself and every ancestor
        parts = row.name.split(".") if row.name else []
        for depth in range(len(parts) + 1):
            key = ".".join(parts[:depth])
            total[key] = total.get(key, 0) + row.unique_params
            naive[key] = naive.get(key, 0) + row.naive_params
    first_name: dict[tuple[str, ...], str] = {}
    aliased_prefixes: list[str] = []
    lines = []
    for row in rows:
        if any(row.name.startswith(p + ".") for p in aliased_prefixes):
            continue  # inside another name of a module already shown
        names = tuple(sorted((row.name, *row.aliases)))  # one key per module object
        if row.aliases and names in first_name:
            aliased_prefixes.append(row.name)
            lines.append(ModuleLine(row.name, row.type, None, 0, 0, naive[row.name], same_as=first_name[names]))
            continue
        first_name.setdefault(names, row.name)
        if not naive[row.name]:
            continue  # holds no parameter name, itself or beneath (a dropout run 8 times says nothing of sharing)
        lines.append(
            ModuleLine(row.name, row.type, row.calls, row.unique_params, total[row.name], naive[row.name],
                       shares_with=row.shared_with, alias_only=bool(row.naive_params and not row.unique_params))
        )
    return lines


def reused_modules(report: SharingReport) -> list[ModuleLine]:
    """Module objects with parameters (their own or beneath) that run more than once in one
    forward, each object once however many names it has; empty without an example input.

    A 4-layer ALBERT counts its one block and each of its sublayers that hold parameters,
    not the block's 4 names; the twin counts none (its dropouts run often but hold nothing).
    """
    return [line for line in module_lines(report) if (line.calls or 0) > 1 and line.total]


def _shares_cell(line: ModuleLine) -> str:
    if line.alias_only:  # its parameters are all counted on the row that holds the tensor first
        return "holds none of its own: the same tensor as " + _names(natural_sorted(line.shares_with), 2)
    return _names(natural_sorted(line.shares_with), 2) if line.shares_with else ""


def modules_table_html(report: SharingReport, limit: int = 60, note: str = "") -> str:
    """Modules with parameters, their own or beneath: calls, direct and total parameters.

    Args:
        report: a :class:`SharingReport` (with calls when it had an example input).
        limit: rows shown; the rest are counted in a line below.
        note: reuse inside one call that the calls column cannot show (conv positions, SSM steps).
    """
    lines = module_lines(report)
    rows = []
    for line in lines:
        name = f"<code>{html.escape(line.name or '(root)')}</code>"
        if line.same_as:
            same = f"same module as <code>{html.escape(line.same_as)}</code>"
            rows.append([name, html.escape(line.type), same, "", "", f"{line.naive:,}", ""])
            continue
        rows.append([
            name,
            html.escape(line.type),
            "" if line.calls is None else f"{line.calls:,}",
            f"{line.direct:,}",
            f"{line.total:,}",
            f"{line.naive:,}",
            _shares_cell(line),
        ])
    rows.append(["<b>all modules</b>", "", "", f"<b>{report.unique_params:,}</b>", "", f"<b>{report.naive_params:,}</b>", ""])
    more = f"<div class='psv-empty'>… and {len(rows) - 1 - limit} more modules</div>" if len(rows) - 1 > limit else ""
    shown = rows[:limit] + rows[-1:] if len(rows) - 1 > limit else rows
    header = [
        "Module", "Type", _head("Calls", "calls"), _head("Params (direct)", "direct"),
        _head("Params (total)", "total"), _head("Naive params", "naive"), _head("Shares with", "shares"),
    ]
    foot = (
        "Direct counts add up to the total: each tensor counts once, on the first row that holds it. "
        "Naive counts every name, aliases included (hover a column head for its definition)."
    )
    if note:
        foot = f"Reuse inside one call is not a call: {html.escape(note)}. " + foot
    return (
        STYLE + _table("psv-modules", header, shown, {2: "num", 3: "num", 4: "num", 5: "num"}) + more
        + f"<div class='psv-empty psv-modules-note'>{foot}</div>"
    )
