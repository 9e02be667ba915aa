"""Explore panel, first slice: what one Conv2d saves over its unshared alternatives."""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go

from paramshare_viz import zoo
from paramshare_viz.app.state import AppState
from paramshare_viz.models.conv import conv_param_counts, output_size
from paramshare_viz.plots import theme
from paramshare_viz.plots.cards import Card, cards_html
from paramshare_viz.plots.conv_counts import make_conv_counts_figure, update_conv_counts_figure

#: Config fields the panel edits, with their labels.
FIELDS = {
    "image_size": "Input size",
    "in_channels": "In channels",
    "out_channels": "Out channels",
    "kernel_size": "Kernel size",
    "stride": "Stride",
    "padding": "Padding",
}

#: A CIFAR-sized first layer makes a more telling start than the zoo's tiny default.
INITIAL = {"image_size": 32, "out_channels": 16}


def times(ratio: float) -> str:
    """``1,024×`` for large ratios, ``2.5×`` for small ones."""
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:,.1f}×"


def conv_cards(config, counts: dict[str, int]) -> list[Card]:
    """Cards for the three layer kinds, with the ratios to the conv."""
    h, w = output_size(config)
    positions = h * w
    conv, lc, dense = counts["conv"], counts["locally_connected"], counts["dense"]
    return [
        Card("conv", "Conv2d (shared)", f"{conv:,}", f"one kernel reused at {positions:,} positions", theme.SHARED),
        Card("locally_connected", "Locally connected", f"{lc:,}", f"{times(lc / conv)} the conv", theme.UNSHARED),
        Card("dense", "Dense", f"{dense:,}", f"{times(dense / conv)} the conv", theme.DENSE),
    ]



class ConvCountsPanel(widgets.VBox):
    """Widgets for a conv layer's shape; cards and a log-scale bar chart of its counts."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        defaults = zoo.make_config("conv", **INITIAL)
        self.inputs = {
            name: widgets.IntText(
                value=getattr(defaults, name),
                description=label,
                style={"description_width": "96px"},
                layout=widgets.Layout(width="200px"),
            )
            for name, label in FIELDS.items()
        }
        for name, box in self.inputs.items():
            box.add_class(f"psv-input-{name}")
            box.observe(self._on_change, names="value")
        counts = conv_param_counts(defaults)
        self.cards = widgets.HTML(cards_html(conv_cards(defaults, counts)))
        self.cards.add_class("psv-conv-cards")
        self.figure = go.FigureWidget(make_conv_counts_figure(counts))
        intro = widgets.HTML(
            "<p style='margin:4px 0 8px;color:#374151'>A convolution reuses one small kernel at every "
            "position of the image. Its unshared twin, a <b>locally connected</b> layer, learns its own "
            "kernel per output position; a <b>dense</b> layer connects every input to every output.</p>"
        )
        rows = list(self.inputs.values())
        controls = widgets.VBox([widgets.HBox(rows[:3]), widgets.HBox(rows[3:])])
        super().__init__([intro, controls, self.cards, self.figure])
        self._describe(defaults)

    def _on_change(self, _change: dict | None = None) -> None:
        values = {name: box.value for name, box in self.inputs.items()}
        try:
            config = zoo.make_config("conv", **values)
            counts = conv_param_counts(config)
        except ValueError as err:
            self.cards.add_class("psv-stale")  # keep the last valid numbers, dimmed
            self.state.error(f"Conv layer: {err}. The numbers below are for the last valid layer.")
            return
        self.cards.remove_class("psv-stale")
        self.cards.value = cards_html(conv_cards(config, counts))
        with self.figure.batch_update():
            update_conv_counts_figure(self.figure, counts)
        self._describe(config)

    def _describe(self, config) -> None:
        h, w = output_size(config)
        self.state.info(
            f"Conv layer: {config.in_channels}×{config.image_size}×{config.image_size} input, "
            f"{config.kernel_size}×{config.kernel_size} kernel, {h}×{w} output positions."
        )
