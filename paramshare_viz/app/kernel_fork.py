"""The server's side of forked kernels: a provisioner that asks the zygote for each kernel.

:mod:`kernel_zygote` imports torch and the app once; each dashboard kernel is then a fork of
it (fractions of a CPU-second, pages shared until written) instead of a new interpreter that
imports everything again. :class:`ForkKernelManager` gives each kernel a
:class:`ForkProvisioner`; voila_app.py makes it the server's kernel manager class
(``DashboardKernelManager.fork_kernels``) and starts the zygote with the server.

The kernel is the zygote's child, not the server's, so the provisioner manages it through a
pidfd (alive until it can be read; signals to its process group, which it leads) and learns
its exit code from the zygote that reaps it. A kernel the zygote cannot start (the zygote
exited, did not get ready in time, or the kernel is not ``python -m ipykernel_launcher``) is
started as Jupyter starts it (:class:`~jupyter_client.provisioning.LocalProvisioner`), with
the reason logged.

The zygote imports the package once: a change to its code reaches new kernels when the
server restarts (a kernel Jupyter starts itself imports it afresh).

Loaded by path by voila_app.py (importing ``paramshare_viz`` would import torch into the
server): it imports nothing of the package.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner
from jupyter_server.services.kernels.kernelmanager import ServerKernelManager

ZYGOTE_SCRIPT = Path(__file__).resolve().with_name("kernel_zygote.py")
ROOM = 1024  # kernel_zygote.ROOM: command line reserved for the children's (the zygote is not imported here)
READY_S = 120.0  # the zygote's imports take ~3 CPU-s; a kernel asked for later than this is launched instead
FORK_S = 10.0  # a fork answers in milliseconds; this only catches a zygote that hangs (the server waits)
EXIT_CODE_S = 5.0  # from the kernel's end to the zygote's "exit N" (it reaps at once)
UNKNOWN_EXIT = -1  # the kernel ended but the zygote that would have reaped it is gone
SUPPORTED = hasattr(os, "pidfd_open")  # Linux 5.3+: elsewhere kernels start as Jupyter starts them


class Zygote:
    """The zygote process and the server's end of its control socket."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-P", str(ZYGOTE_SCRIPT), str(theirs.fileno()), " " * ROOM],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,  # a Ctrl-C meant for the server does not reach it; it ends when the server's end closes
        )
        theirs.close()
        ours.setblocking(False)
        self.control = ours
        self.ready = False
        self.started = time.monotonic()

    def gone(self) -> str:
        """Why no kernel can be forked now, in words; "" when the zygote is there."""
        code = self.process.poll()
        return "" if code is None else f"the kernel zygote exited with code {code}"

    async def wait_ready(self) -> str:
        """Wait for the zygote's imports; why it will not be ready, or ""."""
        while not self.ready:
            try:
                message = self.control.recv(16)
            except BlockingIOError:
                message = None
            if message == b"ready":
                self.ready = True
                continue
            if message is not None:  # b"": its end closed
                return self.gone() or f"the kernel zygote said {message!r} instead of ready"
            if reason := self.gone():
                return reason
            if time.monotonic() - self.started > READY_S:  # later kernels still get it once it is ready
                return f"the kernel zygote was not ready within {READY_S:.0f} s"
            await asyncio.sleep(0.05)
        return ""

    def fork(self, argv: list[str], env: dict[str, str], cwd: str) -> tuple[int, int, socket.socket]:
        """A kernel running ``argv``: its pid, a pidfd on it and its channel (where its exit code comes)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            request = json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode()
            socket.send_fds(self.control, [request], [theirs.fileno()])
        finally:
            theirs.close()
        # Wait for the answer without yielding to the server's loop, as Popen waits for its exec:
        # once the kernel's process exists, the manager lists it before it serves another request
        # (the cap counts listed kernels). A fork answers in milliseconds.
        ours.settimeout(FORK_S)
        try:
            message, fds, _, _ = socket.recv_fds(ours, 64, 1)
        except TimeoutError:
            ours.close()
            raise TimeoutError(f"the kernel zygote did not fork within {FORK_S:.0f} s") from None
        ours.setblocking(False)
        if not message.startswith(b"pid ") or len(fds) != 1:
            ours.close()
            raise OSError(self.gone() or f"the kernel zygote answered {message!r}")
        return int(message.split()[1]), fds[0], ours


#: The server's zygote (one per process), started by :func:`start_zygote`.
ZYGOTE: Zygote | None = None


def start_zygote(env: dict[str, str] | None = None) -> Zygote:
    """Start this process's zygote (``env``: its environment, default this one's) unless it runs."""
    global ZYGOTE
    if ZYGOTE is None or ZYGOTE.gone():
        ZYGOTE = Zygote(env)
    return ZYGOTE


def forkable(cmd: list[str], kwargs: dict[str, Any]) -> str:
    """Why ``cmd`` cannot be forked from the zygote, in words; "" when it can."""
    if cmd[:3] != [sys.executable, "-m", "ipykernel_launcher"]:
        return f"the kernel command {cmd[:3]} is not this Python's ipykernel_launcher"
    if kwargs.get("stdout") is not None or kwargs.get("stderr") is not None:
        return "the kernel's output is redirected"
    return ""


class ForkProvisioner(LocalProvisioner):
    """Jupyter's local provisioner, with the kernel forked from the zygote where it can be.

    Ports, connection file and cleanup are LocalProvisioner's; a kernel it had to start
    itself (see :func:`forkable`) is managed exactly as LocalProvisioner manages it.
    """

    pidfd: int | None = None
    channel: socket.socket | None = None
    exit_code: int | None = None

    @property
    def has_process(self) -> bool:
        return self.pidfd is not None or super().has_process

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        self.release()  # a restart: the ended kernel's pidfd and channel
        reason = forkable(cmd, kwargs) or ("no kernel zygote was started" if ZYGOTE is None else "")
        if not reason and ZYGOTE is not None:
            reason = await ZYGOTE.wait_ready()
            if not reason:
                cwd = str(kwargs.get("cwd") or os.getcwd())
                env = dict(kwargs.get("env") or os.environ)
                try:
                    self.pid, self.pidfd, self.channel = ZYGOTE.fork(cmd, env, cwd)
                except (OSError, TimeoutError) as err:
                    reason = str(err)
        if reason:
            self.log.warning("paramshare_viz: kernel %s started without the zygote: %s", self.kernel_id, reason)
            return await super().launch_kernel(cmd, **kwargs)
        self.pgid = self.pid  # it leads its own session (os.setsid in the child)
        self.exit_code = None
        self.cwd = cwd
        return self.connection_info

    async def poll(self) -> int | None:
        if self.pidfd is None:
            return await super().poll()
        if self.exit_code is None and select.select([self.pidfd], [], [], 0)[0]:  # readable: it ended
            self.exit_code = await self.reported_exit_code()
        return self.exit_code

    async def reported_exit_code(self) -> int:
        """The exit code the zygote reports once it has reaped the kernel."""
        assert self.channel is not None
        deadline = time.monotonic() + EXIT_CODE_S
        text = b""
        while time.monotonic() < deadline:
            try:
                chunk = self.channel.recv(64)
            except BlockingIOError:
                await asyncio.sleep(0.01)
                continue
            text += chunk
            if not chunk or text.endswith(b"\n"):
                break
        return int(text.split()[1]) if text.startswith(b"exit ") else UNKNOWN_EXIT

    async def wait(self) -> int | None:
        if self.pidfd is None:
            return await super().wait()
        while (code := await self.poll()) is None:
            await asyncio.sleep(0.1)
        self.release()
        return code

    def release(self) -> None:
        """Close the pidfd and the channel: the kernel has ended (or is no longer ours)."""
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        if self.channel is not None:
            self.channel.close()
            self.channel = None

    async def send_signal(self, signum: int) -> None:
        if self.pidfd is None:
            return await super().send_signal(signum)
        if await self.poll() is not None:
            return  # ended: its pid may be another process's by now
        assert self.pid is not None  # set with pidfd
        try:
            os.killpg(self.pid, signum)  # its process group, as LocalProvisioner does
        except ProcessLookupError:
            pass

    async def kill(self, restart: bool = False) -> None:
        if self.pidfd is None:
            return await super().kill(restart)
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        if self.pidfd is None:
            return await super().terminate(restart)
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart: bool = False) -> None:
        if self.pidfd is not None and self.exit_code is not None:
            self.release()
        await super().cleanup(restart)


class ForkKernelManager(ServerKernelManager):
    """Jupyter Server's kernel manager with a :class:`ForkProvisioner` for each kernel."""

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
        if self.provisioner is None:  # not None on restarts: the same provisioner launches again
            self.provisioner = ForkProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = _async_pre_start_kernel  # type: ignore[assignment]  # as jupyter_client's AsyncKernelManager does


def forked_kernel_manager():
    """A blocking ``jupyter_client.KernelManager`` whose kernel is forked from the zygote (tests, benchmarks)."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.kernel_id = str(uuid.uuid4())
    km.provisioner = ForkProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
    return km
