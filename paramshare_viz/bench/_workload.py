"""Turn ``(model, example_input)`` into the callables every measurement times.

One place decides what "forward", "forward + backward" and "optimizer step"
mean, so timing, measured memory and the roofline all run the same work:

- forward: ``model(*inputs)`` under ``torch.no_grad()`` (inference);
- backward: grads set to ``None``, ``model(*inputs)``, loss = sum of every
  floating-point output element, ``loss.backward()``;
- step: ``optimizer.zero_grad(set_to_none=True)``, forward, loss, backward,
  ``optimizer.step()``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import platform
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

OptimizerSpec = str | Callable[[list[nn.Parameter]], torch.optim.Optimizer]

#: Optimizers known by name; the learning rate only matters for what the step writes.
OPTIMIZERS: dict[str, Callable[[list[nn.Parameter]], torch.optim.Optimizer]] = {
    "sgd": lambda params: torch.optim.SGD(params, lr=1e-3),
    "adam": lambda params: torch.optim.Adam(params, lr=1e-3),
}


def resolve_device(device: str | torch.device) -> torch.device:
    """``torch.device(device)`` for timing: CPU or CUDA, refused in plain words otherwise."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device={device!r} is not a device; use 'cpu' or 'cuda'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r}: no CUDA GPU is available here; use device='cpu'")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device={str(device)!r}: only 'cpu' and 'cuda' can be timed or measured")
    return dev


def synchronizer(device: torch.device) -> Callable[[], None]:
    """A function that waits for queued work on ``device`` (a no-op on CPU)."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def device_name(device: torch.device) -> str:
    """Human name of the device: the GPU name, or the CPU model from /proc/cpuinfo."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def environment(device: str | torch.device = "cpu") -> dict[str, Any]:
    """Where a measurement runs: ``device``, ``device_name``, ``torch_version``, ``threads``."""
    dev = resolve_device(device)
    return {
        "device": str(dev),
        "device_name": device_name(dev),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def record_dict(record: Any) -> dict[str, Any]:
    """A result dataclass as plain data; nested results convert through their own ``to_dict``."""
    out = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        out[f.name] = value.to_dict() if hasattr(value, "to_dict") else value
    return out


@contextlib.contextmanager
def fixed_threads(threads: int | None) -> Iterator[int]:
    """Hold ``torch.set_num_threads(threads)`` for the block (``None`` keeps the current count).

    Yields the intra-op thread count in force, and restores the old one afterwards.
    """
    old = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads={threads!r} must be at least 1")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(old)


def to_device(example_input: Any, device: torch.device) -> Any:
    """``example_input`` with every tensor in it (tensor, tuple, list, dict) moved to ``device``."""
    if isinstance(example_input, torch.Tensor):
        return example_input.to(device)
    if isinstance(example_input, Mapping):
        return {k: to_device(v, device) for k, v in example_input.items()}
    if isinstance(example_input, tuple | list):
        return type(example_input)(to_device(x, device) for x in example_input)
    return example_input


def cast_floating(example_input: Any, dtype: torch.dtype | None) -> Any:
    """``example_input`` with its floating-point tensors cast to ``dtype``; token ids stay integers."""
    if dtype is None:
        return example_input
    if isinstance(example_input, torch.Tensor):
        return example_input.to(dtype) if example_input.is_floating_point() else example_input
    if isinstance(example_input, Mapping):
        return {k: cast_floating(v, dtype) for k, v in example_input.items()}
    if isinstance(example_input, tuple | list):
        return type(example_input)(cast_floating(x, dtype) for x in example_input)
    return example_input


def as_args(example_input: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(args, kwargs)`` for ``model(*args, **kwargs)``.

    A tensor is one positional argument, a tuple/list are positional arguments,
    a mapping is keyword arguments.
    """
    if isinstance(example_input, Mapping):
        return (), dict(example_input)
    if isinstance(example_input, tuple | list):
        return tuple(example_input), {}
    return (example_input,), {}


def floating_tensors(out: Any) -> list[torch.Tensor]:
    """Every floating-point tensor in a model output (tensor, tuple, list, dict, ``to_tuple()``)."""
    if isinstance(out, torch.Tensor):
        return [out] if out.is_floating_point() or out.is_complex() else []
    if isinstance(out, Mapping):
        return [t for v in out.values() for t in floating_tensors(v)]
    if isinstance(out, tuple | list):
        return [t for v in out for t in floating_tensors(v)]
    if hasattr(out, "to_tuple"):  # Hugging Face ModelOutput
        return floating_tensors(out.to_tuple())
    return []


def scalar_loss(out: Any) -> torch.Tensor:
    """Sum of every element of every floating-point output: the loss whose backward is timed."""
    tensors = [t for t in floating_tensors(out) if t.requires_grad]
    if not tensors:
        raise ValueError(
            "the model's output does not depend on any trainable parameter, so there is no backward "
            "pass to measure; use backward=False"
        )
    loss = tensors[0].sum()
    for t in tensors[1:]:
        loss = loss + t.sum()
    return loss.real if loss.is_complex() else loss


def make_optimizer(spec: OptimizerSpec, model: nn.Module) -> torch.optim.Optimizer:
    """An optimizer over the trainable parameters of ``model`` from a name or a factory."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters, so there is no optimizer step to time")
    if isinstance(spec, str):
        try:
            return OPTIMIZERS[spec.lower()](params)
        except KeyError:
            raise ValueError(
                f"optimizer={spec!r}: choose one of {sorted(OPTIMIZERS)} or pass a factory"
            ) from None
    if callable(spec):
        return spec(params)
    raise ValueError(f"optimizer={spec!r}: pass a name {sorted(OPTIMIZERS)} or a factory params -> Optimizer")


@dataclass
class Workload:
    """A model and its input on one device, with the three callables to measure.

    The model is moved to ``device`` in place (``nn.Module.to``); the input is copied there.
    """

    model: nn.Module
    inputs: Any  # the example input, on ``device``
    device: torch.device
    args: tuple[Any, ...] = field(init=False)
    kwargs: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.args, self.kwargs = as_args(self.inputs)

    @classmethod
    def make(cls, model: nn.Module, example_input: Any, device: str | torch.device) -> Workload:
        dev = resolve_device(device)
        if any(p.is_meta for p in model.parameters()):
            raise ValueError(
                "the model is on the meta device (no data); build it on 'cpu' or 'cuda' to measure"
            )
        model.to(dev)
        return cls(model, to_device(example_input, dev), dev)

    def forward(self) -> None:
        with torch.no_grad():
            self.model(*self.args, **self.kwargs)

    def clear_grads(self) -> None:
        for p in self.model.parameters():
            p.grad = None

    def backward(self) -> None:
        self.clear_grads()
        scalar_loss(self.model(*self.args, **self.kwargs)).backward()

    def step_fn(self, optimizer: torch.optim.Optimizer) -> Callable[[], None]:
        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            scalar_loss(self.model(*self.args, **self.kwargs)).backward()
            optimizer.step()

        return step

    @contextlib.contextmanager
    def restoring_parameters(self) -> Iterator[None]:
        """Put the parameters (and grads) back as they were after optimizer steps ran."""
        saved = [(p, p.detach().clone()) for p in self.model.parameters()]
        try:
            yield
        finally:
            with torch.no_grad():
                for p, value in saved:
                    p.copy_(value)
            self.clear_grads()
