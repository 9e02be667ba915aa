"""The Explore tab's view: one setting (form, config, device, dtype) in, everything the tab shows out.

The panel (``app/explore.py``) only assigns an :class:`ExploreView` to its widgets. Per-form
words (notes, side labels, conv's dense reference) are fields of the form's registry entry.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from typing import Any

from paramshare_viz import zoo
from paramshare_viz.analysis.savings import not_saved, verdict
from paramshare_viz.analysis.twin_counts import TwinCounts, counted_pair, torch_dtype
from paramshare_viz.bench.table import fmt_bytes
from paramshare_viz.graph import SharingGraph, sharing_graph
from paramshare_viz.models import budget, registry
from paramshare_viz.plots import theme
from paramshare_viz.plots.cards import Card, cards_html
from paramshare_viz.plots.param_bars import Bar, param_bars_html, times
from paramshare_viz.plots.tables import groups_table_html, modules_table_html, reused_modules
from paramshare_viz.units import plural

#: Bytes of parameters (of the larger model) Explore allocates on each device; larger sizes are
#: counted on the meta device, which takes milliseconds at any size.
EXPLORE_BUDGETS = {"cpu": 64 * 1024**2, "cuda": 2 * 1024**3}


@functools.lru_cache(maxsize=64)
def counting_device(form: str, config: Any, device: str, dtype: str) -> tuple[str, str]:
    """Where Explore builds ``form`` at ``config``: ``(device, "")``, or ``("meta", why)`` when the
    larger model's parameters exceed ``EXPLORE_BUDGETS[device]`` or the zoo refuses to build and
    run it on ``device`` but can count it on meta.

    The setting's one budget check, cached: the panel asks before choosing to wait, then explore_view.

    Raises:
        ValueError: a bad dtype, or a size the zoo refuses even on meta (the message names the field).
    """
    limit, torch_type = EXPLORE_BUDGETS.get(device), torch_dtype(dtype)
    need = max(zoo.estimated_bytes(form, config, shared=s, dtype=torch_type) for s in (True, False))
    why = ""  # on meta itself, nothing to explain
    if limit is not None and need > limit:
        why = (
            f"counted without allocating; too large to time here: {fmt_bytes(need)} twin > "
            f"{fmt_bytes(limit)} budget on {device} (timing it or measuring its memory would need "
            f"{fmt_bytes(need)} of parameters on {device}, plus activations)."
        )
    elif limit is not None:
        try:
            zoo.check_budget(form, config, device=device, dtype=torch_type, forward=True, advise_meta=False)
            return device, ""
        except ValueError as err:
            why = f"counted without allocating, because on {device}: {err}"
    zoo.check_budget(form, config, device="meta", dtype=torch_type)  # refused there too: say so
    return "meta", why


def is_quick(form: str, config: Any, device: str) -> bool:
    """Whether counting ``form`` takes well under a second (then Explore waits for it: no busy flicker).

    From the closed-form footprints; anything larger runs in the panel's worker
    while the page stays responsive.
    """
    sides = [budget.footprint(form, config, shared) for shared in (True, False)]
    if device == "meta":  # nothing runs: only Python objects cost time
        return max(f.modules for f in sides) <= 500
    return max(f.modules + f.ops for f in sides) <= 1_500 and max(f.params + f.activations for f in sides) <= 4_000_000


def reuse_note(counts: TwinCounts) -> str:
    """How the shared model reuses its tensors: inside a call, at run time, or by name."""
    report, form = counts.shared, registry.get(counts.form)
    if form.in_call_note:
        note = form.in_call_note(counts.config)
        if report.frozen_params:  # LoRA: what training updates vs what it only reads
            note += f"; {report.frozen_params:,} frozen, {report.unique_params - report.frozen_params:,} trainable"
        return note
    if report.calls is None and form.meta_note:  # counted on meta: no calls to count
        return form.meta_note(counts.config)
    # Modules run more than once that hold parameters; the one holding the most is what is
    # shared (ALBERT's block with share="all", its FFN with share="ffn"), not a norm inside it.
    reused = reused_modules(report)
    if reused:
        top = max(reused, key=lambda line: (line.total, -line.name.count(".")))
        inside = [line for line in reused if line.name.startswith(top.name + ".")]
        others = len(reused) - 1 - len(inside)
        more = f" (and {others} more shared module{'s' if others > 1 else ''})" if others > 0 else ""
        return f"{top.name} runs {top.calls}× per forward{more}"
    if len(report.groups) == 1 and len(report.groups[0].names) == 2:
        a, b = report.groups[0].names
        return f"{a} is {b}"
    if report.groups:
        return f"{len(report.groups)} tensors under several names"
    return ""


@dataclass(frozen=True)
class SideTables:
    """The groups and modules tables of one side (the one the graph's toggle shows), with their titles."""

    groups_title: str
    groups: str
    modules_title: str
    modules: str


def side_tables(counts: TwinCounts, side: str) -> SideTables:
    """Tables of the shared model (``side="shared"``) or of the unshared twin (``"twin"``), titled
    with the side they describe, so the graph, its toggle and the tables show one model."""
    shared, in_call = side == "shared", registry.get(counts.form).in_call_note
    report = counts.shared if shared else counts.unshared
    label = "shared model" if shared else "unshared twin"  # as the toggle's buttons say
    return SideTables(
        f"Tensors under several names, {label}: {plural(len(report.groups), 'group')}",
        groups_table_html(report),
        f"Modules, {label}: calls and parameters",
        modules_table_html(report, note=in_call(counts.config) if shared and in_call else ""),  # reuse inside a call
    )


def form_label(form: str) -> str:
    return f"{form} — {registry.get(form).summary}"


def explore_bars(counts: TwinCounts) -> list[Bar]:
    form = registry.get(counts.form)
    shared_label, twin_label = form.side_labels
    bars = [
        Bar("shared", shared_label, counts.shared.unique_params, theme.SHARED),
        Bar("unshared", twin_label, counts.unshared.unique_params, theme.UNSHARED),
    ]
    if form.reference:
        bars.append(Bar(form.reference.key, form.reference.label, form.reference.count(counts.config), theme.DENSE))
    return bars


#: One-line definitions of the cards' numbers, shown on hover (a reference's is in its registry entry).
CARD_HINTS = {
    "shared": "unique parameters: distinct elements the shared model holds, each tensor once however many "
    "names or calls reach it",
    "unshared": "unique parameters of the twin, which computes the same function with nothing shared; "
    "N× = twin / shared",
    "bytes": "bytes the model holds in the chosen dtype: unique parameters + buffers (each distinct element "
    "once), shared model (twin below); gradients, optimizer state and activations are not included",
    "not_saved": "what sharing leaves as it is: forward FLOPs counted on this setting (twin ÷ shared; on the meta "
    "device the closed-form ops per forward), and activations estimated in closed form from the config; "
    "Compare measures time and what a forward + backward allocates",
    "kv_cache": "keys and values kept per cached token at inference: one per K/V head, so grouping query "
    "heads shrinks it by num_heads / groups; N× = twin ÷ shared",
}


def memory_card(counts: TwinCounts) -> Card:
    shared, twin = counts.shared, counts.unshared
    note = f"parameters + buffers; twin: {fmt_bytes(twin.held_bytes)}"
    if shared.unique_buffer_bytes or twin.unique_buffer_bytes:
        note += (
            f" (buffers {fmt_bytes(shared.unique_buffer_bytes)} vs {fmt_bytes(twin.unique_buffer_bytes)}; "
            f"parameters {fmt_bytes(shared.unique_bytes)} vs {fmt_bytes(twin.unique_bytes)})"
        )
    return Card("bytes", f"Memory held ({counts.dtype})", fmt_bytes(shared.held_bytes), note, theme.ACCENT,
                CARD_HINTS["bytes"])


def not_saved_cards(counts: TwinCounts) -> list[Card]:
    """What sharing does not save (FLOPs, activations), and GQA's K/V cache, which it does."""
    n = not_saved(counts.form, counts.config, counts.shared, counts.unshared, torch_dtype(counts.dtype))
    what, ratio, _ = n.figures()[0]  # forward FLOPs, or ops per forward on meta
    value = f"{times(ratio)} {'FLOPs' if n.flops is not None else 'ops'}" if ratio is not None else "-"
    held = (counts.unshared.held_bytes / counts.shared.held_bytes) if counts.shared.held_bytes else None
    figures = [("parameters", counts.ratio, False), ("memory held", held, False), *n.figures()[:2]]  # K/V: own card
    note = "twin ÷ shared. " + verdict(figures, lambda r: times(r) if r >= 0.1 else f"{r:.2g}×") + "\n"
    note += "\n".join(n.lines())  # one figure a line (the note keeps line breaks)
    cards = [Card("not_saved", "Compute and activations", value, note, theme.DENSE, CARD_HINTS["not_saved"])]
    if n.kv is not None:
        cards.append(Card("kv_cache", "K/V cache at inference", f"{times(n.kv.twin_over_shared)} the shared model",
                          n.kv_line(counts.dtype), theme.UNSHARED, CARD_HINTS["kv_cache"]))
    return cards


def explore_cards(counts: TwinCounts, bars: list[Bar], note: str) -> list[Card]:
    """The number cards: ``bars`` (:func:`explore_bars`) as counts, the first with ``note``
    (:func:`reuse_note`), the rest as ratios to it, then memory held and what sharing does not save."""
    reference = registry.get(counts.form).reference
    hints = CARD_HINTS | ({reference.key: reference.hint} if reference else {})
    shared = bars[0].count
    cards = [Card(bars[0].key, bars[0].label, f"{shared:,}", note, bars[0].colour, hints["shared"])]
    cards += [
        Card(b.key, b.label, f"{b.count:,}", f"{times(b.count / shared)} the shared model", b.colour, hints[b.key])
        for b in bars[1:]
    ]
    cards.append(memory_card(counts))
    return cards + not_saved_cards(counts)


@dataclass(frozen=True)
class ExploreView:
    """Everything the Explore tab shows for one setting; the panel assigns it and computes nothing.

    Attributes:
        counts: both sides' reports; ``counts.device`` is where they were counted.
        graphs: ``(shared, twin)`` sharing graphs of the same two models the reports describe.
        graph_note: how the shared model reuses its tensors (the graph's title and the shared card say it).
        status: the status line.
        cards, bars: HTML of the number cards and of the parameter bars (with the counting-device note).
        tables: the groups and modules tables of each side, ``{"shared": …, "twin": …}``.
    """

    counts: TwinCounts
    graphs: tuple[SharingGraph, SharingGraph]
    graph_note: str
    status: str
    cards: str
    bars: str
    tables: dict[str, SideTables]


@functools.lru_cache(maxsize=32)
def explore_view(form: str, config: Any, device: str, dtype: str) -> ExploreView:
    """The Explore tab at one setting: both models built once (on meta when :func:`counting_device`
    says so), analysed, and drawn from that same build; cached on the frozen config.

    Raises:
        ValueError: a bad device or dtype, or a size refused even on meta (the message names the field).
    """
    where, size_note = counting_device(form, config, device, dtype)
    counts, shared, twin = counted_pair(form, config, where, dtype)
    graphs = (sharing_graph(shared, report=counts.shared), sharing_graph(twin, report=counts.unshared))
    status = (
        f"{form} on {where} in {dtype}: shared {counts.shared.unique_params:,} parameters, "
        f"twin {counts.unshared.unique_params:,} ({times(counts.ratio)} the shared model); "
        + (size_note or f"both built in {counts.build_seconds * 1000:,.0f} ms.")
    )
    note = (f'<div class="psv-size-note" style="font-size:12px;margin:6px 0 0">{html.escape(size_note)}</div>'
            if size_note else "")
    bars, reuse = explore_bars(counts), reuse_note(counts)
    buffers = counts.shared.unique_buffer_bytes or counts.unshared.unique_buffer_bytes
    title = "Unique parameters" + (" (buffers are not parameters: the memory card counts them)" if buffers else "")
    return ExploreView(
        counts, graphs, reuse, status, cards_html(explore_cards(counts, bars, reuse)),
        note + param_bars_html(bars, title=title),
        {side: side_tables(counts, side) for side in ("shared", "twin")},
    )
