"""The hops of one Explore change: which package functions run, in order, and what they make.

Types ``5`` into conv's kernel_size box the way the tests do
(``make_dashboard().tabs.panel("Explore").editor.inputs["kernel_size"]``), with a
profiler (``sys.setprofile`` and ``threading.setprofile``, so the worker's thread
shows too) that records every call of a ``paramshare_viz`` function down to
``--depth`` package frames below the change, and prints them indented by depth,
repeats of one line folded into ``×N``. Then the configs constructed and the
models built by that one change.

    .venv/bin/python benchmarks/bench_hops.py [--depth 3]
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import paramshare_viz
from paramshare_viz.app import make_dashboard
from paramshare_viz.models import registry
from paramshare_viz.units import plural

PACKAGE = str(Path(paramshare_viz.__file__).parent)


def record(depth_limit: int) -> tuple[dict[str, list[str]], Callable[..., None]]:
    """``(hops, profile)``: ``profile`` adds a line per package call within the limit to ``hops[thread]``.

    Lambdas and comprehensions are transparent: what they call shows at their caller's depth.
    """
    hops: dict[str, list[str]] = {}
    local = threading.local()

    def profile(frame: FrameType, event: str, _arg: object) -> None:
        code = frame.f_code
        if event not in ("call", "return") or not code.co_filename.startswith(PACKAGE):
            return
        stack = local.__dict__.setdefault("stack", [])  # per thread: did each open package frame count?
        if event == "return":
            if stack:
                stack.pop()
            return
        counts = not code.co_name.startswith("<")
        depth = sum(stack)
        if counts and depth < depth_limit:
            module = code.co_filename[len(PACKAGE) + 1:].removesuffix(".py").replace("/", ".")
            thread = "kernel thread" if threading.current_thread() is threading.main_thread() else "worker thread"
            hops.setdefault(thread, []).append(f"{'  ' * depth}{module}.{code.co_qualname}")
        stack.append(counts)

    return hops, profile


def folded(lines: list[str]) -> list[str]:
    """``lines`` (indented by depth) with runs of identical sibling calls, their calls included, as one ``×N``."""
    def indent(line: str) -> int:
        return len(line) - len(line.lstrip())

    def render(start: int, end: int) -> list[str]:  # lines[start:end]: siblings with their calls below them
        runs: list[tuple[list[str], int]] = []
        i = start
        while i < end:
            j = i + 1
            while j < end and indent(lines[j]) > indent(lines[i]):
                j += 1
            block = [lines[i], *render(i + 1, j)]
            runs[-1:] = [(block, runs[-1][1] + 1)] if runs and runs[-1][0] == block else [*runs[-1:], (block, 1)]
            i = j
        return [line for block, n in runs for line in [block[0] + (f"  ×{n}" if n > 1 else ""), *block[1:]]]

    return render(0, len(lines))


def counted(made: Counter, key: str, fn):
    def wrapper(*args, **kwargs):
        made[key] += 1
        return fn(*args, **kwargs)

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=5, help="package frames below the change to show")
    args = parser.parse_args()
    panel = make_dashboard().tabs.panel("Explore")
    box = panel.editor.inputs["kernel_size"]

    made: Counter = Counter()
    for form in registry.names():
        spec = registry.get(form)
        spec.config_cls.__init__ = counted(made, "configs", spec.config_cls.__init__)
        object.__setattr__(spec, "build", counted(made, "models", spec.build))  # Form is frozen

    hops, profile = record(args.depth)
    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        box.value = "5"
        panel.worker.wait()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]  # typeshed omits None
    for thread, lines in hops.items():
        print(f"{thread}:")
        print("\n".join("  " + line for line in folded(lines)))
    print(f"\none kernel_size change: {plural(made['configs'], 'config')} constructed, "
          f"{plural(made['models'], 'model')} built")


if __name__ == "__main__":
    main()
