"""Many visitors at once: what one kernel costs, what the server pays per visitor, and browsers.

Three parts (``--parts``, default all three):

- ``kernel``: three kernels started as Voila starts them (``python -m ipykernel_launcher``),
  each importing step by step what the dashboard's first view needs and then building
  that view (``make_dashboard()`` displayed, the page's "drawn" signal given so the
  Explore graph is sent). After every step: the kernel's RSS, USS and PSS
  (``psutil.memory_full_info``; USS is what one more visitor really adds, since torch's
  shared libraries are shared between kernels) and its CPU-seconds since launch.
  ``--before DIR`` runs the same on another copy of the package (e.g. main's code,
  ``git archive <commit> paramshare_viz | tar -x -C DIR``) and prints both.
- ``server``: the dashboard served as ``paramshare-viz dashboard`` serves it (standalone
  Voila, one preheated kernel, no cap), then N visitors at once for N in ``--visitors``
  (default 1,8,20). A visitor is a plain HTTP client: Voila runs the page's notebook in
  the visitor's kernel while the GET streams, so a finished GET is a page whose app exists
  in its kernel; what a browser then spends (parsing, plotly.js) is not the server's and
  is left out. Per visitor: the wait (GET to its last byte), CPU-seconds of its kernel
  (since launch: a pooled kernel's preheating included) plus the share of the server process and its zygote,
  and the kernel's memory. Then each visitor leaves (the page's shutdown beacon) and the
  server must be back to its pool. Ends with the capacity of a 2-core, 24 GB server.
- ``browsers``: N Chromium pages at once (``--sessions``, default 1,4,8), each waiting for
  the Explore cards (time to interactive) and completing one interaction (kernel_size
  3 -> 5: the shared conv count must read what ``conv_param_counts`` says).
  ``--fill-delay S`` sets Voila's pool refill delay: with ``--sessions 1,1,1``, whether a
  refill (a kernel starting 1 s after each visitor takes the preheated one) slows that visitor.

Each part runs for kernels started by themselves (``launch``: a new Python per kernel, as Voila
starts them) and forked from the server's zygote (``fork``: ``kernel_zygote.py``, what
``paramshare-viz dashboard`` does), side by side (``--modes``, default both). A forked kernel's
CPU-seconds count from its fork; the zygote's imports are printed apart (paid once per server)
and its forks are counted on the server's side.

Every figure is printed with the machine's load average beside it: this machine may be
shared, and a busy neighbour slows every figure down.

Run: .venv/bin/python benchmarks/bench_visitors.py [--parts kernel,server,browsers]
     [--modes launch,fork] [--before DIR] [--visitors 1,8,20] [--sessions 1,4,8]
     [--iopub-timeout S] [--csv out.csv]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import csv
import http.cookiejar
import json
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paramshare_viz import zoo  # noqa: E402
from paramshare_viz.app import kernel_fork  # noqa: E402
from paramshare_viz.app.serve import REPO_NOTEBOOK, voila_command  # noqa: E402
from paramshare_viz.models.conv import conv_param_counts  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.servers import free_port, running  # noqa: E402

READY = "voila/api/themes/@jupyterlab/theme-light-extension/index.css"
COUNT = ".psv-card[data-key='shared'] .psv-count"
APP_OUTPUT = "application/vnd.jupyter.widget-view+json"  # in the page once the notebook's display is in it
# the shared conv's parameters once the visitor sets a 5x5 kernel (C_out*C_in*25 + C_out)
AFTER_INTERACTION = str(conv_param_counts(zoo.make_config("conv", kernel_size=5))["conv"])


def kernels(server_pid: int) -> list[psutil.Process]:
    out = []
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            if "ipykernel_launcher" in " ".join(child.cmdline()):
                out.append(child)
        except psutil.Error:
            pass
    return out


async def visit(browser, url: str) -> dict:
    """One visitor: open, wait for the cards, change the kernel size, wait for the new count."""
    context = await browser.new_context()
    page = await context.new_page()
    t0 = time.perf_counter()
    await page.goto(url, timeout=600_000)
    await page.wait_for_selector(COUNT, timeout=600_000)
    tti = time.perf_counter() - t0
    box = page.locator(".psv-input-kernel_size input")
    t1 = time.perf_counter()
    await box.fill("5")
    await box.press("Enter")
    await page.wait_for_function(
        "([sel, want]) => document.querySelector(sel)?.innerText.replaceAll(',', '') === want",
        arg=[COUNT, AFTER_INTERACTION], timeout=600_000,
    )
    interaction = time.perf_counter() - t1
    correct = (await page.inner_text(COUNT)).replace(",", "") == AFTER_INTERACTION
    return {"page": page, "context": context, "tti_s": tti, "interaction_s": interaction, "correct": correct}


async def round_of(browser, url: str, server_pid: int, n: int, pool: int) -> dict:
    t0 = time.perf_counter()
    visits = await asyncio.gather(*(visit(browser, url) for _ in range(n)))
    wall = time.perf_counter() - t0
    procs = kernels(server_pid)
    rss = [p.memory_info().rss for p in procs]
    uss = [p.memory_full_info().uss for p in procs]
    for v in visits:
        await v["page"].close(run_before_unload=True)
    deadline = time.monotonic() + 120
    while len(kernels(server_pid)) > pool and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    for v in visits:
        await v["context"].close()
    tti = [v["tti_s"] for v in visits]
    act = [v["interaction_s"] for v in visits]
    return {
        "sessions": n,
        "correct": sum(v["correct"] for v in visits),
        "tti_median_s": statistics.median(tti),
        "tti_max_s": max(tti),
        "interaction_median_s": statistics.median(act),
        "interaction_max_s": max(act),
        "wall_s": wall,
        "kernels": len(procs),
        "rss_per_kernel_mib": statistics.mean(rss) / 2**20,
        "uss_per_kernel_mib": statistics.mean(uss) / 2**20,
        "kernels_total_rss_mib": sum(rss) / 2**20,
        "back_to_pool": len(kernels(server_pid)) <= pool,
    }


async def main_async(sessions: list[int], fill_delay: float | None = None, fork: bool = True) -> list[dict]:
    from playwright.async_api import async_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = Path(tempfile.mkdtemp(prefix="bench-visitors-")) / "voila.log"
    cmd = voila_command(REPO_NOTEBOOK, port=port, ip="127.0.0.1", open_browser=False)
    cmd += [f"--DashboardKernelManager.fork_kernels={fork}"]
    if fill_delay is not None:  # seconds from a visitor taking the preheated kernel to its refill starting
        cmd += [f"--VoilaKernelManager.fill_delay={fill_delay}"]
    pool = 1  # voila_command's --pool_size
    rows = []
    with running(cmd, url + READY, log) as proc:
        while len(kernels(proc.pid)) < pool:
            await asyncio.sleep(0.5)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            for n in sessions:
                while len(kernels(proc.pid)) != pool:  # the preheated kernel is ready again
                    await asyncio.sleep(0.5)
                await asyncio.sleep(3)  # let the refilled pool kernel finish rendering
                rows.append(await round_of(browser, url, proc.pid, n, pool))
                print(format_row(rows[-1], rows[0]), load(), flush=True)
            await browser.close()
    return rows


# --------------------------------------------------------------------------- kernel: one visitor's kernel

#: What a kernel runs, step by step, to reach the dashboard's first view (the notebook is
#: ``make_dashboard()``; its page then says it has drawn, which sends the Explore graph).
STEPS = [
    ("ipykernel, idle", ""),
    ("+ ipywidgets", "import ipywidgets"),
    ("+ torch", "import torch"),
    ("+ paramshare_viz.app", "import paramshare_viz.app"),
    ("+ first view", "from IPython.display import display\n"
                     "from paramshare_viz.app import make_dashboard\n"
                     "app = make_dashboard()\ndisplay(app)\napp.state.drawn = True"),
]
#: Heavy packages the first view does not need; the kernel part says which of them it finds imported.
HEAVY = ["torch._dynamo", "sympy", "sklearn", "transformers", "scipy", "pandas", "nbformat",
         "plotly.io._renderers", "matplotlib"]


def load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def memory(proc: psutil.Process) -> dict:
    info = proc.memory_full_info()
    return {"rss_mib": info.rss / 2**20, "uss_mib": info.uss / 2**20, "pss_mib": info.pss / 2**20}


def cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def start_kernel(code_dir: Path, fork: bool):
    """A kernel as Voila starts one (``fork``: as the dashboard's server forks one), importing the package from ``code_dir``."""
    from jupyter_client.manager import KernelManager

    km = kernel_fork.forked_kernel_manager() if fork else KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, "PYTHONPATH": str(code_dir)}, cwd=str(code_dir))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=300)
    return km, kc


def run_in(kc, code: str) -> str:
    """Run ``code`` in the kernel; returns what it printed."""
    printed: list[str] = []
    reply = kc.execute_interactive(
        code, timeout=600, output_hook=lambda msg: printed.append(msg["content"].get("text", ""))
    )
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"{code!r} failed in the kernel: {reply['content'].get('evalue')}")
    return "".join(printed)


def kernel_part(code_dir: Path, kernels: int = 3, fork: bool = False) -> dict:
    """Per step: median RSS/USS/PSS and CPU-s over ``kernels`` kernels, then memory with all alive.

    ``fork``: kernels forked from a zygote (kernel_zygote.py) started here first; a forked kernel's
    CPU-s count from its fork (the zygote's imports are reported apart, paid once per server).
    """
    started, rows, zygote = [], [], None
    if fork:
        zygote = kernel_fork.start_zygote({**os.environ, "PYTHONPATH": str(code_dir)})
        while not zygote.ready:  # its imports, once
            assert not asyncio.run(zygote.wait_ready()), zygote.gone()
        zproc = psutil.Process(zygote.process.pid)
        zygote_start = {"cpu_s": cpu_s(zproc), **memory(zproc)}
    fork_cpu = []
    for _ in range(kernels):
        before = cpu_s(zproc) if fork else 0.0
        km, kc = start_kernel(code_dir, fork)
        fork_cpu.append(cpu_s(zproc) - before if fork else 0.0)
        proc = psutil.Process(km.provisioner.pid)
        steps = []
        for name, code in STEPS:
            if code:
                run_in(kc, code)
            time.sleep(0.5)  # the worker's and the graph's sends finish
            steps.append({"step": name, "cpu_s": cpu_s(proc), **memory(proc)})
        heavy = run_in(kc, f"import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))").strip()
        rows.append(steps)
        started.append((km, kc, proc))
    together = [memory(proc) for _, _, proc in started]  # all kernels alive: shared pages split in PSS
    zygote_alive = memory(zproc) if fork else {}
    for km, kc, _ in started:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    if zygote is not None:
        zygote.control.close()  # it exits when its server's end closes
        zygote.process.wait(timeout=60)
        kernel_fork.ZYGOTE = None
    steps = [
        {"step": name, **{k: statistics.median(r[i][k] for r in rows) for k in ("cpu_s", "rss_mib", "uss_mib", "pss_mib")}}
        for i, (name, _) in enumerate(STEPS)
    ]
    alive = {k: statistics.median(m[k] for m in together) for k in ("rss_mib", "uss_mib", "pss_mib")}
    result = {"steps": steps, "alive": alive, "kernels": kernels, "heavy": heavy, "load": load(), "fork": fork}
    if fork:
        result["zygote"] = {"start": zygote_start, "alive": zygote_alive, "cpu_per_fork_s": statistics.median(fork_cpu)}
    return result


def print_kernel(label: str, result: dict) -> None:
    print(f"\n{label}: one kernel, medians of {result['kernels']} ({result['load']} at the end)")
    print(f"{'step':<22} {'RSS':>8} {'USS':>8} {'PSS':>8} {'CPU-s since launch':>19}")
    for r in result["steps"]:
        print(f"{r['step']:<22} {r['rss_mib']:>5.0f}MiB {r['uss_mib']:>5.0f}MiB {r['pss_mib']:>5.0f}MiB {r['cpu_s']:>18.2f}s")
    a = result["alive"]
    first = result["steps"][-1]
    print(f"with {result['kernels']} kernels alive: RSS {a['rss_mib']:.0f} MiB, USS {a['uss_mib']:.0f} MiB, "
          f"PSS {a['pss_mib']:.0f} MiB per kernel (USS: what one more visitor adds)")
    print(f"start (launch + imports + first view): {first['cpu_s']:.2f} CPU-s; imports + first view alone: "
          f"{first['cpu_s'] - result['steps'][0]['cpu_s']:.2f} CPU-s")
    print(f"heavy packages imported at the first view: {result['heavy'] or 'none'}")
    if result["fork"]:
        z = result["zygote"]
        print(f"the zygote (once per server): {z['start']['cpu_s']:.2f} CPU-s to import; RSS {z['start']['rss_mib']:.0f} MiB, "
              f"USS {z['start']['uss_mib']:.0f} MiB; with the kernels alive PSS {z['alive']['pss_mib']:.0f} MiB; "
              f"{z['cpu_per_fork_s']:.3f} CPU-s of the zygote per fork")


def print_goals(after: dict) -> None:
    """The issue's goals: RSS at the first view <= 250 MB, start (request to first view) <= 2 CPU-s.

    RSS counts every resident page the kernel maps, shared ones included (torch's libraries, and
    for a forked kernel everything the zygote imported): it is not what one more kernel costs.
    USS (pages only this kernel holds) is; PSS splits each shared page between its sharers.
    """
    first = after["steps"][-1]
    alive = after["alive"]
    label = "forked" if after["fork"] else "launched"
    # launched: launch + imports + first view; forked: the child's own CPU from fork to first view,
    # plus the zygote's CPU for the fork itself
    if after["fork"]:
        start = first["cpu_s"] + after["zygote"]["cpu_per_fork_s"]
        what = "fork + ipykernel + first view, all of it"
    else:
        start = first["cpu_s"] - after["steps"][0]["cpu_s"]
        what = f"imports + first view; {first['cpu_s']:.2f} with Python and ipykernel's launch"
    rss_ok, cpu_ok = first["rss_mib"] <= 250, start <= 2
    print(f"{label}: goal RSS at the first view <= 250 MB: {'MET' if rss_ok else 'NOT MET'} "
          f"({first['rss_mib']:.0f} MiB RSS, shared pages counted; USS {alive['uss_mib']:.0f} MiB, "
          f"PSS {alive['pss_mib']:.0f} MiB with {after['kernels']} kernels alive)")
    print(f"{label}: goal start <= 2 CPU-s (request to first view): {'MET' if cpu_ok else 'NOT MET'} "
          f"({start:.2f} CPU-s: {what}; {after['load']})")


# --------------------------------------------------------------------------- server: N visitors at once


class Visitor:
    """A plain HTTP visitor: GETs the page (cookies kept), later leaves with the page's shutdown beacon."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.jar = http.cookiejar.CookieJar()
        self.client = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.kernel_id = ""
        self.status = 0
        self.wait_s = 0.0
        self.complete = False

    def visit(self) -> Visitor:
        t0 = time.perf_counter()
        try:
            with self.client.open(self.url, timeout=900) as response:
                self.status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            self.status, body = err.code, err.read().decode()
        self.wait_s = time.perf_counter() - t0
        found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S)
        self.kernel_id = json.loads(found.group(1))["kernelId"] if found else ""
        # the dashboard's output made it into the page; under load Voila can send the page without
        # it (nbclient's "Timeout waiting for IOPub output", VoilaExecutor.iopub_timeout)
        self.complete = APP_OUTPUT in body
        return self

    def leave(self) -> None:
        xsrf = next(c.value for c in self.jar if c.name == "_xsrf")
        data = urllib.parse.urlencode({"_xsrf": xsrf}).encode()
        try:
            with self.client.open(f"{self.url}voila/api/shutdown/{self.kernel_id}", data=data, timeout=60):
                pass
        except urllib.error.HTTPError as err:
            if err.code != 404:  # 404: the culler ended it first (idle and unconnected for 60 s)
                raise


def kernel_of(server_pid: int, kernel_id: str) -> psutil.Process | None:
    for proc in kernels(server_pid):
        if f"kernel-{kernel_id}.json" in " ".join(proc.cmdline()):
            return proc
    return None


def server_side(server: psutil.Process) -> list[psutil.Process]:
    """The server and its processes that are not kernels (the zygote, where kernels are forked)."""
    out = [server]
    for child in server.children(recursive=True):
        try:
            if "ipykernel_launcher" not in " ".join(child.cmdline()):
                out.append(child)
        except psutil.Error:
            pass
    return out


def server_round(url: str, server: psutil.Process, n: int) -> dict:
    side = server_side(server)
    before = sum(cpu_s(p) for p in side)
    server_rss = server.memory_info().rss
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        visitors = list(pool.map(lambda v: v.visit(), [Visitor(url) for _ in range(n)]))
    during = load()
    server_cpu = sum(cpu_s(p) for p in side) - before  # the zygote's forks included
    procs = [kernel_of(server.pid, v.kernel_id) for v in visitors]
    served = [p for p in procs if p is not None]
    kernel_cpu = [cpu_s(p) for p in served]
    mem = [memory(p) for p in served]
    server_mib = (server.memory_info().rss - server_rss) / 2**20
    for v in visitors:
        if v.kernel_id:
            v.leave()
    waits = [v.wait_s for v in visitors]
    return {
        "visitors": n,
        "served": sum(v.status == 200 and bool(v.kernel_id) and v.complete for v in visitors),
        "wait_median_s": statistics.median(waits),
        "wait_max_s": max(waits),
        "kernel_cpu_per_visitor_s": statistics.mean(kernel_cpu),
        "server_cpu_per_visitor_s": server_cpu / n,
        "rss_per_visitor_mib": statistics.mean(m["rss_mib"] for m in mem),
        "uss_per_visitor_mib": statistics.mean(m["uss_mib"] for m in mem),
        "pss_per_visitor_mib": statistics.mean(m["pss_mib"] for m in mem),
        "server_rss_growth_per_visitor_mib": server_mib / n,
        "zygote_pss_mib": sum(memory(p)["pss_mib"] for p in side[1:]),
        "load": during,
    }


SERVER_HEADER = (f"{'visitors':>8} {'served':>7} {'wait med':>9} {'wait max':>9} {'CPU-s/visitor':>14} "
                 f"{'(kernel+server)':>16} {'RSS':>7} {'USS':>7} {'PSS':>7}  load (1, 5, 15 min)")


def format_server_row(r: dict) -> str:
    cpu = r["kernel_cpu_per_visitor_s"] + r["server_cpu_per_visitor_s"]
    return (f"{r['visitors']:>8} {r['served']:>3}/{r['visitors']:<3} {r['wait_median_s']:>8.1f}s {r['wait_max_s']:>8.1f}s "
            f"{cpu:>13.2f}s {r['kernel_cpu_per_visitor_s']:>8.2f}+{r['server_cpu_per_visitor_s']:.2f}s "
            f"{r['rss_per_visitor_mib']:>4.0f}MiB {r['uss_per_visitor_mib']:>4.0f}MiB {r['pss_per_visitor_mib']:>4.0f}MiB  "
            f"{r['load']}")


def server_part(visitors: list[int], fork: bool, iopub_timeout: int | None = None) -> list[dict]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = Path(tempfile.mkdtemp(prefix="bench-visitors-")) / "voila.log"
    cmd = voila_command(REPO_NOTEBOOK, port=port, ip="127.0.0.1", open_browser=False)
    cmd += [f"--DashboardKernelManager.fork_kernels={fork}"]
    if iopub_timeout is not None:  # seconds Voila waits for a cell's last output after its reply
        cmd += [f"--VoilaExecutor.iopub_timeout={iopub_timeout}"]
    cmd += ["--DashboardKernelManager.max_visitors=0"]  # no cap: measure what the server does past it
    # no culling: a browser's page stays connected; these HTTP visitors never connect while they wait
    cmd += ["--MappingKernelManager.cull_idle_timeout=0"]
    pool, rows = 1, []
    print(SERVER_HEADER)
    with running(cmd, url + READY, log) as proc:
        server = psutil.Process(proc.pid)
        for n in visitors:
            while len(kernels(proc.pid)) != pool:  # back to the preheated kernel alone
                time.sleep(0.5)
            time.sleep(5)  # and it has finished rendering
            rows.append({"mode": "fork" if fork else "launch", **server_round(url, server, n)})
            print(format_server_row(rows[-1]), flush=True)
            deadline = time.monotonic() + 180
            while len(kernels(proc.pid)) > pool and time.monotonic() < deadline:
                time.sleep(0.5)
    return rows


def print_capacity(rows: list[dict], cores: int = 2, memory_gib: int = 24, wait_s: float = 10.0) -> None:
    """How many visitors a ``cores``-core, ``memory_gib`` GB server holds, each waiting under ``wait_s``."""
    worst = max(rows, key=lambda r: r["visitors"])
    cpu = worst["kernel_cpu_per_visitor_s"] + worst["server_cpu_per_visitor_s"]
    # the zygote (if any) once, then each kernel's PSS; the server process itself is left out (~100 MiB)
    by_memory = int((memory_gib * 1024 - worst["zygote_pss_mib"]) // worst["pss_per_visitor_mib"])
    at_once = int(wait_s * cores // cpu)  # every visitor's start CPU shared by the cores, the last one done by wait_s
    fits = [r["visitors"] for r in rows if r["wait_max_s"] < wait_s]
    if any(r["served"] < r["visitors"] for r in rows):
        print("  (pages served without the dashboard: see 'served'; their waits are not a visitor's wait)")
    print(f"\ncapacity of one {cores}-core, {memory_gib} GB server, kernels {worst['mode']}ed (from the "
          f"{worst['visitors']}-visitor round, {worst['load']}):")
    print(f"  memory: {by_memory} visitors' kernels (({memory_gib} GiB - {worst['zygote_pss_mib']:.0f} MiB zygote) "
          f"/ {worst['pss_per_visitor_mib']:.0f} MiB PSS each)")
    print(f"  arriving at once, each waiting < {wait_s:.0f} s: about {at_once} "
          f"({wait_s:.0f} s x {cores} cores / {cpu:.2f} CPU-s per visitor); measured here: "
          f"{max(fits) if fits else 'none'} of {[r['visitors'] for r in rows]} had every wait < {wait_s:.0f} s")
    print(f"  arriving spread out: about {cores / cpu * 60:.0f} new visitors a minute, "
          f"each served in ~{cpu:.1f} CPU-s; once in, an idle page costs memory only")


# --------------------------------------------------------------------------- browsers

HEADER = (
    f"{'sessions':>8} {'ok':>5} {'TTI med':>8} {'TTI max':>8} {'x 1':>5} {'act med':>8} "
    f"{'act max':>8} {'kernels':>7} {'RSS/kern':>9} {'USS/kern':>9} {'pool':>5}"
)


def format_row(row: dict, first: dict) -> str:
    return (
        f"{row['sessions']:>8} {row['correct']:>2}/{row['sessions']:<2} {row['tti_median_s']:>7.1f}s "
        f"{row['tti_max_s']:>7.1f}s {row['tti_median_s'] / first['tti_median_s']:>4.1f}x "
        f"{row['interaction_median_s']:>7.1f}s {row['interaction_max_s']:>7.1f}s {row['kernels']:>7} "
        f"{row['rss_per_kernel_mib']:>6.0f}MiB {row['uss_per_kernel_mib']:>6.0f}MiB "
        f"{'back' if row['back_to_pool'] else 'LEAK':>5}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="kernel,server,browsers", help="kernel, server and/or browsers")
    parser.add_argument("--before", help="another copy of the package (its parent folder) to measure first")
    parser.add_argument("--visitors", default="1,8,20", help="server part: visitors at once per round")
    parser.add_argument("--sessions", default="1,4,8", help="browsers part: concurrent pages per round")
    parser.add_argument("--fill-delay", type=float, help="browsers part: Voila's pool refill delay (default 1 s)")
    parser.add_argument("--modes", default="launch,fork",
                        help="kernels launched (python -m ipykernel_launcher) and/or forked from the zygote")
    parser.add_argument("--iopub-timeout", type=int, help="server part: VoilaExecutor.iopub_timeout (default voila.json's)")
    parser.add_argument("--csv", help="write the server part's rows as CSV")
    args = parser.parse_args()
    parts, modes = args.parts.split(","), args.modes.split(",")
    print(f"{psutil.cpu_count()} CPU cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; {load()}")
    ok = True
    if "kernel" in parts:
        if args.before:
            print_kernel(f"before ({args.before})", kernel_part(Path(args.before)))
        results = {mode: kernel_part(REPO, fork=mode == "fork") for mode in modes}
        for mode, result in results.items():
            print_kernel(f"now ({REPO}), kernels {mode}ed", result)
        print()
        for result in results.values():
            print_goals(result)
    if "server" in parts:
        print("\nserver: N plain-HTTP visitors at once; wait = GET to last byte (the app built in the kernel); "
              "CPU-s per visitor = its kernel's since launch + the share of the server process and its zygote; browsers excluded")
        rows = []
        for mode in modes:
            print(f"kernels {mode}ed")
            rows += (mode_rows := server_part([int(n) for n in args.visitors.split(",")], fork=mode == "fork",
                                                   iopub_timeout=args.iopub_timeout))
            print_capacity(mode_rows)
        ok &= all(r["served"] == r["visitors"] for r in rows)
        if args.csv:
            with open(args.csv, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
    if "browsers" in parts:
        sessions = [int(s) for s in args.sessions.split(",")]
        print(f"\nbrowsers: TTI = time to the Explore cards; act = kernel_size 3 -> 5 until the count reads "
              f"{AFTER_INTERACTION}; pool refill {args.fill_delay or 1:g} s after a take; {load()}")
        for mode in modes:
            print(f"kernels {mode}ed\n{HEADER}")
            brows = asyncio.run(main_async(sessions, args.fill_delay, fork=mode == "fork"))
            ok &= all(r["correct"] == r["sessions"] and r["back_to_pool"] for r in brows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
