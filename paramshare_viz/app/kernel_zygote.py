"""The zygote: one process per dashboard server, torch and the app imported once, forked per kernel.

A dashboard kernel spends most of its start importing (torch alone is ~2 CPU-seconds and
~190 MiB, 128 MiB of it private to each kernel). The zygote imports all of it once
(:data:`PRELOAD`), then forks a child per kernel request: the child starts ipykernel on the
connection file Jupyter wrote, and shares the imported pages with the zygote and every other
kernel until it writes to them (copy on write).

What makes the fork safe, and what this module keeps true:

- no zmq context exists in the zygote (importing ``zmq``/``ipykernel`` creates none; each
  child makes its own in ``IPKernelApp.initialize``): a context's I/O threads and sockets do
  not survive a fork;
- torch has run no parallel operation (its OpenMP/intra-op pool is created at the first
  one; a pool made before a fork leaves the child's unusable), so importing is all it does;
- the zygote runs one thread (no executor, no worker) when it forks;
- ``gc.freeze()`` after the imports: the collector no longer walks (and writes to) the
  imported objects, so a child's garbage collection does not copy the shared pages.

Protocol (with :mod:`paramshare_viz.app.kernel_fork`, the server's side): the server holds
one end of a ``SOCK_SEQPACKET`` pair, the zygote the other (its ``argv[1]``). The zygote sends
``ready`` once imported. Each request is one JSON message ``{"argv", "env", "cwd"}`` carrying
one end of a fresh socket pair (the kernel's channel); on it the zygote answers
``pid N`` with the child's pidfd, and later ``exit N`` when it reaps the child. The zygote
exits when the server's end closes (the server is gone).

Run by path, ``python -P kernel_zygote.py FD ROOM`` (``ROOM``, blanks, reserves command line
that each child rewrites to its kernel's: ``ps`` and ``psutil`` show ``... ipykernel_launcher
-f .../kernel-<id>.json``, as for a kernel Jupyter starts itself).
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import traceback
from typing import NoReturn

#: What a dashboard kernel imports before its first view is drawn (the first view's own
#: modules included: tests/test_first_view.py keeps that list short).
PRELOAD = (
    "zmq",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipywidgets",
    "torch",
    "paramshare_viz.app",
    "paramshare_viz.app.explore",
    "plotly.graph_objects",
)

#: Bytes of command line the zygote reserves for its children's (kernel_fork passes this many blanks).
ROOM = 1024

#: The biggest request the zygote reads (argv, a kernel's environment and its cwd, as JSON).
MAX_REQUEST = 1 << 20


def preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    gc.freeze()  # the imported objects move to a generation the collector never scans


def set_cmdline(argv: list[str]) -> None:
    """Rewrite this process's command line (what ``/proc/self/cmdline`` shows) in place.

    The kernel's text goes into the zygote's argument area (``arg_start``..``arg_end`` in
    ``/proc/self/stat``, fields 48 and 49), cut to fit, the rest zeroed.
    """
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # fields[0] is field 3 (state)
    start, end = int(fields[48 - 3]), int(fields[49 - 3])
    text = "\0".join(argv).encode()[: end - start - 1]
    ctypes.memmove(start, text.ljust(end - start, b"\0"), end - start)


def become_kernel(request: dict, close: list) -> NoReturn:
    """In the forked child: the kernel Jupyter asked for (``argv`` is ``python -m ipykernel_launcher ...``)."""
    try:
        for thing in close:  # the zygote's sockets, pipes and selector, and other kernels' channels
            if isinstance(thing, int):
                os.close(thing)
            else:
                thing.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()  # its own process group, as Jupyter starts kernels: signals reach its children too
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        argv = request["argv"]
        set_cmdline(argv)
        import ipykernel_launcher
        import ipywidgets
        from ipykernel.kernelapp import IPKernelApp

        sys.argv = [ipykernel_launcher.__file__, *argv[3:]]
        app = IPKernelApp.instance()
        if os.environ.get("JPY_PARENT_PID"):  # read when ipykernel was imported, in the zygote: set it here
            # the zygote, not the server: ipykernel's parent poller ends the kernel when its parent
            # changes, and the zygote ends when the server does
            app.parent_handle = os.getppid()
        app.initialize(argv[3:])
        ipywidgets.register_comm_target()  # what importing ipywidgets does in a running kernel
        app.start()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def reap(channels: dict[int, socket.socket]) -> None:
    """Collect every ended child; tell its channel the exit code (negative: the signal that ended it)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        channel = channels.pop(pid, None)
        if channel is not None:
            try:
                channel.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass  # the server closed it: nobody is waiting for this code
            channel.close()


def serve(control: socket.socket) -> None:
    """Import, say ``ready``, then fork a kernel per request until the server's end closes."""
    preload()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)  # SIGCHLD wakes the selector below
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    channels: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    control.sendall(b"ready")
    while True:
        for key, _ in selector.select():
            if key.fileobj is control:
                message, fds, _, _ = socket.recv_fds(control, MAX_REQUEST, 1)
                if not message:
                    return  # the server is gone; its kernels see us go and end (ipykernel's parent poller)
                channel = socket.socket(fileno=fds[0])
                try:
                    request = json.loads(message)
                    pid = os.fork()
                except (ValueError, OSError) as err:  # closing the channel tells the server; it launches the kernel
                    print(f"kernel zygote: no fork for this request: {err}", file=sys.stderr, flush=True)
                    channel.close()
                    continue
                if pid == 0:
                    become_kernel(request, [selector, control, channel, wake_r, wake_w, *channels.values()])
                pidfd = os.pidfd_open(pid)
                try:
                    socket.send_fds(channel, [f"pid {pid}\n".encode()], [pidfd])
                    channels[pid] = channel
                except OSError:  # the server stopped waiting for this kernel
                    os.kill(pid, signal.SIGKILL)
                    channel.close()
                os.close(pidfd)
            else:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
                reap(channels)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
