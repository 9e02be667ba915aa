"""``psv.show(model)``: the Explore view for any model, inline in a notebook (JupyterLab or Voila)."""

from __future__ import annotations

import ipywidgets as widgets
from torch import nn

from paramshare_viz.analysis.report import SharingReport, analyze
from paramshare_viz.analysis.runtime import ModelInput
from paramshare_viz.app.graph_view import GraphView
from paramshare_viz.bench.table import fmt_bytes
from paramshare_viz.graph import sharing_graph
from paramshare_viz.plots import theme
from paramshare_viz.plots.cards import Card, cards_html
from paramshare_viz.plots.tables import groups_table_html, modules_table_html, reused_modules
from paramshare_viz.units import plural


def held_note(report: SharingReport) -> str:
    """What the memory card counts: parameters + buffers, each storage once, and the naive parameter bytes."""
    note = f"parameters + buffers; parameters counted per name: {fmt_bytes(report.naive_bytes)}"
    if report.unique_buffer_bytes:
        note += f" (buffers {fmt_bytes(report.unique_buffer_bytes)}, parameters {fmt_bytes(report.unique_bytes)})"
    return note


def model_cards(report: SharingReport) -> list[Card]:
    """Held vs naively counted parameters, memory, and what is shared (and, with an input, reused)."""
    reused = len(reused_modules(report))
    uses = "modules with parameters run more than once: " + (f"{reused:,}" if report.calls is not None else "(give an input)")
    if report.uses is not None:
        uses += (f"; tensors used more than once: {len(report.reused):,}"
                 f" ({len(report.borrowed):,} read by a module that does not hold it)")
    return [
        Card("unique", "Parameters held", f"{report.unique_params:,}", "each storage counted once" + (
            f"; {report.frozen_params:,} frozen, {report.unique_params - report.frozen_params:,} trainable"
            if report.frozen_params else ""), theme.SHARED),
        Card(
            "naive", "Counted per name", f"{report.naive_params:,}",
            f"{report.compression:.2f}× what is held" if report.saving_params else "no name shares a tensor",
            theme.DENSE,
        ),
        Card("bytes", "Memory held", fmt_bytes(report.held_bytes), held_note(report), theme.ACCENT),
        Card(
            "groups", "Shared tensors", f"{len(report.groups):,}", uses,
            theme.GROUP_COLOURS[0],
        ),
    ]


def explorer(model: nn.Module, example_input: ModelInput | None = None) -> widgets.VBox:
    """The widget :func:`show` displays: cards, the sharing graph, groups and the per-module table."""
    report = analyze(model, example_input)
    graph = sharing_graph(model, example_input, report=report)
    cards = widgets.HTML(cards_html(model_cards(report)))
    view = GraphView(graph=graph)
    groups = widgets.Accordion(
        children=[widgets.HTML(groups_table_html(report))],
        titles=[f"Tensors under several names: {plural(len(report.groups), 'group')}"], selected_index=0,
    )
    modules = widgets.Accordion(
        children=[widgets.HTML(modules_table_html(report))], titles=["Modules: calls and parameters"]
    )
    box = widgets.VBox([cards, view, groups, modules])
    box.add_class("psv-show")
    box.report, box.graph = report, graph  # for notebooks and tests
    return box


def show(model: nn.Module, example_input: ModelInput | None = None) -> None:
    """Display cards, the sharing graph, groups and the module table of ``model`` in the notebook.

    Args:
        model: any ``nn.Module`` (``meta`` works: nothing is allocated without an input).
        example_input: run once to count calls (see :func:`paramshare_viz.analyze`).
    """
    from IPython.display import display

    display(explorer(model, example_input))
