"""Images and kernels to slide: real digits bundled with scikit-learn, generated shapes, kernel presets.

Nothing here downloads: the digits are the file that ``sklearn.datasets.load_digits``
reads, shipped inside scikit-learn (1,797 handwritten digits, 8x8, values 0-16).
"""

from __future__ import annotations

import enum
import functools
import importlib.util
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

MAX_SIZE = 64  # pixels per side the Slide tab animates


class Image(enum.StrEnum):
    DIGIT = "digit"  # a real handwritten digit (scikit-learn), upsampled to the size
    SHAPES = "shapes"  # a disc, a square and a triangle
    CHECKERBOARD = "checkerboard"


class KernelPreset(enum.StrEnum):
    EDGE = "edge"  # Sobel-style horizontal derivative: responds to vertical edges
    BLUR = "blur"  # binomial (Gaussian-like) average
    SHARPEN = "sharpen"  # 2 * identity - blur
    RANDOM = "random"  # as nn.Conv2d initialises (seeded)


@functools.lru_cache(maxsize=1)
def _digits_table() -> np.ndarray:
    """scikit-learn's ``digits.csv.gz``: 1,797 rows of 64 pixels (0-16) and the label.

    Read straight from the installed package, which is what ``load_digits`` does
    too, without importing ``sklearn.datasets`` (seconds on a busy machine,
    while a visitor waits for the Slide tab).
    """
    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.exists():
        return np.loadtxt(path, delimiter=",", dtype=np.float32)
    from sklearn.datasets import load_digits  # another layout: the public loader

    bunch = load_digits()
    return np.hstack([bunch.data, bunch.target[:, None]]).astype(np.float32)


def _digits() -> torch.Tensor:
    return torch.from_numpy(_digits_table()[:, :64]).view(-1, 8, 8) / 16.0  # (1797, 8, 8) in [0, 1]


def _check(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name}={value!r} must be an integer from {low} to {high}")


def digit(index: int = 0, size: int = 8) -> torch.Tensor:
    """Handwritten digit ``index`` of scikit-learn's bundled set, ``(size, size)`` in [0, 1].

    ``size=8`` is the original; other sizes are bilinear resamples.
    """
    images = _digits()
    _check("index", index, 0, len(images) - 1)
    _check("size", size, 3, MAX_SIZE)
    img = images[index]
    if size == 8:
        return img.clone()
    return F.interpolate(img[None, None], size=(size, size), mode="bilinear", align_corners=False)[0, 0].clamp(0, 1)


def digit_label(index: int) -> int:
    """The digit (0-9) that image ``index`` shows."""
    table = _digits_table()
    _check("index", index, 0, len(table) - 1)
    return int(table[index, 64])


def shapes(size: int) -> torch.Tensor:
    """A disc, a square and a triangle on a dark background: ``(3, size, size)``, one shape per channel."""
    _check("size", size, 3, MAX_SIZE)
    y, x = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    s = size
    disc = ((y - 0.3 * s) ** 2 + (x - 0.3 * s) ** 2 <= (0.2 * s) ** 2).float()
    square = ((y - 0.65 * s).abs() <= 0.17 * s) & ((x - 0.7 * s).abs() <= 0.17 * s)
    triangle = (y >= 0.5 * s) & (y <= 0.9 * s) & ((x - 0.3 * s).abs() <= (y - 0.5 * s) * 0.5)
    return torch.stack([disc, square.float(), triangle.float()])


def checkerboard(size: int, squares: int = 4) -> torch.Tensor:
    """``squares x squares`` black and white cells: ``(size, size)`` in {0, 1}."""
    _check("size", size, 3, MAX_SIZE)
    cell = torch.arange(size) * squares // size
    return ((cell[:, None] + cell[None, :]) % 2).float()


def sample_image(name: str, *, size: int = 16, channels: int = 1, index: int = 0) -> torch.Tensor:
    """One of :class:`Image`, ``(channels, size, size)`` in [0, 1].

    Args:
        name (str): ``"digit"``, ``"shapes"`` or ``"checkerboard"``.
        size (int): pixels per side, 3 to 64. Default: 16.
        channels (int): 1 (grey) or 3 (RGB). Default: 1.
        index (int): which digit (0-1796). Default: 0.

    Three channels differ from each other, so ``groups`` and depthwise kernels
    have something to separate: the digit is orange on blue, each shape has its
    own channel, the checkerboard's two colours use all three.
    """
    if name not in set(Image):
        raise ValueError(f"image={name!r} must be one of {', '.join(Image)}")
    if channels not in (1, 3):
        raise ValueError(f"channels={channels!r} must be 1 or 3")
    if name == Image.DIGIT:
        grey = digit(index, size)
        if channels == 1:
            return grey[None]
        ink, paper = torch.tensor([1.0, 0.6, 0.15]), torch.tensor([0.1, 0.25, 0.6])
        return grey[None] * ink[:, None, None] + (1 - grey[None]) * paper[:, None, None]
    if name == Image.SHAPES:
        rgb = shapes(size)
        return rgb.amax(0, keepdim=True) if channels == 1 else rgb
    board = checkerboard(size)
    if channels == 1:
        return board[None]
    a, b = torch.tensor([0.95, 0.85, 0.2]), torch.tensor([0.15, 0.3, 0.7])
    return board[None] * a[:, None, None] + (1 - board[None]) * b[:, None, None]


def _binomial(k: int) -> torch.Tensor:
    row = torch.tensor([math.comb(k - 1, i) for i in range(k)], dtype=torch.float32)
    return row / row.sum()


def _pattern_smoothing(preset: str, size: int) -> torch.Tensor:
    """The binomial row behind every fixed pattern, once ``preset`` and ``size`` are checked."""
    if preset not in set(KernelPreset) or preset == KernelPreset.RANDOM:
        raise ValueError(f"kernel={preset!r} must be one of edge, blur, sharpen")
    _check("kernel_size", size, 1, 15)
    return _binomial(size)


def kernel_pattern(preset: str, size: int) -> torch.Tensor:
    """A ``(size, size)`` kernel for ``"edge"``, ``"blur"`` or ``"sharpen"`` (see :class:`KernelPreset`)."""
    smooth = _pattern_smoothing(preset, size)
    if preset == KernelPreset.BLUR:
        return torch.outer(smooth, smooth)
    identity = torch.zeros(size, size)
    identity[size // 2, size // 2] = 1.0
    if preset == KernelPreset.SHARPEN or size == 1:
        return 2 * identity - torch.outer(smooth, smooth)
    slope = torch.linspace(-1.0, 1.0, size)  # left dark, right bright: positive
    return torch.outer(smooth * 4, slope)  # 3x3: Sobel's [1, 2, 1] x [-1, 0, 1]


def weight_from_pattern(pattern: torch.Tensor, out_channels: int, in_per_group: int) -> torch.Tensor:
    """A ``(C_out, C_in/g, kH, kW)`` weight from a 2-D ``pattern``.

    Output channel ``o`` uses the pattern rotated by ``o`` quarter turns (an edge
    kernel then finds edges in four directions; square patterns only), split
    evenly over the input channels it reads, so an RGB image gives the response
    of its grey version.
    """
    square = pattern.shape[0] == pattern.shape[1]
    turns = [torch.rot90(pattern, o % 4 if square else 2 * (o % 2), dims=(0, 1)) for o in range(out_channels)]
    return (torch.stack(turns)[:, None] / in_per_group).expand(-1, in_per_group, -1, -1).contiguous()


def preset_weight(preset: str, size: int, out_channels: int, in_per_group: int, *, seed: int = 0) -> torch.Tensor:
    """``(C_out, C_in/g, size, size)`` for a :class:`KernelPreset`; ``"random"`` as ``nn.Conv2d`` initialises (seeded)."""
    if preset == KernelPreset.RANDOM:
        _check("kernel_size", size, 1, 15)
        gen = torch.Generator().manual_seed(seed)
        bound = 1 / math.sqrt(in_per_group * size * size)
        return (torch.rand(out_channels, in_per_group, size, size, generator=gen) * 2 - 1) * bound
    return weight_from_pattern(kernel_pattern(preset, size), out_channels, in_per_group)


def kernel_row(preset: str, size: int) -> torch.Tensor:
    """A 1-D ``(size,)`` kernel: ``"edge"`` a slope (a derivative), ``"blur"`` binomial, ``"sharpen"`` 2δ − blur."""
    smooth = _pattern_smoothing(preset, size)
    if preset == KernelPreset.BLUR:
        return smooth
    identity = torch.zeros(size)
    identity[(size - 1) // 2] = 1.0
    if preset == KernelPreset.SHARPEN or size == 1:
        return 2 * identity - smooth
    return torch.linspace(-1.0, 1.0, size)  # rising inputs give a positive output


def preset_weight_1d(preset: str, size: int, out_channels: int, in_per_group: int, *, seed: int = 0) -> torch.Tensor:
    """``(C_out, C_in/g, size)`` for a :class:`KernelPreset`; odd output channels get the row reversed."""
    if preset == KernelPreset.RANDOM:
        _check("kernel_size", size, 1, 15)
        gen = torch.Generator().manual_seed(seed)
        bound = 1 / math.sqrt(in_per_group * size)
        return (torch.rand(out_channels, in_per_group, size, generator=gen) * 2 - 1) * bound
    return weight_from_pattern(kernel_row(preset, size)[None], out_channels, in_per_group)[:, :, 0]


def sample_sequence(name: str, *, size: int = 16, channels: int = 1, index: int = 0) -> torch.Tensor:
    """``(channels, size)``: the middle row of :func:`sample_image` (row ``size // 2``), a sequence in time."""
    return sample_image(name, size=size, channels=channels, index=index)[:, size // 2, :]
