"""Roofline: achieved FLOP/s against arithmetic intensity, under the machine's two roofs.

Sharing cuts parameters, not FLOPs, yet a shared weight is *reused*: a
convolution applies one small kernel at every position, so each weight byte
fetched feeds many multiply-adds (high arithmetic intensity, compute bound);
its locally connected twin does the same multiply-adds with a different
weight at each position, so it streams a large weight tensor through memory
(low intensity, bandwidth bound). The roofline shows that difference.

How the numbers are estimated:

- FLOPs: :func:`paramshare_viz.analysis.flops.count_flops` (forward, or forward +
  backward).
- Bytes moved (:class:`BytesMoved`): every aten op of one pass is seen through a
  ``TorchDispatchMode``. View ops (``t``, ``view``, ``expand`` ...) move nothing and are
  skipped. For every other op, the bytes of each tensor it reads and of each tensor
  it writes are added (``numel * itemsize``, capped at the storage size for
  broadcast views), except parameters: the distinct parameter storages an op reads
  are counted **once** for the whole pass (weights fetched once and reused from cache,
  the ideal a shared weight allows). ``bytes_no_reuse`` counts them again at every
  op instead (no cache at all); the truth on a real machine lies between the two.
- Intensity = FLOPs / ``bytes_moved``. Achieved FLOP/s = FLOPs / median time.
- Roofs (:func:`measure_roof`): peak FLOP/s = the better of two compute-bound
  kernels, each the best of a few runs: a large square matmul (``2 n^3`` FLOPs,
  n = 2048 on CPU, 8192 on CUDA) and a 3x3 convolution with many channels (BLAS
  and the convolution library can differ a lot: MKL's matmul on an AMD CPU
  reaches about half of what oneDNN's convolution does). Bandwidth = best of a
  few copies of a tensor far larger than the last-level cache (bytes = read +
  write = ``2 * size``). Cached per device, dtype and thread count. On CUDA,
  convolutions may use TF32 (``torch.backends.cudnn.allow_tf32``, on by
  default), and so may the roof's convolution.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from paramshare_viz.bench._workload import Workload, device_name, resolve_device, synchronizer
from paramshare_viz.bench.timing import time_model

#: Problem sizes of the roof measurements: (matmul n, conv (batch, channels, side), copy bytes).
ROOF_SIZES = {"cpu": (2048, (8, 128, 32), 128 * 2**20), "cuda": (8192, (32, 256, 64), 2 * 2**30)}
ROOF_REPEATS = 3


@dataclass(frozen=True)
class Roof:
    """The machine's two ceilings, measured.

    Attributes:
        peak_flops: FLOP/s of the better compute-bound kernel (see ``peak_kernel``).
        bandwidth_bytes_per_s: bytes/s of the best large copy (read + write).
        device, device_name, dtype, threads: where and how they were measured.
        peak_kernel: ``"matmul"`` or ``"conv3x3"``, the kernel that set ``peak_flops``.
    """

    peak_flops: float
    bandwidth_bytes_per_s: float
    device: str
    device_name: str
    dtype: str = "float32"
    threads: int = 1
    peak_kernel: str = "matmul"

    @property
    def ridge_intensity(self) -> float:
        """FLOPs per byte where the two roofs meet: below it, memory bound."""
        return self.peak_flops / self.bandwidth_bytes_per_s

    def attainable(self, intensity: float) -> float:
        """``min(peak_flops, bandwidth * intensity)``: the roof above ``intensity``."""
        return min(self.peak_flops, self.bandwidth_bytes_per_s * intensity)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ridge_intensity": self.ridge_intensity}


_ROOFS: dict[tuple[str, str, int], Roof] = {}


def measure_roof(
    device: str | torch.device = "cpu", *, dtype: torch.dtype = torch.float32, refresh: bool = False
) -> Roof:
    """Measure (once per device, dtype and thread count) peak FLOP/s and memory bandwidth.

    About 1-2 s on a 2-core CPU; ``refresh=True`` measures again.
    """
    dev = resolve_device(device)
    key = (str(dev), str(dtype), torch.get_num_threads())
    if key in _ROOFS and not refresh:
        return _ROOFS[key]
    n, conv_shape, copy_bytes = ROOF_SIZES[dev.type]
    peaks = {"matmul": _matmul_flops(dev, dtype, n), "conv3x3": _conv_flops(dev, dtype, *conv_shape)}
    kernel = max(peaks, key=peaks.__getitem__)
    bandwidth = _copy_bandwidth(dev, dtype, copy_bytes)
    roof = Roof(
        peaks[kernel],
        bandwidth,
        str(dev),
        device_name(dev),
        str(dtype).removeprefix("torch."),
        key[2],
        kernel,
    )
    _ROOFS[key] = roof
    return roof


def _best_time(fn: Callable[[], Any], device: torch.device) -> float:
    """Fastest of ``ROOF_REPEATS`` timed calls after one warm-up (first touch, kernel choice)."""
    sync = synchronizer(device)
    fn()
    times = []
    for _ in range(ROOF_REPEATS):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def _matmul_flops(device: torch.device, dtype: torch.dtype, n: int) -> float:
    """FLOP/s of an ``n x n @ n x n`` matmul: ``2 n^3`` FLOPs over its best time."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    c = torch.empty(n, n, device=device, dtype=dtype)
    return 2 * n**3 / _best_time(lambda: torch.mm(a, b, out=c), device)


def _conv_flops(device: torch.device, dtype: torch.dtype, batch: int, channels: int, side: int) -> float:
    """FLOP/s of a 3x3, padding 1 convolution: ``2 * N * C_out * H * W * C_in * 9`` FLOPs over its best time."""
    x = torch.randn(batch, channels, side, side, device=device, dtype=dtype)
    w = torch.randn(channels, channels, 3, 3, device=device, dtype=dtype)
    flops = 2 * batch * channels * side * side * channels * 9
    with torch.no_grad():
        return flops / _best_time(lambda: torch.nn.functional.conv2d(x, w, padding=1), device)


def _copy_bandwidth(device: torch.device, dtype: torch.dtype, nbytes: int) -> float:
    """Bytes/s of copying ``nbytes`` into another buffer: read + write = ``2 * nbytes``."""
    src = torch.ones(nbytes // dtype.itemsize, device=device, dtype=dtype)
    dst = torch.empty_like(src)
    return 2 * src.numel() * dtype.itemsize / _best_time(lambda: dst.copy_(src), device)


def _tensor_bytes(t: torch.Tensor) -> int:
    return min(t.numel() * t.element_size(), t.untyped_storage().nbytes())


class BytesMoved(TorchDispatchMode):
    """Counts the bytes the aten ops of a pass read and write (see the module docstring).

    Args:
        params: the model's parameters; their storages are counted once per pass in
            ``bytes_moved`` and at every read in ``bytes_no_reuse``.

    Attributes:
        activation_bytes: bytes of non-parameter tensors read and written by non-view ops.
        param_bytes: unique bytes of the parameter storages that some op read.
        param_reads_bytes: parameter bytes summed over every op that read them.
        ops: number of non-view ops counted.
    """

    def __init__(self, params: list[torch.Tensor]) -> None:
        super().__init__()
        self._param_storages = {p.untyped_storage().data_ptr(): p.untyped_storage().nbytes() for p in params}
        self._touched: set[int] = set()
        self.activation_bytes = 0
        self.param_reads_bytes = 0
        self.ops = 0

    @property
    def param_bytes(self) -> int:
        return sum(self._param_storages[k] for k in self._touched)

    @property
    def bytes_moved(self) -> int:
        return self.param_bytes + self.activation_bytes

    @property
    def bytes_no_reuse(self) -> int:
        return self.param_reads_bytes + self.activation_bytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.is_view:
            return out
        self.ops += 1
        for t in tree_flatten((args, kwargs or {}))[0]:
            if not isinstance(t, torch.Tensor):
                continue
            ptr = t.untyped_storage().data_ptr()
            if ptr in self._param_storages:
                self._touched.add(ptr)
                self.param_reads_bytes += _tensor_bytes(t)
            else:
                self.activation_bytes += _tensor_bytes(t)
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.activation_bytes += _tensor_bytes(t)
        return out


@dataclass(frozen=True)
class RooflinePoint:
    """One model's place on the roofline.

    Attributes:
        label: legend text, e.g. ``"conv (shared)"``.
        kind: ``"shared"``, ``"unshared"`` or anything else (sets the colour).
        flops: FLOPs of the pass (count_flops).
        bytes_moved: parameters once + activations read and written by every op.
        bytes_no_reuse: parameters counted at every op that reads them.
        time_s: median seconds of the pass.
        backward: whether the pass is forward + backward.
    """

    label: str
    kind: str
    flops: int
    bytes_moved: int
    bytes_no_reuse: int
    time_s: float
    backward: bool = False

    @property
    def intensity(self) -> float:
        """FLOPs per byte moved."""
        return self.flops / self.bytes_moved if self.bytes_moved else float("inf")

    @property
    def achieved_flops(self) -> float:
        """FLOP/s achieved: ``flops / time_s``."""
        return self.flops / self.time_s if self.time_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "intensity": self.intensity, "achieved_flops": self.achieved_flops}


def count_bytes(
    model: nn.Module, example_input: Any, *, device: str | torch.device = "cpu", backward: bool = False
) -> BytesMoved:
    """Run one pass of ``model`` (the pass that is timed) under :class:`BytesMoved`."""
    work = Workload.make(model, example_input, device)
    with BytesMoved(list(model.parameters())) as moved:
        (work.backward if backward else work.forward)()
    work.clear_grads()
    return moved


def roofline_point(
    model: nn.Module,
    example_input: Any,
    *,
    device: str | torch.device = "cpu",
    backward: bool = False,
    label: str = "",
    kind: str = "",
    flops: int | None = None,
    time_s: float | None = None,
    **timing: Any,
) -> RooflinePoint:
    """Place ``model`` on the roofline: FLOPs, bytes moved, median time.

    Args:
        flops: FLOPs of the pass if already counted; else ``count_flops`` runs.
        time_s: median seconds of the pass if already timed; else ``time_model`` runs
            with ``timing`` (``min_runs``, ``min_time_s`` ...).
    """
    work = Workload.make(model, example_input, device)
    if flops is None:
        from paramshare_viz.analysis.flops import count_flops

        count = count_flops(model, work.inputs, backward=backward)
        flops = count.forward + ((count.backward or 0) if backward else 0)
    moved = count_bytes(model, work.inputs, device=device, backward=backward)
    if time_s is None:
        result = time_model(model, example_input, device=device, backward=backward, **timing)
        stats = result.backward if backward else result.forward
        assert stats is not None  # time_model times the backward pass when asked
        time_s = stats.median_s
    return RooflinePoint(
        label=label,
        kind=kind,
        flops=int(flops),
        bytes_moved=moved.bytes_moved,
        bytes_no_reuse=moved.bytes_no_reuse,
        time_s=time_s,
        backward=backward,
    )
