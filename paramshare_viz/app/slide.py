"""Slide tab: one conv kernel sliding over an image, beside its locally connected twin.

The animation runs in the browser (:class:`~paramshare_viz.app.slide_widget.SlideWidget`);
this panel turns the controls into a :class:`SlideSettings`, computes one
:class:`SlideView` with the pure functions of :mod:`paramshare_viz.sliding`, sends
it once, and shows two static charts (gradient, equivariance; inline SVG, no plotly.js) below.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import ipywidgets as widgets
import torch

from paramshare_viz.app.slide_modes import (
    ModeView,
    SlideMode,
    conv1d_gradient_chart,
    conv1d_view,
    transposed_gradient_chart,
    transposed_view,
)
from paramshare_viz.app.slide_widget import SlideWidget, slide_payload
from paramshare_viz.app.state import AppState, in_words
from paramshare_viz.app.worker import Worker
from paramshare_viz.models.conv import LocallyConnected2d
from paramshare_viz.plots.slide import make_equivariance_chart, make_gradient_chart
from paramshare_viz.slide_inputs import (
    MAX_SIZE,
    Image,
    KernelPreset,
    kernel_pattern,
    kernel_row,
    preset_weight,
    preset_weight_1d,
    sample_image,
    weight_from_pattern,
)
from paramshare_viz.sliding import (
    PADDING_MODES,
    ConvTrace,
    Equivariance,
    GradientCheck,
    equivariance,
    gradient_check,
    locally_connected_twin,
    trace_conv2d,
)
from paramshare_viz.typed_numbers import read_number, read_rows

CUSTOM_IMAGE = "your image"
CUSTOM_KERNEL = "custom"


@dataclass(frozen=True)
class SlideSettings:
    """Everything the Slide tab's controls set (``torch.nn.Conv2d`` names where they apply)."""

    mode: str = SlideMode.CONV2D
    image: str = Image.DIGIT
    index: int = 0  # which digit
    size: int = 16
    channels: int = 1
    kernel_size: int = 3
    stride: int = 1
    padding: int = 1
    padding_mode: str = "zeros"  # 2-D conv only
    output_padding: int = 0  # transposed conv only
    dilation: int = 1
    groups: int = 1
    out_channels: int = 2
    oc: int = 0  # the output channel the animation shows
    kernel: str = KernelPreset.EDGE
    pattern: tuple[tuple[float, ...], ...] | None = None  # the edited kernel when kernel == "custom"
    seed: int = 0


@dataclass(frozen=True)
class SlideView:
    """One setting, computed: the trace, its twin, the gradient check."""

    settings: SlideSettings
    trace: ConvTrace
    twin: LocallyConnected2d
    gradient: GradientCheck


def slide_image(s: SlideSettings, custom: torch.Tensor | None = None) -> torch.Tensor:
    """The ``(C, H, W)`` input of ``s``: a sample, or the notebook's own tensor."""
    if s.image == CUSTOM_IMAGE:
        if custom is None:
            raise ValueError("image='your image' needs a tensor: SlidePanel(state, image=tensor)")
        return custom
    return sample_image(s.image, size=s.size, channels=s.channels, index=s.index)


def slide_weight(s: SlideSettings, in_channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of ``s``: a preset, or the edited pattern; bias zero except for random kernels."""
    if s.groups < 1 or in_channels % s.groups:
        raise ValueError(f"groups={s.groups} does not divide in_channels={in_channels}")
    # Small enough to draw, and to keep per-position tensors (twin, gradient parts) in memory.
    if not 1 <= s.out_channels <= 8:
        raise ValueError(f"out_channels={s.out_channels} must be from 1 to 8 in the Slide tab")
    if not 1 <= s.kernel_size <= 9:
        raise ValueError(f"kernel_size={s.kernel_size} must be from 1 to 9 in the Slide tab")
    cg = in_channels // s.groups
    if s.kernel == CUSTOM_KERNEL:
        pattern = torch.tensor(s.pattern or ((1.0,),), dtype=torch.float32)
        if pattern.shape != (s.kernel_size, s.kernel_size):
            raise ValueError(
                f"the edited kernel is {pattern.shape[0]}x{pattern.shape[1]} but kernel_size={s.kernel_size}"
            )
        weight = weight_from_pattern(pattern, s.out_channels, cg)
    else:
        weight = preset_weight(s.kernel, s.kernel_size, s.out_channels, cg, seed=s.seed)
    bias = torch.zeros(s.out_channels)
    if s.kernel == KernelPreset.RANDOM:
        bias = (torch.rand(s.out_channels, generator=torch.Generator().manual_seed(s.seed + 1)) - 0.5) * 0.2
    return weight, bias


def slide_weight_1d(s: SlideSettings, in_channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of a 1-D mode: ``(C_out, C_in/g, k)``, a preset row or the edited row."""
    weight2d, bias = slide_weight(dataclasses.replace(s, kernel=KernelPreset.EDGE), in_channels)  # checks the sizes
    cg = weight2d.shape[1]
    if s.kernel == CUSTOM_KERNEL:
        pattern = torch.tensor(s.pattern or ((1.0,),), dtype=torch.float32)
        if pattern.shape != (1, s.kernel_size):
            raise ValueError(
                f"the edited kernel is {pattern.shape[0]}x{pattern.shape[1]} but a 1-D kernel is one row of "
                f"kernel_size={s.kernel_size} numbers"
            )
        return weight_from_pattern(pattern, s.out_channels, cg)[:, :, 0], bias
    return preset_weight_1d(s.kernel, s.kernel_size, s.out_channels, cg, seed=s.seed), bias


def _checked_input(s: SlideSettings, custom: torch.Tensor | None) -> torch.Tensor:
    """The input of ``s`` after the checks every mode shares; ``ValueError`` naming the field."""
    for name in ("stride", "padding", "dilation", "output_padding"):  # beyond the image's size only overflows
        if getattr(s, name) > MAX_SIZE:
            raise ValueError(f"{name}={getattr(s, name)} must be at most {MAX_SIZE} in the Slide tab")
    if s.mode not in set(SlideMode):
        raise ValueError(f"mode={s.mode!r} must be one of {', '.join(SlideMode)}")
    return slide_image(s, custom)


def _check_oc(s: SlideSettings) -> None:
    if not 0 <= s.oc < s.out_channels:
        raise ValueError(f"output channel={s.oc} must be from 0 to out_channels-1={s.out_channels - 1}")


def mode_view(s: SlideSettings, custom: torch.Tensor | None = None) -> ModeView:
    """Compute one setting of the transposed, 1-D or causal mode; ``ValueError`` naming a bad field."""
    x = _checked_input(s, custom)
    if s.mode == SlideMode.TRANSPOSED:
        weight, bias = slide_weight(s, x.shape[0])
        _check_oc(s)
        return transposed_view(s, x, weight, bias)
    weight, bias = slide_weight_1d(s, x.shape[0])
    _check_oc(s)
    row = x.shape[1] // 2
    return conv1d_view(s, x[:, row, :], weight, bias, causal=s.mode == SlideMode.CAUSAL, row=row)


def slide_view(s: SlideSettings, custom: torch.Tensor | None = None) -> SlideView:
    """Compute one setting of the 2-D mode; ``ValueError`` naming the field and value when it is not valid."""
    x = _checked_input(s, custom)
    weight, bias = slide_weight(s, x.shape[0])
    _check_oc(s)
    trace = trace_conv2d(
        x, weight, bias, stride=s.stride, padding=s.padding, dilation=s.dilation, groups=s.groups,
        padding_mode=s.padding_mode,
    )
    twin = locally_connected_twin(trace, seed=s.seed)
    return SlideView(s, trace, twin, gradient_check(trace))


def check_image(image: torch.Tensor) -> torch.Tensor:
    """A notebook's tensor as ``(C, H, W)`` float: ``(H, W)`` or ``(C, H, W)``, at most 64 per side."""
    if not isinstance(image, torch.Tensor):
        image = torch.as_tensor(image)
    x = image.detach().float()
    x = x[None] if x.dim() == 2 else x
    if x.dim() != 3 or max(x.shape[1:]) > MAX_SIZE or min(x.shape) < 1:
        raise ValueError(f"image has shape {tuple(image.shape)}; expected (H, W) or (C, H, W), H, W <= {MAX_SIZE}")
    return x


def _int(name: str, value: int, label: str, width: str = "150px") -> widgets.Text:
    """A box for a whole number, read by ``typed_numbers.read_number`` (an ``IntText`` rewrites what was typed)."""
    box = widgets.Text(value=str(value), description=label, continuous_update=False,
                       style={"description_width": "initial"}, layout=widgets.Layout(width=width))
    box.add_class(f"psv-slide-{name}")
    return box


#: The Slide settings typed as whole numbers, each in a box of the same name.
INT_FIELDS = ("index", "size", "kernel_size", "stride", "padding", "output_padding", "dilation", "groups",
              "out_channels", "oc")


class SlidePanel(widgets.VBox):
    """Controls, the sliding animation, the gradient view and the equivariance view.

    Args:
        state (AppState): the dashboard's state (status line).
        image (Tensor, optional): your own ``(H, W)`` or ``(C, H, W)`` image, at most 64x64.
        settings (SlideSettings, optional): where the controls start.
    """

    def __init__(self, state: AppState, image: torch.Tensor | None = None, settings: SlideSettings | None = None) -> None:
        self.state = state
        self.custom = check_image(image) if image is not None else None
        s = settings or (SlideSettings(image=CUSTOM_IMAGE, channels=self.custom.shape[0])
                         if self.custom is not None else SlideSettings())
        images = list(Image) + ([CUSTOM_IMAGE] if self.custom is not None else [])
        self.mode = widgets.Dropdown(options=list(SlideMode), value=s.mode, description="Mode",
                                     layout=widgets.Layout(width="260px"))
        self.mode.add_class("psv-slide-mode")
        self.image = widgets.Dropdown(options=images, value=s.image, description="Image",
                                      layout=widgets.Layout(width="210px"))
        self.index = _int("index", s.index, "digit #", "120px")
        self.size = _int("size", s.size, "size", "110px")
        self.channels = widgets.Dropdown(options=[1, 3], value=s.channels, description="channels",
                                         layout=widgets.Layout(width="130px"), style={"description_width": "initial"})
        self.kernel_size = _int("kernel_size", s.kernel_size, "kernel_size", "140px")
        self.stride = _int("stride", s.stride, "stride", "100px")
        self.padding = _int("padding", s.padding, "padding", "110px")
        self.padding_mode = widgets.Dropdown(options=PADDING_MODES, value=s.padding_mode, description="mode",
                                             layout=widgets.Layout(width="170px"), style={"description_width": "40px"})
        self.dilation = _int("dilation", s.dilation, "dilation", "110px")
        self.output_padding = _int("output_padding", s.output_padding, "output_padding", "160px")
        self.groups = _int("groups", s.groups, "groups", "105px")
        self.out_channels = _int("out_channels", s.out_channels, "out_channels", "145px")
        self.oc = _int("oc", s.oc, "show channel", "145px")
        self.kernel = widgets.Dropdown(options=[*KernelPreset, CUSTOM_KERNEL], value=s.kernel, description="Kernel",
                                       layout=widgets.Layout(width="210px"))
        self.pattern = widgets.Textarea(continuous_update=False, layout=widgets.Layout(width="230px", height="80px"),
                                        placeholder="one row per line, numbers separated by spaces")
        self.pattern.add_class("psv-slide-pattern")
        for box in (self.image, self.channels, self.padding_mode, self.kernel):
            box.add_class(f"psv-slide-{box.description.lower()}")
        self.animation = SlideWidget()
        self.tap = widgets.Dropdown(description="kernel entry", style={"description_width": "initial"},
                                    layout=widgets.Layout(width="250px"))
        self.dy = widgets.IntSlider(0, -8, 8, description="shift dy", continuous_update=False)
        self.dx = widgets.IntSlider(2, -8, 8, description="shift dx", continuous_update=False)
        self.gradient_out, self.equivariance_out = widgets.HTML(), widgets.HTML()  # SVG charts
        self.sections_out = widgets.VBox()  # the other modes' figures: overlap, dilated input, TCN
        self.sections_out.add_class("psv-slide-sections")
        self.view: SlideView | None = None
        self.mode_view: ModeView | None = None
        self.worker = Worker()  # the trace, the twin and two figures take a second on a busy machine
        self.equivariance_result: Equivariance | None = None

        for box in (self.mode, self.image, self.index, self.size, self.channels, self.kernel_size, self.stride,
                    self.padding, self.padding_mode, self.output_padding, self.dilation, self.groups, self.out_channels,
                    self.oc):
            box.observe(lambda _c: self.refresh(), names="value")
        self.kernel.observe(lambda _c: self.refresh(), names="value")  # the view brings the preset's pattern
        self.pattern.observe(self._on_pattern, names="value")
        for box in (self.tap, self.dy, self.dx):
            box.observe(lambda _c: self.refresh(), names="value")

        note = widgets.HTML(
            "<div style='color:var(--jp-ui-font-color2,#6b7280)'>One kernel slides over every position "
            "(the same tensor each time); the locally connected twin below needs a kernel of its own at each. "
            "Play, step, or click an output cell. The modes: a transposed conv scatters one kernel copy per "
            "<i>input</i> cell; a 1-D conv slides along a sequence (the image's middle row), a causal one reads "
            "only the past.</div>"
        )
        rows = [
            widgets.HBox([self.mode, self.image, self.index, self.size, self.channels]),
            widgets.HBox([self.kernel_size, self.stride, self.padding, self.padding_mode, self.output_padding,
                          self.dilation]),
            widgets.HBox([self.groups, self.out_channels, self.oc]),
            widgets.HBox([self.kernel, widgets.Label("edit:"), self.pattern]),
        ]
        gradient = widgets.VBox([widgets.HTML("<b>Gradient: the sum over reuses</b>"), self.tap, self.gradient_out])
        self.equivariance_box = widgets.VBox([widgets.HTML("<b>Equivariance: shift the input</b>"),
                                              widgets.HBox([self.dy, self.dx]), self.equivariance_out])
        super().__init__([note, *rows, self.animation, gradient, self.equivariance_box, self.sections_out])
        self.add_class("psv-slide-panel")
        self._syncing = False
        self.refresh()

    # --- reading the controls --------------------------------------------------------------------

    def settings(self) -> SlideSettings:
        """The controls as settings; ``ValueError`` naming the box when one holds no whole number."""
        numbers = {}
        for name in INT_FIELDS:
            box = getattr(self, name)
            label = name if box.description == name else f"{box.description} ({name})"
            numbers[name] = read_number(name, int, box.value, label=label)
        pattern = read_rows(self.pattern.value, field="the edited kernel") if self.kernel.value == CUSTOM_KERNEL else None
        return SlideSettings(mode=self.mode.value, image=self.image.value, channels=self.channels.value,
                             padding_mode=self.padding_mode.value, kernel=self.kernel.value, pattern=pattern,
                             **numbers)

    def _on_pattern(self, _change: dict) -> None:
        if self._syncing:
            return
        if self.kernel.value != CUSTOM_KERNEL:
            self.kernel.value = CUSTOM_KERNEL  # observers refresh
        else:
            self.refresh()

    # --- computing and drawing -------------------------------------------------------------------

    def refresh(self) -> None:
        """Recompute from the controls in the worker thread; the page stays responsive meanwhile."""
        if self._syncing:
            return
        self._show_fields(self.mode.value)
        try:
            s = self.settings()
        except ValueError as err:
            self.worker.stop()  # a view of an earlier setting must not replace the refusal
            self._fail(err)
            return
        tap, shift = self.tap.value, (self.dy.value, self.dx.value)
        self.state.busy("Slide: computing the trace, its twin and the gradient…")
        self.worker.start(
            lambda _stop: render(s, self.custom, tap, shift),
            self._apply,  # the worker delivers on the kernel's thread, where widgets are edited
            self._fail,
        )

    def _show_fields(self, mode: str) -> None:
        """Only the fields a mode reads: padding_mode (2-D), output_padding (transposed); causal pads itself."""
        self.padding_mode.layout.display = "" if mode == SlideMode.CONV2D else "none"
        self.output_padding.layout.display = "" if mode == SlideMode.TRANSPOSED else "none"
        self.padding.disabled = mode == SlideMode.CAUSAL
        self.padding.tooltip = ("a causal conv pads (kernel_size - 1) * dilation on the left"
                                            if mode == SlideMode.CAUSAL else None)

    def _fail(self, err: BaseException) -> None:
        """A plain message in the status line; the last valid view stays."""
        what = in_words(err)
        self.state.error(f"Slide: {what}. The views below are for the last valid setting.")

    def _apply(self, r: Rendered) -> None:
        """Assign what :func:`render` computed to the widgets."""
        s = r.settings
        self._syncing = True  # what follows sets controls; it must not start another job
        try:
            self.index.layout.display = "" if s.image == Image.DIGIT else "none"
            self.size.disabled = self.channels.disabled = s.image == CUSTOM_IMAGE
            self.tap.options = r.taps
            self.tap.value = r.tap
            if r.pattern is not None:
                self.pattern.value = r.pattern
        finally:
            self._syncing = False
        self.view, self.mode_view, self.equivariance_result = r.view, r.mode_view, r.equivariance
        self.animation.send_payload(r.meta, r.data)
        self.gradient_out.value = r.gradient_chart
        self.equivariance_box.layout.display = "none" if r.equivariance_chart is None else ""
        if r.equivariance_chart is not None:
            self.equivariance_out.value = r.equivariance_chart
        self._show_sections(r.sections)
        self.state.info(r.status)

    def _show_sections(self, sections: tuple[tuple[str, str], ...]) -> None:
        """The mode's sections (heading, chart or table HTML) below the gradient; the previous ones are closed."""
        old = self.sections_out.children
        self.sections_out.children = tuple(
            w for heading, body in sections for w in (widgets.HTML(f"<b>{heading}</b>"), widgets.HTML(body))
        )
        for w in old:
            w.close()


@dataclass(frozen=True)
class Rendered:
    """What one refresh shows, computed in the worker; the panel only assigns it."""

    settings: SlideSettings
    view: SlideView | None  # the 2-D mode's
    mode_view: ModeView | None  # the transposed, 1-D or causal mode's
    meta: dict  # the animation's payload
    data: bytes
    taps: list[tuple[str, tuple[int, int, int]]]  # the gradient chart's kernel entries
    tap: tuple[int, int, int]
    gradient_chart: str  # HTML with inline SVG
    equivariance: Equivariance | None  # 2-D mode only
    equivariance_chart: str | None
    sections: tuple[tuple[str, str], ...]  # (heading, HTML) below the gradient: other modes
    pattern: str | None  # the preset's kernel as the editor shows it; None for an edited kernel
    status: str


@functools.lru_cache(maxsize=4)  # a view at 64x64 holds per-position tensors of a few MB
def _cached_view(s: SlideSettings) -> SlideView:
    return slide_view(s)  # settings are frozen: a control returning to a value costs nothing


@functools.lru_cache(maxsize=4)
def _cached_mode_view(s: SlideSettings) -> ModeView:
    return mode_view(s)


def pattern_text(s: SlideSettings) -> str | None:
    """The preset's kernel (channel 0's, before splitting over channels) as the editor shows it."""
    if s.kernel == CUSTOM_KERNEL:
        return None
    one_d = s.mode in (SlideMode.CONV1D, SlideMode.CAUSAL)
    if s.kernel == KernelPreset.RANDOM:
        pattern = (preset_weight_1d(s.kernel, s.kernel_size, 1, 1, seed=s.seed)[0] if one_d
                   else preset_weight(s.kernel, s.kernel_size, 1, 1, seed=s.seed)[0, 0])
    else:
        pattern = kernel_row(s.kernel, s.kernel_size)[None] if one_d else kernel_pattern(s.kernel, s.kernel_size)
    return "\n".join(" ".join(f"{v:.3g}" for v in row) for row in pattern.tolist())


def render(
    s: SlideSettings, custom: torch.Tensor | None, tap: tuple[int, int, int] | None, shift: tuple[int, int]
) -> Rendered:
    """Everything the panel shows for ``s``: pure, run in the worker thread."""
    if s.mode != SlideMode.CONV2D:
        mv = _cached_mode_view(s) if custom is None else mode_view(s, custom)
        tap = tap if tap in [t for _, t in mv.taps] else mv.taps[0][1]
        gradient = (transposed_gradient_chart if s.mode == SlideMode.TRANSPOSED else conv1d_gradient_chart)(mv, s.oc, tap)
        return Rendered(s, None, mv, mv.meta, mv.data, mv.taps, tap, gradient, None, None, mv.sections, pattern_text(s),
                        mv.status)
    view = _cached_view(s) if custom is None else slide_view(s, custom)
    t = view.trace
    _, cg, kh, kw = t.weight.shape
    first = s.oc // (s.out_channels // s.groups) * cg
    taps = [(f"channel {first + c}, row {u}, col {v}", (c, u, v)) for c in range(cg) for u in range(kh) for v in range(kw)]
    tap = tap if tap in [t for _, t in taps] else (0, 0, 0)
    gradient = make_gradient_chart(view.gradient, oc=s.oc, channel=tap[0], tap=(tap[1], tap[2]))
    result = equivariance(t, shift, twin=view.twin)  # any shift: a strided conv commutes with few
    per = t.weight.numel() + s.out_channels
    status = (f"Slide: {t.input.shape[1]}×{t.input.shape[2]}×{t.input.shape[3]} input, {s.kernel_size}×{s.kernel_size} "
              f"kernel used at {t.positions:,} positions: Conv2d {per:,} parameters, "
              f"locally connected {per * t.positions:,}.")
    return Rendered(s, view, None, *slide_payload(t, view.twin, s.oc), taps, tap, gradient,
                    result, make_equivariance_chart(result), (), pattern_text(s), status)


def slide_panel(image: torch.Tensor | None = None, **settings) -> SlidePanel:
    """A Slide panel for a notebook, with its own state: ``slide_panel(my_tensor, kernel_size=5)``."""
    if image is not None:
        settings.setdefault("image", CUSTOM_IMAGE)
    return SlidePanel(AppState(), image=image, settings=SlideSettings(**settings) if settings else None)
