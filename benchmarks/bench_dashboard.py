"""How fast the dashboard opens and answers, against a bare Voila notebook served the same way.

One run, Playwright + Debian Chromium, both pages served by standalone Voila
exactly as ``paramshare-viz dashboard`` serves it (``voila_app.py``, one
preheated kernel), runs alternating so machine noise hits both:

- time to interactive: navigation start -> Explore's controls and numbers are
  on the page (its kernel_size box and its cards, whichever comes last) vs -> a
  one-slider notebook's slider; goal <= 1.3x. Also when the sharing graph is
  drawn (its own front end, ``.psv-graph`` with a tensor node; no plotly);
- update latency: Enter in Explore's kernel_size field -> the shared-parameter
  card shows the new count, vs Enter in a bare Text -> its echo label; goal <= 2x;
  and -> the sharing graph redrawn for the new setting (its ``data-version`` increased);
  all three timed in the page's own clock, from the Enter keydown to the DOM change that shows the
  answer (a MutationObserver: no polling interval, no Playwright round trip in the figures);
- where the time goes: widget models and their state bytes embedded in the
  page (by model type), JavaScript fetched (plotly.js among it), websocket
  bytes, and the kernel's own work (building the app, one Explore refresh).

    .venv/bin/python benchmarks/bench_dashboard.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from paramshare_viz.app.serve import REPO_NOTEBOOK, voila_command

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
#: The floor: one slider (time to interactive) and a Text echoed into an HTML label (round trip).
BARE_SOURCE = """import ipywidgets as w
slider = w.IntSlider(description="x")
text = w.Text(description="echo", continuous_update=False)  # sent on Enter, as Explore's fields
echo = w.HTML()
text.observe(lambda c: setattr(echo, "value", f"<span class='echo'>{c['new']}</span>"), names="value")
w.VBox([slider, text, echo])"""
#: What each page shows, by name; a page is interactive once all of its READY parts are on it.
PARTS = {
    "dashboard": {"controls": ".psv-input-kernel_size input", "numbers": ".psv-tab-explore .psv-cards-box .psv-card",
                  "graph": ".psv-graph [data-tensor]"},
    "bare": {"controls": ".widget-slider"},
}
READY = ("controls", "numbers")
GRAPH = ".psv-graph"
#: Records when each part first appears, in the page's own clock (ms since navigation start).
MARKS_SCRIPT = """
window.__psvMarks = {};
const parts = %s;
new MutationObserver(() => {
  for (const [name, sel] of Object.entries(parts))
    if (!(name in window.__psvMarks) && document.querySelector(sel)) window.__psvMarks[name] = performance.now();
}).observe(document, {subtree: true, childList: true, attributes: true});
"""
SHARED_COUNT = ".psv-card[data-key='shared'] .psv-count"
#: Preheating a kernel (import torch, build the app) takes a while on a busy machine.
PREHEAT_S = 60


def notebook(source: str) -> dict:
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "c", "metadata": {}, "outputs": [],
                   "source": source}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(path: Path, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(workdir / f"{path.stem}.log", "w")
    # cwd holds a voila.json that turns the idle culler off: a pool kernel idle > 60 s is culled
    # the moment a page takes it (before its websocket connects), which would kill runs at random.
    proc = subprocess.Popen(voila_command(path, port=port, ip="127.0.0.1", open_browser=False),
                            cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:  # any answer, even 404, means the server is up; the page itself would take the pool's kernel
            with urllib.request.urlopen(f"{url}voila/no-such-page", timeout=5):
                return proc, url
        except urllib.error.HTTPError:
            return proc, url
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{path.name} was not served within 120 s")


def widget_state(html: str) -> tuple[int, Counter, Counter]:
    """Models embedded in a preheated page: count, count by model type, JSON bytes by model type."""
    m = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S)
    if not m:
        return 0, Counter(), Counter()
    state = json.loads(m.group(1))["state"]
    kinds, sizes = Counter(), Counter()
    for model in state.values():
        name = model["model_name"]
        kinds[name] += 1
        sizes[name] += len(json.dumps(model["state"]))
    return len(state), kinds, sizes


def open_page(browser, url: str, parts: dict[str, str]) -> dict:
    """Load ``url`` in a fresh context (empty cache: a first visit) and time when each of ``parts`` appears."""
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = ctx.new_page()
    page.add_init_script(MARKS_SCRIPT % json.dumps(parts))
    ws_bytes = [0]

    def on_ws(ws):
        ws.on("framereceived", lambda f: ws_bytes.__setitem__(0, ws_bytes[0] + len(f)))

    page.on("websocket", on_ws)
    response = page.goto(url, timeout=300_000, wait_until="commit")
    html = response.text()
    ready = [name for name in READY if name in parts]
    try:
        page.wait_for_function("(names) => names.every((n) => n in window.__psvMarks)", arg=ready, timeout=300_000)
        ws_at_tti = ws_bytes[0]
        page.wait_for_function("(n) => Object.keys(window.__psvMarks).length === n", arg=len(parts), timeout=300_000)
    except Exception:
        raise RuntimeError(f"{url} never showed {parts}; the page said: {page.inner_text('body')[:800]}") from None
    marks = {name: ms / 1000 for name, ms in page.evaluate("() => window.__psvMarks").items()}
    tti = max(marks[name] for name in ready)
    resources = page.evaluate(
        "() => performance.getEntriesByType('resource').map(r => [r.name, r.encodedBodySize, r.duration])"
    )
    dcl = page.evaluate("() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd") / 1000
    return {"ctx": ctx, "page": page, "tti": tti, "marks": marks, "dcl": dcl, "html": html, "resources": resources,
            "ws_bytes_at_tti": ws_at_tti, "ws_bytes": ws_bytes}


#: Marks, in the page's own clock, the Enter keydown and the first DOM change after which ``until`` holds
#: (and the graph's data-version has increased): a MutationObserver, so neither a polling interval nor
#: Playwright's own round trips are in the figures, for the bare echo and the dashboard alike.
TRIP_SCRIPT = """([untilSource, arg, graph]) => {
  const until = (0, eval)(untilSource);
  const version = graph ? Number(document.querySelector(graph).dataset.version) : 0;
  const marks = window.__psvTrip = {};
  document.addEventListener("keydown", () => { marks.enter = performance.now(); }, {capture: true, once: true});
  const look = () => {
    if (!("enter" in marks)) return;
    const now = performance.now();
    if (!("answer" in marks) && until(arg)) marks.answer = now;
    if (graph && !("graph" in marks) && Number(document.querySelector(graph).dataset.version) > version) marks.graph = now;
    if ("answer" in marks && (!graph || "graph" in marks)) observer.disconnect();
  };
  const observer = new MutationObserver(look);
  observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def round_trip(page, field: str, value: str, until: str, arg, *, graph: bool = False) -> tuple[float, float]:
    """Seconds from Enter in ``field`` to the page showing the answer (``until`` true), and to a new graph."""
    box = page.locator(field)
    box.fill(value)
    page.evaluate(TRIP_SCRIPT, [until, arg, GRAPH if graph else None])
    box.press("Enter")
    done = "() => 'answer' in window.__psvTrip" + (" && 'graph' in window.__psvTrip" if graph else "")
    page.wait_for_function(done, timeout=120_000)
    marks = page.evaluate("() => window.__psvTrip")
    return (marks["answer"] - marks["enter"]) / 1000, (marks.get("graph", marks["answer"]) - marks["enter"]) / 1000


def kernel_work() -> dict:
    """The kernel's part, measured in a fresh Python: import, build the app, one Explore refresh."""
    code = """
import json, time
t0 = time.perf_counter()
from paramshare_viz.app import make_dashboard
t1 = time.perf_counter()
app = make_dashboard()
t2 = time.perf_counter()
panel = app.tabs.panel("Explore")
box = panel.editor.inputs["kernel_size"]
times = []
for v in ("5", "3", "5", "3", "5"):  # the config fields are typed text
    s = time.perf_counter(); box.value = v; times.append(time.perf_counter() - s)
import statistics, collections, ipywidgets
count, size = collections.Counter(), collections.Counter()
for w in list(ipywidgets.widgets.widget._instances.values()):  # every model the page must sync
    count[type(w).__name__] += 1
    size[type(w).__name__] += len(json.dumps(w.get_state(), default=str))
print(json.dumps({"import_s": t1 - t0, "build_s": t2 - t1, "refresh_s": statistics.median(times),
                  "models": count, "state_bytes": size}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def js_summary(resources: list) -> tuple[int, int, list]:
    js = [(name, size, dur) for name, size, dur in resources if name.split("?")[0].endswith(".js")]
    top = sorted(js, key=lambda r: -r[1])[:4]
    return len(js), sum(size for _, size, _ in js), top


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--latency-runs", type=int, default=5)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    work = kernel_work()  # first: a fresh Python on a quiet machine, before any server starts
    with tempfile.TemporaryDirectory(prefix="psv-bench-") as tmp:
        workdir = Path(tmp)
        # the culler off (see serve), and a cell timeout that a busy machine's preheat cannot hit
        config = {"MappingKernelManager": {"cull_idle_timeout": 0}, "VoilaExecutor": {"timeout": 900}}
        (workdir / "voila.json").write_text(json.dumps(config))
        bare_nb = workdir / "bare.ipynb"
        bare_nb.write_text(json.dumps(notebook(BARE_SOURCE)))
        servers = [serve(REPO_NOTEBOOK, workdir), serve(bare_nb, workdir)]
        (dash_proc, dash_url), (bare_proc, bare_url) = servers
        results: dict[str, list] = {"dashboard": [], "bare": []}
        ws_dash = 0
        latency: dict[str, list[float]] = {"dashboard": [], "bare": [], "graph": []}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                for run in range(args.runs):
                    time.sleep(PREHEAT_S)  # both pools hold a preheated kernel again
                    order = [("dashboard", dash_url), ("bare", bare_url)]
                    pages = {}
                    for name, url in order if run % 2 == 0 else order[::-1]:
                        pages[name] = r = open_page(browser, url, PARTS[name])
                        results[name].append(r)
                        parts = ", ".join(f"{k} {v:.2f} s" for k, v in sorted(r["marks"].items(), key=lambda kv: kv[1]))
                        print(f"run {run + 1} {name:9s} interactive after {r['tti']:.2f} s ({parts})", flush=True)
                    if run == 0:  # the update latency, alternating on the two live pages
                        for i in range(args.latency_runs):
                            want = (5, 3)[i % 2]
                            numbers, graph = round_trip(
                                pages["dashboard"]["page"], ".psv-input-kernel_size input", str(want),
                                "([sel, v]) => document.querySelector(sel)?.innerText.replaceAll(',', '') === v",
                                [SHARED_COUNT, str(shared_count(want))], graph=True,
                            )
                            latency["dashboard"].append(numbers)
                            latency["graph"].append(graph)
                            latency["bare"].append(round_trip(
                                pages["bare"]["page"], ".widget-text input", f"ping{i}",
                                "(v) => document.querySelector('.echo')?.innerText === v", f"ping{i}",
                            )[0])
                        ws_dash = pages["dashboard"]["ws_bytes"][0]
                    for r in pages.values():
                        r["ctx"].close()
                browser.close()
        finally:
            for proc, _ in servers:  # the server and its kernels: the whole process group
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
    report(results, latency, work, ws_dash)


def shared_count(kernel_size: int) -> int:
    """Explore's shared-parameter card for conv at its first setting with this kernel size."""
    from paramshare_viz import zoo

    shared, _ = zoo.pair("conv", device="meta", kernel_size=kernel_size)  # Explore opens at the defaults
    return sum(p.numel() for p in shared.parameters())


def report(results: dict, latency: dict, work: dict, ws_dash: int) -> None:
    med = {k: statistics.median(r["tti"] for r in v) for k, v in results.items()}
    lat = {k: statistics.median(v) for k, v in latency.items()}
    print("\n== time to interactive (median of runs, preheated, empty browser cache) ==")
    for k in ("bare", "dashboard"):
        runs = ", ".join(f"{r['tti']:.2f}" for r in results[k])
        print(f"{k:10s} {med[k]:6.2f} s   (runs: {runs}; DOMContentLoaded {statistics.median(r['dcl'] for r in results[k]):.2f} s)")
    ratio = med["dashboard"] / med["bare"]
    print(f"ratio      {ratio:6.2f}x   goal <= 1.3x: {'met' if ratio <= 1.3 else 'NOT met'}")
    graph = [r["marks"]["graph"] for r in results["dashboard"]]
    print(f"graph      {statistics.median(graph):6.2f} s   (runs: {', '.join(f'{t:.2f}' for t in graph)}; "
          f"{statistics.median(graph) / med['bare']:.2f}x the bare page's slider)")
    print("\n== update latency (median, Enter -> updated view) ==")
    print(f"bare echo  {lat['bare'] * 1e3:7.0f} ms   (runs: {', '.join(f'{t * 1e3:.0f}' for t in latency['bare'])})")
    print(f"Explore    {lat['dashboard'] * 1e3:7.0f} ms   (runs: {', '.join(f'{t * 1e3:.0f}' for t in latency['dashboard'])})")
    lratio = lat["dashboard"] / lat["bare"]
    print(f"ratio      {lratio:6.2f}x   goal <= 2x: {'met' if lratio <= 2 else 'NOT met'}")
    print(f"graph      {lat['graph'] * 1e3:7.0f} ms   (runs: {', '.join(f'{t * 1e3:.0f}' for t in latency['graph'])}; "
          f"{lat['graph'] / lat['bare']:.1f}x the echo): Enter -> the sharing graph redrawn")
    print("\n== where the time goes ==")
    for k in ("bare", "dashboard"):
        r = results[k][0]
        n, kinds, sizes = widget_state(r["html"])
        n_js, js_bytes, top = js_summary(r["resources"])
        print(f"{k}: page HTML {len(r['html']) / 1024:.0f} KiB; {n} widget models embedded "
              f"({sum(sizes.values()) / 1024:.0f} KiB of state); {n_js} JS files, {js_bytes / 2**20:.1f} MiB; "
              f"websocket {r['ws_bytes_at_tti'] / 1024:.0f} KiB by interactive")
        for name, count in kinds.most_common(6):
            print(f"    {count:3d} x {name:28s} {sizes[name] / 1024:8.1f} KiB state")
        for name, size, dur in top:
            print(f"    js {size / 2**20:5.2f} MiB in {dur / 1000:5.2f} s  {name.split('/')[-1][:60]}")
    plotly = [r for r in results["dashboard"][0]["resources"] if "plotly" in r[0]]
    print(f"plotly.js fetched at dashboard load: {'yes' if plotly else 'no'} "
          f"({sum(r[1] for r in plotly) / 2**20:.1f} MiB)")
    print(f"kernel: import paramshare_viz.app {work['import_s']:.2f} s, make_dashboard() {work['build_s']:.2f} s "
          "(both before the visit: the kernel is preheated); "
          f"one Explore refresh {work['refresh_s'] * 1e3:.0f} ms of the {lat['dashboard'] * 1e3:.0f} ms latency")
    models, state = Counter(work["models"]), Counter(work["state_bytes"])
    print(f"kernel-side widget models after make_dashboard() + Explore: {sum(models.values())}, "
          f"{sum(state.values()) / 1024:.0f} KiB of state to sync; the largest:")
    for name, nbytes in state.most_common(4):
        print(f"    {models[name]:3d} x {name:28s} {nbytes / 1024:8.1f} KiB")
    print(f"websocket bytes over the whole dashboard session (load + {len(latency['dashboard'])} changes): "
          f"{ws_dash / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
