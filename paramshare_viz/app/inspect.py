"""Inspect tab: your model (a model type, a config.json or a state dict) and the tie atlas.

A visitor types a spec or uploads a file; the model is loaded through
:mod:`paramshare_viz.analysis.uploads` (no code is imported or unpickled, no
server file is read), built on ``meta`` when it comes from a config, then
counted with ``analyze`` and replayed through ``check_ties``. Loading runs in
a worker thread through the tab's :class:`JobControls` (importing transformers
alone takes seconds), so the page stays usable. The tie atlas below builds every
transformers model type, but only when the visitor asks, with its own controls.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
from torch import nn

from paramshare_viz.analysis.report import SharingReport, analyze
from paramshare_viz.analysis.tie_hints import TieHints, tie_hints
from paramshare_viz.analysis.ties import TieHealth, check_ties
from paramshare_viz.analysis.uploads import MAX_UPLOAD_BYTES, load_upload, load_visitor_spec
from paramshare_viz.app.graph_view import GraphView
from paramshare_viz.app.jobs import JobControls
from paramshare_viz.app.show import held_note
from paramshare_viz.app.state import AppState
from paramshare_viz.bench.table import fmt_bytes
from paramshare_viz.graph import SharingGraph, sharing_graph
from paramshare_viz.plots import theme
from paramshare_viz.plots.cards import Card, cards_html
from paramshare_viz.plots.tables import groups_table_html, modules_table_html
from paramshare_viz.plots.tie_tables import (
    atlas_table_html,
    audit_table_html,
    safetensors_html,
    tie_health_html,
    tie_hints_html,
)
from paramshare_viz.units import plural

EXAMPLES = ("hf:gpt2", "hf:albert", "hf:t5", "hf:bert", "zoo:albert")
#: What inspecting a model does, in order (the progress line names the step in hand).
STEPS = ("loading", "counting the parameters", "checking the ties", "laying out the sharing graph")


@dataclass
class Inspection:
    """What the panel shows for one model: where it came from, its report and tie health."""

    source: str  # "hf:gpt2", "file 'weights.pt'"
    model: nn.Module
    report: SharingReport
    health: TieHealth
    hints: TieHints
    graph: SharingGraph
    seconds: float


def inspect_model(
    load: Callable[[], tuple[nn.Module, str]],
    stop: threading.Event | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Inspection | None:
    """Load with ``load()``, then count, check ties and lay out the sharing graph (what the worker runs).

    ``progress(done, total, step)`` comes before each of :data:`STEPS`; ``None`` if ``stop`` is set between them.
    """
    start = time.perf_counter()

    def step(done: int) -> bool:
        if progress is not None:
            progress(done, len(STEPS), STEPS[done])
        return stop is None or not stop.is_set()

    step(0)
    model, source = load()
    if not step(1):
        return None
    report = analyze(model)
    if not step(2):
        return None
    health, hints = check_ties(model, report=report), tie_hints(model)
    if not step(3):
        return None
    graph = sharing_graph(model, report=report)
    return Inspection(source, model, report, health, hints, graph, time.perf_counter() - start)


def uploaded_files(value: Any) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` per file in a ``FileUpload.value`` (ipywidgets 8: a tuple of dicts)."""
    return [(item["name"], bytes(item["content"])) for item in value or ()]


def where_built(model: nn.Module) -> str:
    first = next(iter(model.parameters()), None)
    if first is not None and first.is_meta:
        return "built on the meta device: counted, nothing allocated or downloaded"
    return "loaded on the CPU"


def inspect_cards(ins: Inspection) -> list[Card]:
    r, h = ins.report, ins.health
    saving = r.naive_params - r.unique_params
    share = f"{saving:,} fewer: tied tensors held once" if saving else "nothing is held twice"
    if h.ties_at_risk:
        risk_note = "break under a common operation (see below)"
    elif not r.groups:  # nothing to break: "every tie survives" would say there were ties
        risk_note = "no tensor is held under two names here"
    else:
        risk_note = "every tie survives"
    if ins.hints.lines:
        risk_note += f"; {plural(len(ins.hints.lines), 'sign')} of a tie lost or copied (see below)"
    return [
        Card("naive", "Parameters, naive", f"{r.naive_params:,}", "every name counted", theme.UNSHARED),
        Card("unique", "Parameters, unique", f"{r.unique_params:,}", share, theme.SHARED),
        Card("bytes", "Memory held", fmt_bytes(r.held_bytes), held_note(r), theme.ACCENT),
        Card("risk", "Ties at risk", f"{len(h.ties_at_risk)}", risk_note,
             theme.WARNING if h.ties_at_risk or ins.hints.lines else theme.ACCENT),
    ]


def _section(title: str) -> widgets.HTML:
    return widgets.HTML(f"<h4 style='margin:12px 0 2px'>{html.escape(title)}</h4>")


class InspectPanel(widgets.VBox):
    """A spec box and two uploads in; counts, groups, tie health and the sharing graph out; the tie atlas."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.jobs = JobControls(state, "Inspect", css="psv-inspect")
        self.jobs.layout.display = "none"  # Stop and the progress show while a model loads
        self._started = ""  # the spec of the newest job
        self.spec = widgets.Text(
            placeholder="hf:gpt2, hf:albert, hf:t5, any transformers model type, or zoo:albert",
            description="Model", continuous_update=False, layout=widgets.Layout(width="560px"),
        )
        self.spec.add_class("psv-inspect-spec")
        self.go = self.jobs.button("go", "Inspect", "search", self.inspect_spec, primary=True)
        limit = f"{MAX_UPLOAD_BYTES // 1024**2} MiB"
        self.config_upload = widgets.FileUpload(accept=".json", description="config.json", multiple=False)
        self.weights_upload = widgets.FileUpload(
            accept=".pt,.pth,.bin,.safetensors", description="State dict", multiple=False
        )
        self.config_upload.add_class("psv-upload-config")
        self.weights_upload.add_class("psv-upload-weights")
        hint = widgets.HTML(
            "<div class='psv-note' style='color:var(--jp-ui-font-color2,#6b7280);font-size:12px'>"
            f"Try {', '.join(f'<code>{e}</code>' for e in EXAMPLES)}. Uploads up to {limit} (for larger "
            "files use <code>paramshare-viz inspect FILE</code>): a Hugging Face "
            "<code>config.json</code> (built on meta, nothing downloaded) or a state dict (<code>.pt</code> read "
            "with <code>weights_only=True</code>, <code>.safetensors</code>). No code from a spec or a file is "
            "ever run; <code>module:factory</code> specs work in the CLI and notebooks only.</div>"
        )
        self.title = widgets.HTML()
        self.title.add_class("psv-inspect-title")
        self.cards = widgets.HTML()
        self.cards.add_class("psv-cards-box")
        self.groups = widgets.HTML()
        self.groups_title = _section("Tensors under several names")
        self.ties = widgets.HTML()
        self.safetensors = widgets.HTML()
        # The sharing graph's one FigureWidget, made now, in the kernel's main thread, and redrawn in
        # place: one made later in the worker thread reached the browser without its data.
        self.graph_view = GraphView(graph=sharing_graph(nn.Module()))
        self.modules = widgets.HTML()
        modules_box = widgets.Accordion(children=[self.modules], titles=["Modules: parameters"])
        self.result = widgets.VBox([
            self.title, self.cards,
            self.groups_title, self.groups,
            _section("Tie health: does each tie survive?"), self.ties,
            _section("safetensors dry run"), self.safetensors,
            _section("Sharing graph"), self.graph_view, modules_box,
        ])
        self.result.layout.display = "none"  # until the first model is inspected
        self.result.add_class("psv-inspect-result")
        self.atlas = AtlasView(state)
        self.spec.observe(lambda _c: self.inspect_spec(), names="value")
        self.config_upload.observe(lambda c: self._on_upload(self.config_upload, c), names="value")
        self.weights_upload.observe(lambda c: self._on_upload(self.weights_upload, c), names="value")
        atlas_box = widgets.Accordion(children=[self.atlas], titles=["Tie atlas: every model type of transformers"])
        super().__init__([
            widgets.HBox([self.spec, self.go, self.jobs], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.config_upload, self.weights_upload]),
            hint, self.result, atlas_box,
        ])

    # ------------------------------------------------------------------ input

    def inspect_spec(self) -> None:
        text = self.spec.value.strip()
        if not text or (text == self._started and self.jobs.kind is not None):  # Enter, then a click on Inspect
            return
        self._started = text
        self._run(f"building {text}…", text, lambda: load_visitor_spec(text))

    def inspect_upload(self, name: str, content: bytes) -> None:
        """Inspect the bytes of an uploaded file (what the upload widgets call; tests call it too)."""
        self._started = ""
        self._run(f"reading {name} ({fmt_bytes(len(content))})…", f"file {name!r}",
                  lambda: (load_upload(name, content), f"file {name!r}"))

    def _on_upload(self, upload: widgets.FileUpload, change: dict) -> None:
        files = uploaded_files(change["new"])
        if not files:
            return  # the reset below
        name, content = files[0]
        upload.value = ()  # forget the bytes (and let the same file be chosen again)
        self.inspect_upload(name, content)

    def _run(self, busy: str, what: str, load: Callable[[], tuple[nn.Module, str]]) -> None:
        self.jobs.show_progress(0, len(STEPS), f"{what}: {STEPS[0]}…")
        self.jobs.layout.display = ""
        self.jobs.start("inspect", busy, lambda stop, report: inspect_model(load, stop, report),
                        lambda ins: self._show(what, ins), lambda err: self._fail(what, err),
                        progress=lambda done, total, step: self.jobs.show_progress(done, total, f"{what}: {step}…"),
                        stopping=f"stopping {what} after the step in hand…")

    # ------------------------------------------------------------------ output

    def _kept(self) -> str:  # what the page still shows when a model does not load (or is stopped)
        return "The results below are for the last model that loaded." if self.result.layout.display != "none" else ""

    def _fail(self, what: str, err: BaseException) -> None:
        self.jobs.layout.display = "none"
        self.result.add_class("psv-stale")  # the last valid result stays, dimmed
        self.jobs.fail(what, err, self._kept())

    def _show(self, what: str, ins: Inspection | None) -> None:
        self.jobs.layout.display = "none"
        if ins is None:
            self.state.info(f"Inspect: stopped before {what} was counted. {self._kept()}".rstrip())
            return
        r, h = ins.report, ins.health
        self.result.remove_class("psv-stale")
        self.title.value = (
            f"<h3 style='margin:10px 0 0'>{html.escape(type(ins.model).__name__)}</h3>"
            f"<div class='psv-note' style='color:var(--jp-ui-font-color2,#6b7280)'>{html.escape(ins.source)}, "
            f"{where_built(ins.model)}.</div>"
        )
        self.cards.value = cards_html(inspect_cards(ins))
        self.groups.value = groups_table_html(r)
        self.groups_title.value = _section(f"Tensors under several names: {len(r.groups)} group(s)").value
        self.ties.value = tie_health_html(h) + tie_hints_html(ins.hints)
        self.safetensors.value = safetensors_html(h)
        self.modules.value = modules_table_html(r)
        self.graph_view.show_graphs((ins.graph, ins.graph))  # in the view made when the tab opened
        self.result.layout.display = None
        self.state.info(
            f"{ins.source}: {type(ins.model).__name__}, {r.naive_params:,} parameters naive, "
            f"{r.unique_params:,} unique; {len(r.groups)} tied group(s), {len(h.ties_at_risk)} at risk "
            f"({ins.seconds:,.1f} s)."
        )


class AtlasView(widgets.VBox):
    """The tie atlas: built row by row in a worker when asked, searchable and sortable meanwhile."""

    def __init__(self, state: AppState) -> None:
        from paramshare_viz.analysis.atlas import SORT_KEYS, transformers_version

        self.state = state
        self.jobs = JobControls(state, "Tie atlas", css="psv-atlas")
        self.rows: list = []
        version = transformers_version()
        intro = widgets.HTML(
            "<div style='font-size:13px;max-width:900px'>Every model type your transformers "
            f"{html.escape(version)} knows, built from its default config on the meta device (nothing "
            "downloaded or allocated): parameters counted naive and unique, which names are tied, what "
            "safetensors <code>save_model</code> would drop, and whether the config's "
            "<code>tie_word_embeddings</code> agrees with what the model holds. Building all of them takes a few minutes the "
            "first time; rows are cached, so the next visit is instant.</div>"
        )
        self.build = self.jobs.button("build", "Build the tie atlas", "play", self.start, primary=True)
        self.search = widgets.Text(placeholder="search: type, class or tensor name", description="Search",
                                   continuous_update=True, layout=widgets.Layout(width="360px"))
        self.sort = widgets.Dropdown(options=[(v, k) for k, v in SORT_KEYS.items()], value="type",
                                     description="Sort by", layout=widgets.Layout(width="340px"))
        self.failures = widgets.Checkbox(value=True, description="show types that did not build", indent=False)
        self.disagreements = widgets.Checkbox(value=False, description="disagreements only", indent=False)
        self.disagreements.add_class("psv-atlas-disagreements")
        self.search.add_class("psv-atlas-search")
        self.sort.add_class("psv-atlas-sort")
        self.table = widgets.HTML()
        self.table.add_class("psv-atlas-table")
        for box in (self.search, self.sort, self.failures, self.disagreements):
            box.observe(lambda _c: self.render(), names="value")
        super().__init__([
            intro,
            widgets.HBox([self.build, self.jobs]),
            widgets.HBox([self.search, self.sort, self.failures, self.disagreements]),
            self.table,
        ])

    def start(self, types: list[str] | None = None) -> None:
        """Build (or read from the cache) every model type's row in the worker; ``types`` for tests."""
        from paramshare_viz.analysis.atlas import iter_atlas

        self.rows = []

        def work(stop: threading.Event, report: Callable[..., None]) -> tuple[int, int, int, list]:
            rows: list = []
            done = total = cached = 0
            for step in iter_atlas(types, stop=stop):
                rows.append(step.row)
                done, total, cached = step.done, step.total, cached + step.from_cache
                report(done, total, cached, list(rows), step.row.model_type)
            return done, total, cached, rows

        # The table is re-sent at most ~1.5 times a second: it is the size of the rows so far.
        self.jobs.start("build", "building every model type; the rest of the page stays usable.", work,
                        self._finished, self._failed, progress=self._progress, every=0.7,
                        stopping="stopping after the model type in hand; the rows so far are kept…")

    def _progress(self, done: int, total: int, cached: int, rows: list, current: str = "") -> None:
        self.rows = rows
        failed = sum(1 for r in rows if r.error)
        where = f"; last: {html.escape(current)}" if current else ""
        self.jobs.show_progress(done, total, (
            f"<span style='font-size:13px'>{done:,} of {total:,} model types ({cached:,} from the cache, "
            f"{failed:,} did not build){where}</span>"
        ))
        self.render()

    def _finished(self, outcome: tuple[int, int, int, list]) -> None:
        done, total, cached, rows = outcome
        self._progress(done, total, cached, rows)
        self.build.description = "Build the tie atlas" if done == total else "Resume"
        if done < total:
            self.state.info(f"Tie atlas stopped at {done:,} of {total:,} model types; the rows so far are kept "
                            "and cached, Resume goes on from there.")
        else:
            failed = sum(1 for r in rows if r.error)
            self.state.info(f"Tie atlas: {total:,} model types, {total - failed:,} built, {failed:,} could not be "
                            "built from a default config (the table says why).")

    def _failed(self, err: BaseException) -> None:
        self.jobs.fail("building stopped", err, "The rows built before it are kept." if self.rows else "")

    def render(self) -> None:
        from paramshare_viz.analysis.atlas import select_rows

        if not self.rows:
            self.table.value = ""
            return
        picked = select_rows(self.rows, self.search.value, self.sort.value, errors=self.failures.value,
                             disagreements=self.disagreements.value)
        self.table.value = (audit_table_html if self.disagreements.value else atlas_table_html)(picked)
