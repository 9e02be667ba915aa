"""Many visitors at once: time to interactive and memory per kernel at 1, 4 and 8 sessions.

Serves the dashboard as ``paramshare-viz dashboard`` does (standalone Voila, one
preheated kernel), then for each N opens N browser pages at the same moment. Each page
must render the Explore cards (time to interactive) and then complete one interaction
(kernel_size 3 -> 5: the shared conv count must read what ``conv_param_counts`` says,
C_out*C_in*5*5 + C_out at the zoo's default channels, where Explore starts). Memory is
read from the kernel processes while all N pages are open. Pages are then closed (the
beforeunload beacon ends their kernels) and the server must be back to its pool before
the next N.

Run: .venv/bin/python benchmarks/bench_visitors.py [--sessions 1,4,8] [--csv out.csv]
Each visitor gets a kernel (a process) of its own: the cost grows linearly with N.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paramshare_viz import zoo  # noqa: E402
from paramshare_viz.app.serve import REPO_NOTEBOOK, voila_command  # noqa: E402
from paramshare_viz.models.conv import conv_param_counts  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.servers import free_port, running  # noqa: E402

READY = "voila/api/themes/@jupyterlab/theme-light-extension/index.css"
COUNT = ".psv-card[data-key='shared'] .psv-count"
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


async def main_async(sessions: list[int]) -> list[dict]:
    from playwright.async_api import async_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = Path(tempfile.mkdtemp(prefix="bench-visitors-")) / "voila.log"
    cmd = voila_command(REPO_NOTEBOOK, port=port, ip="127.0.0.1", open_browser=False)
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
                print(format_row(rows[-1], rows[0]), flush=True)
            await browser.close()
    return rows


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
    parser.add_argument("--sessions", default="1,4,8", help="concurrent sessions per round (default 1,4,8)")
    parser.add_argument("--csv", help="write the rows as CSV")
    args = parser.parse_args()
    sessions = [int(s) for s in args.sessions.split(",")]
    print(f"{psutil.cpu_count()} CPU cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
          f"TTI = time to the Explore cards; act = kernel_size 3 -> 5 until the count reads {AFTER_INTERACTION}")
    print(HEADER)
    rows = asyncio.run(main_async(sessions))
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return 0 if all(r["correct"] == r["sessions"] and r["back_to_pool"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
