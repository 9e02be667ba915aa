"""The kernel-sliding animation: an anywidget whose canvas front end ships in ``app/static/``.

Python sends one setting's data once (:func:`slide_payload`); the browser animates
every frame itself, so playing never waits on the kernel.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import numpy as np
import torch
import traitlets

from paramshare_viz.conv_variants import LocalTwin1d, TransposedConvTrace
from paramshare_viz.models.conv import LocallyConnected2d
from paramshare_viz.sliding import ConvTrace

STATIC = Path(__file__).parent / "static"


def slide_payload(
    trace: ConvTrace, twin: LocallyConnected2d | LocalTwin1d, oc: int, *, n: int = 0,
    real: torch.Tensor | None = None, label: str = "Conv2d",
) -> tuple[dict, bytes]:
    """``(meta, data)`` for output channel ``oc`` of image ``n``: what the front end draws.

    ``data`` is float32 arrays back to back; ``meta["arrays"]`` gives each one's
    ``[offset, length]`` in floats: the padded input ``(C, Hp, Wp)``, a mask of real
    (non-padding) pixels ``(Hp, Wp)``, the kernel of ``oc`` ``(C/g, kH, kW)``, the
    conv's output ``(H_out, W_out)``, and the twin's kernels ``(L, C/g, kH, kW)``,
    biases ``(L,)`` and output ``(H_out, W_out)`` for ``oc``.

    A 1-D conv is drawn as a trace of height 1 (``Conv1dTrace.trace2d``) with ``real`` marking
    its padding (the causal conv's is on the left only) and ``label`` naming the layer.
    """
    c_out, cg, kh, kw = trace.weight.shape
    h_out, w_out = trace.output_size
    first = oc // (c_out // trace.groups) * cg
    padded = trace.padded[n]
    if isinstance(twin, LocalTwin1d):
        twin_out = twin.output[n, oc]
    else:
        with torch.no_grad():
            twin_out = twin(trace.padded[n : n + 1])[0, oc]
    arrays = {
        "padded": padded,
        "real": _inside(trace) if real is None else real,
        "kernel": trace.weight[oc],
        "output": trace._output[n, oc],
        "twin_kernels": twin.weight[:, oc],
        "twin_bias": twin.bias[:, oc] if twin.bias is not None else torch.zeros(h_out * w_out),
        "twin_output": twin_out,
    }
    offsets, data = _pack(arrays)
    bias = float(trace.bias[oc]) if trace.bias is not None else 0.0
    per_position = c_out * cg * kh * kw + (c_out if trace.bias is not None else 0)
    meta = {
        "C": int(padded.shape[0]), "H": int(trace.input.shape[2]), "W": int(trace.input.shape[3]),
        "Hp": int(padded.shape[1]), "Wp": int(padded.shape[2]), "kh": kh, "kw": kw, "cg": cg, "first": first,
        "oc": oc, "Ho": h_out, "Wo": w_out, "stride": list(trace.stride), "dilation": list(trace.dilation),
        "padding": list(trace.padding), "padding_mode": trace.padding_mode, "bias": bias,
        "input_range": [float(padded.min()), float(padded.max())],
        "shared_params": per_position,  # the conv's kernel (all output channels) and bias
        "twin_params_per_position": per_position,
        "mode": "gather", "label": label, "L": h_out * w_out, "Pw": w_out,
        "arrays": offsets,
    }
    return meta, data


def _pack(arrays: dict[str, torch.Tensor]) -> tuple[dict[str, list[int]], bytes]:
    """float32 arrays back to back, and each one's ``[offset, length]`` in floats."""
    offsets, chunks, at = {}, [], 0
    for name, tensor in arrays.items():
        flat = tensor.detach().reshape(-1).to(torch.float32).numpy()
        offsets[name] = [at, int(flat.size)]
        chunks.append(flat)
        at += flat.size
    return offsets, np.concatenate(chunks).astype("<f4").tobytes()


def scatter_payload(trace: TransposedConvTrace, oc: int, *, n: int = 0) -> tuple[dict, bytes]:
    """``(meta, data)`` for a transposed conv: the animation walks *input* positions, scattering.

    Arrays: the input ``(C_in, H, W)`` (``padded``, no padding on this side), ``real`` (all ones),
    the kernel copies that write output channel ``oc``, ``weight[first:first+C_in/g, oc % (C_out/g)]``
    ``(C_in/g, kH, kW)``, and the output ``(H_out, W_out)``. The browser adds ``value * kernel`` at
    rows ``i*s + u*d - p`` and columns ``j*s + v*d - p`` for each input cell, in order.
    """
    c_in, c_out_g, kh, kw = trace.weight.shape
    cg = c_in // trace.groups
    first, local = oc // c_out_g * cg, oc % c_out_g
    x = trace.input[n]
    h, w = trace.input_size
    ho, wo = trace.output_size
    offsets, data = _pack({
        "padded": x, "real": torch.ones(h, w), "kernel": trace.weight[first : first + cg, local],
        "output": trace._output[n, oc],
    })
    per_position = trace.weight.numel() + (trace.weight.shape[1] * trace.groups if trace.bias is not None else 0)
    meta = {
        "mode": "scatter", "label": "ConvTranspose2d", "C": c_in, "H": h, "W": w, "Hp": h, "Wp": w, "kh": kh, "kw": kw,
        "cg": cg, "first": first, "oc": oc, "Ho": ho, "Wo": wo, "stride": list(trace.stride),
        "dilation": list(trace.dilation), "padding": list(trace.padding), "padding_mode": "zeros",
        "bias": float(trace.bias[oc]) if trace.bias is not None else 0.0,
        "input_range": [float(x.min()), float(x.max())],
        "shared_params": per_position, "twin_params_per_position": per_position,  # a kernel and bias per input position
        "L": h * w, "Pw": w, "arrays": offsets,
    }
    return meta, data


def _inside(trace: ConvTrace) -> torch.Tensor:
    """1 on the image, 0 on the padding ring (which holds copies for reflect/replicate/circular)."""
    ph, pw = trace.padding
    mask = torch.zeros(trace.padded.shape[-2:])
    mask[ph : mask.shape[0] - ph, pw : mask.shape[1] - pw] = 1
    return mask


class SlideWidget(anywidget.AnyWidget):
    """Canvas animation of one conv layer sliding, beside its locally connected twin.

    Set both traits at once (``with widget.hold_sync():``); the front end redraws
    when ``data`` changes. Play, pause, step, speed and click-to-jump run in the browser.
    """

    _esm = STATIC / "slide.js"
    _css = STATIC / "slide.css"
    meta = traitlets.Dict().tag(sync=True)
    data = traitlets.Bytes(b"").tag(sync=True)

    def send_payload(self, meta: dict, data: bytes) -> None:
        """Show one payload of :func:`slide_payload` or :func:`scatter_payload`."""
        with self.hold_sync():
            self.meta = meta
            self.data = data
