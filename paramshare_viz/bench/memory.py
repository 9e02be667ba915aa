"""Measured peak memory of one forward (+ backward) pass, on CPU or CUDA.

Both methods report the same quantities, so CPU and GPU figures compare:

- ``baseline_bytes``: what the pass starts with, computed from storages: the
  unique bytes of the model's parameters and buffers plus the input tensors
  (each storage counted once, so tied weights count once).
- ``pass_peak_bytes``: the most bytes the pass itself held at once above that
  baseline: activations saved for backward, temporaries, gradients.
- ``peak_bytes = baseline_bytes + pass_peak_bytes``.

``method`` says how ``pass_peak_bytes`` was measured:

- ``"cuda.max_memory_allocated"``: ``torch.cuda.max_memory_allocated`` after
  ``reset_peak_memory_stats``, minus ``memory_allocated`` before the pass (the
  caching allocator rounds each block up to 512 bytes). One warm-up pass runs
  first so that one-off allocations (cuBLAS workspace) do not count.
- ``"dispatch-tracked tensors"`` (CPU): a ``TorchDispatchMode`` sees every
  aten op of the pass; each output that is freshly allocated (not a view, not
  written in place) adds its storage's bytes to a live total, and a
  ``weakref.finalize`` on the storage subtracts them when it is freed. The
  peak of that total is the figure. Memory that bypasses the dispatcher
  (oneDNN scratch space, the allocator's own overhead) is not seen.
"""

from __future__ import annotations

import weakref
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from paramshare_viz.bench._workload import Workload

CUDA_METHOD = "cuda.max_memory_allocated"
CPU_METHOD = "dispatch-tracked tensors"


@dataclass(frozen=True)
class PeakMemory:
    """Peak memory of one pass; see the module docstring for the exact definitions.

    Attributes:
        peak_bytes: ``baseline_bytes + pass_peak_bytes``.
        baseline_bytes: unique bytes of parameters, buffers and inputs.
        pass_peak_bytes: most bytes allocated by the pass and alive at once.
        method: ``"cuda.max_memory_allocated"`` or ``"dispatch-tracked tensors"``.
        backward: whether the pass included the backward of ``sum(outputs)``.
        device: where it ran.
    """

    peak_bytes: int
    baseline_bytes: int
    pass_peak_bytes: int
    method: str
    backward: bool
    device: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LiveTensorBytes(TorchDispatchMode):
    """Tracks bytes of tensor storages allocated by aten ops while the mode is active.

    Attributes:
        live: bytes allocated under the mode and not yet freed.
        peak: the most ``live`` has been.
        allocations: number of storages counted.

    >>> with LiveTensorBytes() as mem:
    ...     y = torch.ones(4, 16) @ torch.ones(16, 8)
    >>> mem.peak  # ones 4*16*4 = 256, ones 16*8*4 = 512, product 4*8*4 = 128
    896
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self.allocations = 0
        self._tracked: set[int] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.is_view or any(r.alias_info is not None for r in func._schema.returns):
            return out  # views and in-place/out= results reuse an existing storage
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                self._track(t.untyped_storage())
        return out

    def _track(self, storage: torch.UntypedStorage) -> None:
        key = id(storage)  # the storage's Python object lives exactly as long as the storage
        if key in self._tracked:
            return
        nbytes = storage.nbytes()
        self._tracked.add(key)
        self.allocations += 1
        self.live += nbytes
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self._free, key, nbytes)

    def _free(self, key: int, nbytes: int) -> None:
        if key in self._tracked:
            self._tracked.discard(key)
            self.live -= nbytes


def unique_storage_bytes(*tensors: torch.Tensor) -> int:
    """Bytes of the distinct storages behind ``tensors`` (a storage shared by several counts once)."""
    seen: dict[tuple[str, int], int] = {}
    for t in tensors:
        if t.device.type == "meta":
            continue
        st = t.untyped_storage()
        seen[(str(t.device), st.data_ptr())] = st.nbytes()
    return sum(seen.values())


def measure_peak_memory(
    model: nn.Module, example_input: Any, *, device: str | torch.device = "cpu", backward: bool = True
) -> PeakMemory:
    """Peak bytes of one forward (and backward) pass of ``model`` on ``device``.

    The pass is the one :func:`~paramshare_viz.bench.time_model` times: forward under
    ``no_grad`` when ``backward=False``, else forward + ``sum(outputs).backward()`` starting
    from ``grad = None``. Grads are cleared again afterwards. The model moves to ``device``
    in place.
    """
    work = Workload.make(model, example_input, device)
    run = work.backward if backward else work.forward
    tensors = [*model.parameters(), *model.buffers()]
    tensors += [x for x in (*work.args, *work.kwargs.values()) if isinstance(x, torch.Tensor)]
    baseline = unique_storage_bytes(*tensors)
    if work.device.type == "cuda":
        run()  # warm-up: cuBLAS/cuDNN workspaces are allocated once and kept
        work.clear_grads()
        torch.cuda.synchronize(work.device)
        before = torch.cuda.memory_allocated(work.device)
        torch.cuda.reset_peak_memory_stats(work.device)
        run()
        torch.cuda.synchronize(work.device)
        pass_peak = torch.cuda.max_memory_allocated(work.device) - before
        method = CUDA_METHOD
    else:
        with LiveTensorBytes() as mem:
            run()
        pass_peak = mem.peak
        method = CPU_METHOD
    work.clear_grads()
    return PeakMemory(
        peak_bytes=baseline + pass_peak,
        baseline_bytes=baseline,
        pass_peak_bytes=pass_peak,
        method=method,
        backward=backward,
        device=str(work.device),
    )
