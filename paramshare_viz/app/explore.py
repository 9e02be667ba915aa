"""Explore tab: pick a sharing form, set its config, device and dtype; see both twins' counts."""

from __future__ import annotations

import dataclasses
import html
import threading
from dataclasses import dataclass

import ipywidgets as widgets

from paramshare_viz import zoo
from paramshare_viz.analysis.savings import not_saved, verdict
from paramshare_viz.analysis.twin_counts import DTYPES, TwinCounts, twin_counts
from paramshare_viz.app.config_editor import ConfigEditor
from paramshare_viz.app.graph_view import GraphView
from paramshare_viz.app.state import AppState, in_words
from paramshare_viz.app.worker import Worker
from paramshare_viz.bench.table import fmt_bytes
from paramshare_viz.graph import SharingGraph, sharing_graph
from paramshare_viz.models import budget, presets, registry
from paramshare_viz.models.conv import conv_param_counts, output_size
from paramshare_viz.plots import theme
from paramshare_viz.plots.cards import Card, cards_html
from paramshare_viz.plots.param_bars import Bar, param_bars_html
from paramshare_viz.plots.tables import groups_table_html, modules_table_html, reused_modules
from paramshare_viz.units import plural

#: Names of the two sides, where "shared" / "unshared twin" says less.
SIDE_LABELS = {"conv": ("Conv2d (shared)", "Locally connected")}


#: Bytes of parameters (of the larger model) Explore allocates on each device; larger sizes are
#: counted on the meta device, which takes milliseconds at any size.
EXPLORE_BUDGETS = {"cpu": 64 * 1024**2, "cuda": 2 * 1024**3}

#: The preset menu's entries that are not published configs.
DEFAULT, CUSTOM = "default (small)", "custom"


def _twin_graphs(counts: TwinCounts) -> tuple[SharingGraph, SharingGraph]:
    """Both sides' graphs from ``counts``' reports and meta-device twins (a bridge until Explore's
    worker builds them with its view)."""
    fields = {f.name: getattr(counts.config, f.name) for f in dataclasses.fields(counts.config)}
    shared, twin = (
        sharing_graph(zoo.build(counts.form, shared=side, device="meta", dtype=DTYPES[counts.dtype], **fields),
                      report=report)
        for side, report in ((True, counts.shared), (False, counts.unshared))
    )
    return shared, twin


def counting_device(form: str, overrides: dict, device: str, dtype: str) -> tuple[str, str]:
    """Where Explore builds ``form``: ``(device, "")``, or ``("meta", why)`` when the larger
    model's parameters exceed ``EXPLORE_BUDGETS[device]`` or the zoo refuses to build and run
    it on ``device`` but can count it on meta.

    Raises:
        ValueError: a bad field or value (the config's own message), or a size the zoo refuses
            even on meta.
    """
    budget = EXPLORE_BUDGETS.get(device)
    if budget is None:  # meta itself
        return device, ""
    config = zoo.make_config(form, **overrides)
    need = max(zoo.estimated_bytes(form, config, shared=s, dtype=DTYPES.get(dtype)) for s in (True, False))
    if need <= budget:
        try:
            zoo.check_budget(form, config, device=device, dtype=DTYPES.get(dtype), forward=True, advise_meta=False)
            return device, ""
        except ValueError as err:
            zoo.check_budget(form, config, device="meta", dtype=DTYPES.get(dtype))  # refused there too: say so
            return "meta", f"counted without allocating, because on {device}: {err}"
    return "meta", (
        f"counted without allocating; too large to time here: {fmt_bytes(need)} twin > "
        f"{fmt_bytes(budget)} budget on {device} (timing it or measuring its memory would need "
        f"{fmt_bytes(need)} of parameters on {device}, plus activations)."
    )


def is_quick(form: str, overrides: dict, device: str) -> bool:
    """Whether counting ``form`` takes well under a second (then Explore waits for it: no busy flicker).

    From the closed-form footprints; anything larger runs in the panel's worker
    while the page stays responsive.
    """
    config = zoo.make_config(form, **overrides)
    sides = [budget.footprint(form, config, shared) for shared in (True, False)]
    if device == "meta":  # nothing runs: only Python objects cost time
        return max(f.modules for f in sides) <= 500
    return max(f.modules + f.ops for f in sides) <= 1_500 and max(f.params + f.activations for f in sides) <= 4_000_000


def times(ratio: float) -> str:
    """``1,024×`` for large ratios, ``2.5×`` for small ones."""
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:,.1f}×"


def _conv_note(c) -> str:
    h, w = output_size(c)
    return f"one kernel reused at {h * w:,} positions"


#: Sharing that happens inside one forward call, where neither names nor call counts show it.
FORM_NOTES = {
    "conv": _conv_note,
    "patch_embed": lambda c: f"one projection reused at {c.num_patches:,} patches",
    "ssm": lambda c: f"(a, B, C, D) reused at {c.seq_len:,} steps",
    "tied_autoencoder": lambda c: "the decoder reuses the encoder weight, transposed",
    "multitask": lambda c: f"one encoder feeds {c.num_tasks} task heads",
    "gqa": lambda c: f"each K/V head serves {c.num_heads // c.groups} query heads",
    "lora": lambda c: f"one frozen base shared by {c.num_tasks} tasks",
    "hashednet": lambda c: f"{c.in_features * c.out_features:,} virtual weights from {c.num_buckets:,} buckets",
}


def _albert_note(c) -> str:
    shared = {"all": "one block", "attention": "one attention layer", "ffn": "one feed-forward layer"}[c.share]
    return f"{shared} reused at {c.num_layers} layers"


#: Sharing found by counting calls, said from the config where no forward runs (the meta device).
META_NOTES = {
    "rnn": lambda c: f"one cell reused at {c.seq_len:,} steps",
    "albert": _albert_note,
    "universal_transformer": lambda c: f"one block applied at {c.num_layers} depth steps",
    "siamese": lambda c: "one branch embeds both inputs",
}


def reuse_note(counts: TwinCounts) -> str:
    """How the shared model reuses its tensors: inside a call, at run time, or by name."""
    report = counts.shared
    if counts.form in FORM_NOTES:
        note = FORM_NOTES[counts.form](counts.config)
        if report.frozen_params:  # LoRA: what training updates vs what it only reads
            note += f"; {report.frozen_params:,} frozen, {report.unique_params - report.frozen_params:,} trainable"
        return note
    if report.calls is None and counts.form in META_NOTES:  # counted on meta: no calls to count
        return META_NOTES[counts.form](counts.config)
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


def in_call_note(counts: TwinCounts) -> str:
    """Reuse inside one forward call (conv positions, SSM steps), which call counts cannot show."""
    return FORM_NOTES[counts.form](counts.config) if counts.form in FORM_NOTES else ""


@dataclass(frozen=True)
class SideTables:
    """The groups and modules tables of the side the graph's toggle shows, with their titles."""

    groups_title: str
    groups: str
    modules_title: str
    modules: str


def side_tables(counts: TwinCounts, side: str) -> SideTables:
    """Tables of the shared model (``side="shared"``) or of the unshared twin (``"twin"``), titled
    with the side they describe, so the graph, its toggle and the tables show one model."""
    shared = side == "shared"
    report = counts.shared if shared else counts.unshared
    label = "shared model" if shared else "unshared twin"  # as the toggle's buttons say
    return SideTables(
        f"Tensors under several names, {label}: {plural(len(report.groups), 'group')}",
        groups_table_html(report),
        f"Modules, {label}: calls and parameters",
        modules_table_html(report, note=in_call_note(counts) if shared else ""),
    )


def form_label(form: str) -> str:
    return f"{form} — {registry.get(form).summary}"


def side_labels(form: str) -> tuple[str, str]:
    return SIDE_LABELS.get(form, ("Shared", "Unshared twin"))


def explore_bars(counts: TwinCounts) -> list[Bar]:
    shared_label, twin_label = side_labels(counts.form)
    bars = [
        Bar("shared", shared_label, counts.shared.unique_params, theme.SHARED),
        Bar("unshared", twin_label, counts.unshared.unique_params, theme.UNSHARED),
    ]
    if counts.form == "conv":
        dense = conv_param_counts(counts.config)["dense"]
        bars.append(Bar("dense", "Dense", dense, theme.DENSE))
    return bars


#: One-line definitions of the cards' numbers, shown on hover.
CARD_HINTS = {
    "shared": "unique parameters: distinct elements the shared model holds, each tensor once however many "
    "names or calls reach it",
    "unshared": "unique parameters of the twin, which computes the same function with nothing shared; "
    "N× = twin / shared",
    "dense": "parameters of one dense layer from the whole image to the whole output map; N× = dense / shared",
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
    n = not_saved(counts.form, counts.config, counts.shared, counts.unshared, DTYPES[counts.dtype])
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


def explore_cards(counts: TwinCounts) -> list[Card]:
    bars = explore_bars(counts)
    shared = bars[0].count
    cards = [Card(bars[0].key, bars[0].label, f"{shared:,}", reuse_note(counts), bars[0].colour, CARD_HINTS["shared"])]
    cards += [
        Card(b.key, b.label, f"{b.count:,}", f"{times(b.count / shared)} the shared model", b.colour, CARD_HINTS[b.key])
        for b in bars[1:]
    ]
    cards.append(memory_card(counts))
    return cards + not_saved_cards(counts)


class ExplorePanel(widgets.VBox):
    """Form, preset, config, device and dtype in; cards, parameter bars, the sharing graph and tables out."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.form = widgets.Dropdown(
            options=[(form_label(key), key) for key in zoo.forms()],
            value=state.form, description="Sharing form", style={"description_width": "100px"},
            layout=widgets.Layout(width="860px"),
        )
        self.device = widgets.Dropdown(
            options=zoo.available_devices(), value=state.device, description="Device",
            layout=widgets.Layout(width="190px"),
        )
        self.dtype = widgets.Dropdown(
            options=list(DTYPES), value=state.dtype, description="dtype", layout=widgets.Layout(width="190px")
        )
        for box, name in ((self.form, "form"), (self.device, "device"), (self.dtype, "dtype")):
            box.add_class(f"psv-{name}")
            widgets.link((box, "value"), (state, name))
        self.preset = widgets.Dropdown(
            description="Preset", style={"description_width": "100px"}, layout=widgets.Layout(width="520px")
        )
        self.preset.add_class("psv-preset")
        self.preset_source = widgets.HTML(layout=widgets.Layout(margin="0 0 0 12px"))
        self.preset_source.add_class("psv-preset-source")
        self.preset.observe(self._show_source, names="value")
        self._set_preset_options()
        self.preset.observe(self._on_preset, names="value")
        self.editor = ConfigEditor(on_change=self._on_edit)
        self.editor.show(self._initial_config())
        self.worker = Worker()  # counts larger settings off the kernel's main thread; the newest request wins
        self._request = 0  # bumped by every refresh: outcomes of older requests are dropped
        self._showing = threading.RLock()  # a worker's outcome is shown whole, or not at all once superseded
        values = self.editor.values()
        where, note = counting_device(state.form, values, state.device, state.dtype)
        first = twin_counts(state.form, device=where, dtype=state.dtype, **values)
        self.cards = widgets.HTML()
        self.cards.add_class("psv-cards-box")
        # The sharing graph: its own front end (no plotly); new data is applied in place.
        self.graph = GraphView(graphs=_twin_graphs(first), note=reuse_note(first))
        self.bars = widgets.HTML()  # HTML bars: no plotly widget at page load
        self.bars.add_class("psv-bars-box")
        self.groups = widgets.HTML()
        self.modules = widgets.HTML()
        # Two accordions, so both can be open; the groups start open, the long module list closed.
        self.groups_box = widgets.Accordion(children=[self.groups], selected_index=0)
        self.modules_box = widgets.Accordion(children=[self.modules], titles=["Modules: calls and parameters"])
        self.graph.side.observe(lambda c: self._show_tables(c["new"]), names="value")  # the tables follow the toggle
        state.observe(self._on_form, names="form")
        state.observe(lambda _c: self.refresh(), names=["device", "dtype"])
        super().__init__([
            widgets.HBox([self.form]),
            widgets.HBox([self.device, self.dtype]),
            widgets.HBox([self.preset, self.preset_source]),
            self.editor,
            self.cards,
            self.bars,
            self.graph,
            self.groups_box,
            self.modules_box,
        ])
        self._show(first, values, note)

    def _initial_config(self):
        return zoo.default_config(self.state.form)  # the library's and the CLI's default: one set of numbers

    def _on_form(self, _change: dict | None = None) -> None:
        self._set_preset_options()
        self._fill(self._initial_config())
        self.refresh()

    def _fill(self, config) -> None:
        """Show ``config`` in the editor; the field changes this makes are not edits."""
        self._filling = True
        try:
            self.editor.show(config)
        finally:
            self._filling = False

    def _set_preset_options(self) -> None:
        self._filling = True  # choosing the menu's entries is not the user choosing one
        self.preset.options = [DEFAULT, *zoo.presets(self.state.form), CUSTOM]
        self.preset.value = DEFAULT
        self._filling = False

    def _show_source(self, change: dict) -> None:
        text = presets.source(self.state.form, change["new"])
        self.preset_source.value = f'<span style="font-size:12px;opacity:.75">{html.escape(text)}</span>'

    def _on_preset(self, change: dict) -> None:
        """Fill the fields from the chosen preset (or the form's starting size)."""
        if self._filling or change["new"] == CUSTOM:
            return
        overrides = zoo.presets(self.state.form).get(change["new"], {})
        config = self._initial_config() if change["new"] == DEFAULT else zoo.make_config(self.state.form, **overrides)
        self._fill(config)
        self.refresh()

    def _on_edit(self) -> None:
        """A field changed by hand: the menu says "custom" unless the fields still match its entry."""
        if self._filling:
            return
        chosen = self.preset.value
        if chosen != CUSTOM:
            overrides = {} if chosen == DEFAULT else zoo.presets(self.state.form)[chosen]
            base = self._initial_config() if chosen == DEFAULT else zoo.make_config(self.state.form, **overrides)
            try:
                values = self.editor.values()
            except ValueError:  # not a number: certainly not the preset (refresh says what is wrong)
                values = {name: None for name in self.editor.inputs}
            if any(getattr(base, name) != value for name, value in values.items()):
                self._filling = True
                self.preset.value = CUSTOM
                self._filling = False
        self.refresh()

    def refresh(self) -> None:
        """Count the current setting: at once when it is quick, else in the worker (latest wins).

        While the worker runs, the status line says so and the cards and bars are
        dimmed; a newer change (another value, another form) supersedes it, and
        the superseded outcome is dropped.
        """
        form, device, dtype = self.state.form, self.state.device, self.state.dtype
        with self._showing:
            self._request += 1
            request = self._request
        try:
            values = self.editor.values()
            where, note = counting_device(form, values, device, dtype)
            quick = is_quick(form, values, where)
        except Exception as err:  # the UI boundary: say it in the status line, keep the app alive
            self._fail(form, err)
            return

        def work(_stop):
            return twin_counts(form, device=where, dtype=dtype, **values)

        def done(counts: TwinCounts) -> None:
            with self._showing:
                if request == self._request:
                    self._show(counts, values, note)

        def failed(err: BaseException) -> None:
            with self._showing:
                if request == self._request:
                    self._fail(form, err)

        if not quick:
            self._mark_stale(True)
            self.state.busy(
                f"{form}: counting on {where}… The numbers below are for the previous setting until it ends; "
                f"any change replaces this one."
            )
        self.worker.start(work, done, failed)
        if quick:
            self.worker.wait()

    def _mark_stale(self, stale: bool) -> None:
        for box in (self.cards, self.bars):
            (box.add_class if stale else box.remove_class)("psv-stale")

    def _fail(self, form: str, err: BaseException) -> None:
        what = in_words(err).removeprefix(f"{form}: ")  # the zoo's budget messages name the form already
        self._mark_stale(True)  # keep the last valid numbers, dimmed
        self.state.error(f"{form}: {what.rstrip('.')}. The numbers below are for the last valid setting.")

    def _show(self, counts: TwinCounts, values: dict, note: str) -> None:
        """Cards, bars, tables and status for ``counts`` of the setting ``values``."""
        form, device, dtype = counts.form, counts.device, counts.dtype
        self._size_note = note
        self._mark_stale(False)
        # The numbers first (status, cards, bars), then the graph and tables: the browser takes 100+ ms
        # to redraw the graph, and the numbers should not wait for it.
        self.state.info(
            f"{form} on {device} in {dtype}: shared {counts.shared.unique_params:,} parameters, "
            f"twin {counts.unshared.unique_params:,} ({times(counts.ratio)} the shared model); "
            + (f"{self._size_note}" if self._size_note else f"both built in {counts.build_seconds * 1000:,.0f} ms.")
        )
        self.editor.show_limits(counts.config)
        self.state.overrides = dict(values)
        self.cards.value = cards_html(explore_cards(counts))
        note = f'<div class="psv-size-note" style="font-size:12px;margin:6px 0 0">{html.escape(self._size_note)}</div>' if self._size_note else ""
        buffers = counts.shared.unique_buffer_bytes or counts.unshared.unique_buffer_bytes
        title = "Unique parameters" + (" (buffers are not parameters: the memory card counts them)" if buffers else "")
        self.bars.value = note + param_bars_html(explore_bars(counts), title=title)
        self._counts = counts
        self._show_tables(self.graph.side.value)  # before the graph: tables are text, the graph takes a build
        self.graph.show_graphs(_twin_graphs(counts), reuse_note(counts))

    def _show_tables(self, side: str) -> None:
        """The groups and modules tables of ``side``, the side the graph's toggle shows."""
        tables = side_tables(self._counts, side)
        self.groups.value, self.modules.value = tables.groups, tables.modules
        self.groups_box.titles = [tables.groups_title]
        self.modules_box.titles = [tables.modules_title]
