"""Frame rate of the Slide tab's animation in Chromium: 64x64 image, 3x3 kernel (goal: >= 30 fps).

Run: ``.venv/bin/python benchmarks/bench_slide_fps.py [--rounds N] [--seconds S] [--size 64]``

Serves the dashboard with the CLI (standalone Voila, as ``make dashboard``),
opens the Slide tab in headless Chromium, sets the image size, and measures
the page's frame rate from ``requestAnimationFrame`` timestamps in two states,
interleaved round by round on the same page:

* ``idle``: the animation paused (the page's own ceiling: the display rate);
* ``playing``: the kernel sliding over the 64x64 digit (receptive field,
  products, sum, both output maps filling in, twin kernel and counter
  redrawn every frame, all in the browser).

Also counts the frames the widget itself drew (its ``data-frames`` counter) and
the 95th percentile frame interval. Prints medians over rounds and the
playing/idle ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.servers import dashboard_command, free_port, running  # noqa: E402

# Count rAF callbacks for `ms` milliseconds; return frames, seconds, p95 interval, widget draws.
MEASURE = """async (ms) => {
  const root = document.querySelector('.psv-slide');
  const drawn0 = Number(root.dataset.frames || 0);
  const stamps = [];
  await new Promise((done) => {
    const tick = (t) => { stamps.push(t); if (t - stamps[0] < ms) requestAnimationFrame(tick); else done(); };
    requestAnimationFrame(tick);
  });
  const gaps = stamps.slice(1).map((t, i) => t - stamps[i]).sort((a, b) => a - b);
  return {
    frames: stamps.length - 1,
    seconds: (stamps[stamps.length - 1] - stamps[0]) / 1000,
    p95_ms: gaps[Math.floor(gaps.length * 0.95)],
    drawn: Number(root.dataset.frames || 0) - drawn0,
  };
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = Path(tempfile.mkdtemp()) / "voila.log"
    with running(dashboard_command(port), url, log), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1400})
        page.goto(url, timeout=120_000)
        page.click("text=Slide", timeout=120_000)
        page.wait_for_selector(".psv-slide-sum[data-cell]", timeout=120_000)
        box = page.locator(".psv-slide-size input")
        box.fill(str(args.size))
        box.press("Enter")
        side = args.size + 2 - 3 + 1  # padding 1, 3x3 kernel
        page.wait_for_function(
            "want => document.querySelector('.psv-slide-pos').innerText.endsWith(want)", arg=f"/ {side * side}",
            timeout=120_000,
        )
        ms = args.seconds * 1000
        rows: dict[str, list[dict]] = {"idle": [], "playing": []}
        for _ in range(args.rounds):
            rows["idle"].append(page.evaluate(MEASURE, ms))
            page.click(".psv-slide-reset")  # back to cell 0, paused; the default speed needs ~10 s for the map
            page.click(".psv-slide-play")
            rows["playing"].append(page.evaluate(MEASURE, ms))
            assert page.get_attribute(".psv-slide", "data-playing") == "true", "the map finished before the round"
            page.click(".psv-slide-play")  # pause
        browser.close()

    def med(state: str, key: str) -> float:
        return statistics.median(r[key] if key != "fps" else r["frames"] / r["seconds"] for r in rows[state])

    print(f"Slide animation, {args.size}x{args.size} digit, 3x3 kernel, {side}x{side} output; "
          f"{args.rounds} rounds of {args.seconds:.0f} s, medians (headless Chromium, {CHROMIUM})")
    print(f"{'state':<9}{'fps':>7}{'widget draws/s':>16}{'p95 frame ms':>14}")
    for state in ("idle", "playing"):
        draws = statistics.median(r["drawn"] / r["seconds"] for r in rows[state])
        print(f"{state:<9}{med(state, 'fps'):>7.1f}{draws:>16.1f}{med(state, 'p95_ms'):>14.1f}")
    print(f"playing / idle frame rate: {med('playing', 'fps') / med('idle', 'fps'):.2f}  (goal: playing >= 30 fps)")


if __name__ == "__main__":
    main()
