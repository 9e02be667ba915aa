"""Kernels forked from the zygote behave as kernels Jupyter starts itself.

One zygote for the module (it imports torch and the app once, seconds); each kernel is a
``jupyter_client.KernelManager`` whose provisioner is :class:`ForkProvisioner`, the one the
dashboard server uses (tests/test_kernels.py and tests/test_server_full.py drive it
through the server).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys

import psutil
import pytest

from paramshare_viz.app import kernel_fork
from tests.servers import REPO, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def zygote():
    zygote = kernel_fork.start_zygote({**os.environ, "PYTHONPATH": str(REPO)})
    yield zygote
    zygote.control.close()  # what the server's exit does: the zygote sees the end and exits
    assert zygote.process.wait(timeout=60) == 0
    kernel_fork.ZYGOTE = None


def start(tmp_path, **env: str):
    km = kernel_fork.forked_kernel_manager()
    km.start_kernel(env={**os.environ, "JPY_PARENT_PID": str(os.getpid()), **env}, cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    return km, kc


def run(kc, code: str) -> dict:
    """Run ``code``; the reply's content, with what it printed under "out"."""
    out: list[str] = []
    reply = kc.execute_interactive(code, timeout=120, output_hook=lambda m: out.append(m["content"].get("text", "")))
    return {**reply["content"], "out": "".join(out)}


def stop(km, kc) -> None:
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_a_forked_kernel_is_the_zygotes_child_with_its_own_env_cwd_and_command_line(zygote, tmp_path):
    km, kc = start(tmp_path, PSV_TEST_MARK="forked")
    try:
        kernel = psutil.Process(km.provisioner.pid)
        assert kernel.ppid() == zygote.process.pid  # forked, not started by this process
        assert psutil.Process(zygote.process.pid).num_threads() == 1  # what it forks holds no other thread's locks
        cmdline = " ".join(kernel.cmdline())
        assert f"-m ipykernel_launcher -f {km.connection_file}" in cmdline  # as ps shows a kernel Jupyter starts
        seen = run(kc, "import json, os, sys\n"
                       "print(json.dumps([os.environ['PSV_TEST_MARK'], os.getcwd(), 'torch' in sys.modules,\n"
                       "                  'paramshare_viz.app' in sys.modules, os.getpgid(0) == os.getpid()]))")
        # the zygote imported torch and the app before the fork; the kernel leads its own process group
        assert json.loads(seen["out"]) == ["forked", str(tmp_path), True, True, True]
    finally:
        stop(km, kc)


def test_torch_threads_and_widgets_work_in_a_forked_kernel(zygote, tmp_path):
    km, kc = start(tmp_path)
    try:
        seen = run(kc, "import json, torch\n"
                       "x = torch.ones(512, 512)\n"
                       "print(json.dumps([(x @ x).sum().item(), torch.get_num_threads(),\n"
                       "                  'jupyter.widget' in get_ipython().kernel.comm_manager.targets]))")
        product, threads, widgets = json.loads(seen["out"])
        assert product == 134_217_728.0  # 512 x 512 entries, each a sum of 512 ones: 512**3
        assert threads == fresh_torch_threads()  # torch's pool, made after the fork, as in a fresh Python
        assert widgets  # the widget comm target, registered on import in a kernel started by itself
    finally:
        stop(km, kc)


def fresh_torch_threads() -> int:
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_interrupt_exit_code_and_kill(zygote, tmp_path):
    km, kc = start(tmp_path)
    try:
        msg_id = kc.execute("import time; print('running', flush=True); time.sleep(60)")
        # Wait for the cell's own output, not execute_input: ipykernel ignores SIGINT until the cell's
        # code runs, so an interrupt sent between the two is lost (the reply then comes after 60 s).
        while not (m := kc.get_iopub_msg(timeout=30))["msg_type"] == "stream":
            pass
        assert m["parent_header"]["msg_id"] == msg_id and m["content"]["text"] == "running\n"
        km.interrupt_kernel()  # SIGINT to its process group
        reply = kc.get_shell_msg(timeout=30)
        assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["ename"] == "KeyboardInterrupt"

        kc.execute("import os; os._exit(3)")
        assert wait_for(lambda: not km.is_alive(), 30)
        assert km.provisioner.exit_code == 3  # as the zygote reaped it
        km.restart_kernel(now=True)  # what the server's restarter does: forked again
        kc.wait_for_ready(timeout=120)
        pid = km.provisioner.pid
        assert psutil.Process(pid).ppid() == zygote.process.pid

        km.shutdown_kernel(now=True)  # SIGKILL to its process group
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert km.provisioner.pidfd is None  # released
    finally:
        stop(km, kc)


def test_without_the_zygote_a_kernel_starts_as_jupyter_starts_it_and_says_why(tmp_path, caplog):
    gone = kernel_fork.Zygote({**os.environ, "PYTHONPATH": str(REPO)})
    gone.process.send_signal(signal.SIGTERM)
    gone.process.wait(timeout=60)
    kept, kernel_fork.ZYGOTE = kernel_fork.ZYGOTE, gone
    try:
        with caplog.at_level(logging.WARNING):
            km, kc = start(tmp_path)
        try:
            assert psutil.Process(km.provisioner.pid).ppid() == os.getpid()  # Popen, this process's child
            assert run(kc, "print(1 + 1)")["out"] == "2\n"
        finally:
            stop(km, kc)
    finally:
        kernel_fork.ZYGOTE = kept
    assert f"started without the zygote: the kernel zygote exited with code -{signal.SIGTERM.value}" in caplog.text


def test_kernels_end_with_their_zygote(tmp_path):
    own = kernel_fork.Zygote({**os.environ, "PYTHONPATH": str(REPO)})
    kept, kernel_fork.ZYGOTE = kernel_fork.ZYGOTE, own
    try:
        km, kc = start(tmp_path)
    finally:
        kernel_fork.ZYGOTE = kept
    try:
        kernel = psutil.Process(km.provisioner.pid)
        own.process.kill()  # a zygote killed (or its server, whose end closing makes it exit)
        own.process.wait(timeout=60)
        # ipykernel's parent poller (every second) sees its parent change and ends the kernel
        assert wait_for(lambda: not kernel.is_running() or kernel.status() == psutil.STATUS_ZOMBIE, 30)
        assert wait_for(lambda: not km.is_alive(), 10)
        assert km.provisioner.exit_code == kernel_fork.UNKNOWN_EXIT  # nobody left to report it
    finally:
        stop(km, kc)
