"""Fuzz the dashboard in a real browser (issue 14): a few hundred random values into its widgets.

Each step picks a visible widget of the open tab and drives it as a visitor would: text typed
into text and number boxes (junk, empty, negative, 1e99, huge integers, small valid ones),
options picked, boxes ticked, sliders moved by keyboard, buttons pressed. After every step
the page must show no traceback and no raw exception name, and the kernel must not have
raised out of a callback; at checkpoints Explore goes back to a known setting and must show
its numbers again (the kernel is alive and answers). Replay a run with ``PSV_FUZZ_SEED=<n>``;
``PSV_FUZZ_VERBOSE=1`` (with ``-s``) prints every step.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import time
from collections import Counter

import pytest
from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1
from playwright.sync_api import Error as PlaywrightError

from paramshare_viz import zoo
from paramshare_viz.app.explore import form_label
from tests.test_browser import expected_counts, set_field, shown_counts, wait_for_conv_count

pytestmark = pytest.mark.browser

SEED = int(os.environ.get("PSV_FUZZ_SEED", "14"))
#: Steps per tab, in this order (Explore first and most); 250 in all, about 90 s on two busy cores.
PLAN = {"Explore": 90, "Slide": 45, "Unroll": 35, "Learn": 30, "Inspect": 20, "Compare": 30}
CHECK_EVERY = 50  # steps between recoveries of Explore (and once more at the end)

#: What a visitor might type into a box that wants a number.
NUMBER_TEXTS = [
    "abc", "", " ", "-5", "0", "-0", "1e99", "99999999999", "9" * 40, "3.5", "4.0", "nan", "inf", "-inf",
    "0x10", "1_000", "1,000", "+3", " 7 ", "½", "٣", "2**10", "1e3",
]
SMALL_INTS = ["1", "2", "3", "4", "5", "6", "8", "16"]
JUNK = ["hello", "<b>bold</b>", "<script>alert(1)</script>", "';--", "{}", "[1, 2]", "None", "True", "λ", "∞", "🙂",
        "x" * 300]
LISTS = ["1, 2, 4", "0, 0.01, inf", "4 8 16", "1,,2", "-1, 2", "∞", "1e99, 2", "0.5"]
SPECS = ["hf:gpt2", "module:factory", "os:system", "paramshare_viz.zoo:pair", "zoo:albert", "zoo:nope", "hf:",
         "hf:no-such-model-type", "hf:../../etc/passwd", "/etc/passwd", "file:///etc/passwd", "zoo:conv"]
PATTERNS = ["1 0\n0 1", "1 2 3\n4 5 6\n7 8 9", "abc", "", "1e99 1\n1 1", "1 2\n3", "nan nan\nnan nan", "0",
            "1, 0, -1\n2, 0, -2\n1, 0, -1"]
SLIDER_KEYS = ["ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"]

#: Buttons the fuzz never presses: file choosers, and the tie atlas (minutes of building).
NEVER = ("psv-upload-config", "psv-upload-weights", "psv-atlas-build")
#: Buttons that start training or timing: the fuzz makes the run small first and presses Stop after.
RUNS = ("psv-learn-run", "psv-learn-sweep", "psv-measure", "psv-sweep")

#: Every visible, enabled widget of a tab, tagged so one step can find it again.
DISCOVER = """([root, tag]) => {
  const kinds = [["text", "input[type=text]"], ["number", "input[type=number]"], ["select", "select"],
                 ["textarea", "textarea"], ["checkbox", "input[type=checkbox]"], ["slider", ".noUi-handle"],
                 ["readout", ".widget-readout"], ["toggle", ".widget-toggle-button"],
                 ["button", "button.jupyter-button:not(.widget-toggle-button)"]];
  const found = [];
  for (const [kind, sel] of kinds) {
    for (const el of document.querySelectorAll(root + " " + sel)) {
      if (el.disabled || !el.getClientRects().length) continue;  // hidden (another view) or disabled
      const box = el.closest(".jupyter-widgets");
      const id = tag + "-" + found.length;
      el.setAttribute("data-fuzz", id);
      const psv = kind !== "toggle" && ((box && box.className.match(/psv-[\\w-]+/)) || el.className.match(/psv-[\\w-]+/));
      const label = kind !== "toggle" && box && box.querySelector(".widget-label");
      found.push({id, kind, name: psv ? psv[0] : (label && label.textContent) || el.textContent.trim()});
    }
  }
  return found;
}"""

#: Notes when an element was last added or removed (views of new widgets are drawn then).
WATCH_DOM = """() => {
  window.psvFuzzMutated = performance.now();
  new MutationObserver(() => { window.psvFuzzMutated = performance.now(); })
    .observe(document.body, {childList: true, subtree: true});
}"""
SINCE_DOM_CHANGE = "() => performance.now() - window.psvFuzzMutated"

#: Why a widget may refuse a step: disabled, hidden, or out of the page.
WIDGET_STATE = """(e) => { const r = e.getBoundingClientRect();
  return `disabled=${e.disabled} rect=${r.x},${r.y},${r.width}x${r.height} options=${e.options?.length}`
    + ` visibility=${getComputedStyle(e).visibility} html=${e.outerHTML.slice(0, 200)}`; }"""

#: What a visitor sees that would be wrong, read in one round trip.
PROBE = """() => ({
  traceback: document.body.textContent.includes("Traceback"),
  errorOutputs: document.querySelectorAll('.jp-OutputArea-output[data-mime-type*="error"], '
    + '[data-mime-type="application/vnd.jupyter.stderr"]').length,
  status: document.querySelector(".psv-status")?.innerText ?? "",
  level: document.querySelector(".psv-status [data-level]")?.dataset.level ?? "",
  lost: Array.from(document.querySelectorAll(".psv-kernel-lost")).some((b) => !b.hidden),
})"""
#: A Python exception's class name shown as such ("TypeError: ..."): an error the app did not word.
RAW_EXCEPTION = re.compile(r"\b[A-Z]\w*(Error|Exception)\b")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class KernelWatch:
    """What the kernel sends the page but Voila never shows: callback errors and stderr.

    With ``show_tracebacks=False`` a widget callback that raises leaves the page unchanged; the
    kernel still sends an iopub ``error`` message (ipywidgets' ``_show_traceback``), and an
    exception in a thread arrives as a ``stream`` on stderr. Both come over the page's websocket.
    """

    def __init__(self, page) -> None:
        self.errors: list[tuple[int, str]] = []
        self.warnings: list[str] = []
        self.step = 0
        self.frames = 0
        self.last_frame = 0.0  # when the last frame from the kernel came (time.monotonic)
        self.busy = False  # the kernel's last iopub status: busy while it handles a message
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        self.frames += 1
        self.last_frame = time.monotonic()
        message = _kernel_message(payload)
        if message is None:
            return
        msg_type, content = message
        if msg_type == "status":
            self.busy = content.get("execution_state") == "busy"
        elif msg_type == "error":
            trace = "\n".join(content.get("traceback", []))
            self.errors.append((self.step, ANSI.sub("", f"{content.get('ename')}: {content.get('evalue')}\n{trace}")))
        elif msg_type == "stream" and content.get("name") == "stderr":
            text = ANSI.sub("", content.get("text", ""))
            if "Traceback" in text or "Error" in text:
                self.errors.append((self.step, text))
            else:
                self.warnings.append(f"step {self.step}: {text.strip()[:300]}")


def _kernel_message(payload: str | bytes) -> tuple[str, dict] | None:
    """``(msg_type, content)`` of one frame from the kernel (JSON or Jupyter's v1 binary protocol)."""
    try:
        if isinstance(payload, str):
            msg = json.loads(payload)
            return msg["header"]["msg_type"], msg["content"]
        _channel, parts = deserialize_msg_from_ws_v1(payload)
        return json.loads(parts[0])["msg_type"], json.loads(parts[3])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


class Fuzz:
    """One page, one seeded RNG, and a log of what was driven."""

    def __init__(self, page, seed: int) -> None:
        self.page, self.seed = page, seed
        self.rng = random.Random(seed)  # replaced at every step by one seeded with the seed and the step's number
        self.looks = 0  # how many times the fuzz looked for widgets: each look tags them afresh
        self.watch = KernelWatch(page)
        self.log: list[str] = []
        self.kinds: Counter[str] = Counter()
        self.tabs: Counter[str] = Counter()
        self.dialogs: list[str] = []
        self.retries = 0  # steps tried again after their widget was re-rendered under them
        self.page_errors: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda err: self.page_errors.append(str(err)))

    def load(self, url: str) -> None:
        """Open the dashboard, watched from the start: its websocket opens while it loads."""
        self.page.goto(url, timeout=120_000)
        self.page.wait_for_selector(".psv-tab-explore .psv-cards-box", timeout=120_000)
        self.page.evaluate(WATCH_DOM)
        assert self.watch.last_frame > 0, "the kernel's websocket was not seen"

    # --- what went wrong, with what it takes to replay it ---------------------------------------

    def where(self) -> str:
        recent = "\n  ".join(self.log[-6:])
        return f"seed={self.seed} (replay: PSV_FUZZ_SEED={self.seed}), step {len(self.log)}; last steps:\n  {recent}"

    def check(self) -> None:
        """Nothing a visitor should not see, and nothing the kernel raised, since the last check."""
        seen = self.page.evaluate(PROBE)
        if self.watch.errors:
            step, text = self.watch.errors[0]
            head, _, trace = text.partition("\n")
            raise AssertionError(f"the kernel raised (seen at step {step}): {head}\n...{trace[-1500:]}\n{self.where()}")
        assert not seen["traceback"] and not seen["errorOutputs"], f"the page shows a traceback\n{self.where()}"
        assert not RAW_EXCEPTION.search(seen["status"]), f"raw exception in the status: {seen['status']!r}\n{self.where()}"
        assert not seen["lost"], f"the page lost its kernel\n{self.where()}"
        assert not self.dialogs, f"a dialog opened (script ran?): {self.dialogs}\n{self.where()}"
        assert not self.page_errors, f"the page's JavaScript raised: {self.page_errors[0][:500]}\n{self.where()}"

    def settle(self, quiet_s: float = 0.04, most_s: float = 5.0) -> float:
        """Until the kernel is idle and quiet and the page has drawn its answer to the last step (or an error)."""
        start = time.monotonic()
        while time.monotonic() - start < most_s:
            self.page.wait_for_timeout(20)  # lets playwright deliver websocket frames meanwhile
            quiet = time.monotonic() - max(self.watch.last_frame, start)  # since the step, not before it
            if not self.watch.busy and quiet > quiet_s and self.page.evaluate(SINCE_DOM_CHANGE) > quiet_s * 1000:
                break
        return time.monotonic() - start

    # --- driving ----------------------------------------------------------------------------------

    def open_tab(self, title: str) -> None:
        self.page.click(f".lm-TabBar-tab:has-text('{title}')")
        try:
            self.page.wait_for_function(  # the panel is built (the first visit builds it)
                "([sel, building]) => { const s = document.querySelector(sel);"
                " return s && s.children.length && !s.textContent.includes(building); }",
                arg=[f".psv-tab-{title.lower()}", f"Building {title}…"], timeout=60_000,
            )
        except PlaywrightError as err:
            status = self.page.inner_text(".psv-status")
            raise AssertionError(f"the {title} tab did not open; status: {status!r}\n{self.where()}") from err
        self.settle(quiet_s=0.2, most_s=20)

    def step(self, tab: str) -> None:
        # One generator per step: a step retried on a re-rendered widget leaves later steps as they were.
        self.rng = random.Random(f"{self.seed}:{len(self.log)}")
        pick = self.rng.random()  # which widget, as a fraction of however many the tab shows
        widget = self.pick(tab, pick)
        action = self.plan(widget)  # every random choice is made here, so a retry replays the same step
        self.watch.step = len(self.log) + 1
        for attempt in range(3):
            el = self.page.locator(f"[data-fuzz='{widget['id']}']")
            # Short tries first: a widget re-rendered mid-step is waited for in vain, never found again.
            self.page.set_default_timeout(2_000 if attempt < 2 else 10_000)
            try:
                did = self.perform(tab, widget, action, el)
                break
            except PlaywrightError as err:
                if attempt == 2:
                    state = el.evaluate(WIDGET_STATE) if el.count() else "gone"
                    raise AssertionError(
                        f"driving {widget} failed ({state}): {err.message[:1500]}\n{self.where()}"
                    ) from err
                self.retries += 1
                self.settle()
                # Re-rendered just now (a form's fields are rebuilt when it changes), or hidden or
                # disabled by the app meanwhile (a Stop button once its job has ended): pick again.
                if not el.count() or not el.is_visible() or el.is_disabled():
                    widget = self.pick(tab, pick)
                    action = action if widget["kind"] == action["kind"] else self.plan(widget)
            finally:
                self.page.set_default_timeout(10_000)
        self.log.append(f"{tab} {widget['kind']} {widget['name']!r}: {did}")
        self.kinds[widget["kind"]] += 1
        self.tabs[tab] += 1
        waited = self.settle()
        if os.environ.get("PSV_FUZZ_VERBOSE"):
            print(len(self.log), self.log[-1], f"[settled in {waited:.2f} s]", flush=True)
        self.check()

    def pick(self, tab: str, at: float) -> dict:
        """The widget at fraction ``at`` of those the tab shows now (tagged for this step)."""
        self.looks += 1
        found = self.page.evaluate(DISCOVER, [f".psv-tab-{tab.lower()}", f"look{self.looks}"])
        found = [w for w in found if not w["name"].startswith(NEVER)]
        return found[int(at * len(found))]

    def plan(self, widget: dict) -> dict:
        """What to do to ``widget``: the step's random choices, made before touching the page."""
        kind, rng = widget["kind"], self.rng
        if kind == "select":
            return {"kind": kind, "at": rng.random()}  # which option, as a fraction of however many there are
        if kind == "slider":
            return {"kind": kind, "keys": [rng.choice(SLIDER_KEYS) for _ in range(rng.randint(1, 3))]}
        if kind == "button":
            return {"kind": kind, "size": rng.choice(["1", "2", "abc"]), "values": rng.choice(["4, 8", "abc", "", "0", "-5"])}
        if kind in ("checkbox", "toggle"):
            return {"kind": kind}
        text = self.text_for(widget)
        return {"kind": kind, "text": text, "commit": "Tab" if kind == "textarea" else rng.choice(["Enter", "Tab"])}

    def perform(self, tab: str, widget: dict, action: dict, el) -> str:
        kind = widget["kind"]
        if kind == "select":
            count = el.locator("option").count()
            if not count:  # Slide's "kernel entry" before its first view is drawn: nothing to pick
                return "no options"
            index = int(action["at"] * count)
            el.select_option(index=index)
            return f"option {index} of {count}"
        if kind in ("checkbox", "toggle"):
            el.click()
            return "click"
        if kind == "slider":
            el.focus()
            for key in action["keys"]:
                el.press(key)
            return f"keys {action['keys']}"
        if kind == "button":
            return self.press(tab, widget["name"], el, action)
        self.type_into(el, action["text"], action["commit"])
        return f"typed {action['text'][:40]!r} + {action['commit']}"

    def text_for(self, widget: dict) -> str:
        rng = self.rng
        if widget["kind"] == "textarea":
            return rng.choice(PATTERNS)
        if rng.random() < 0.4:  # valid values often, to reach states past the first refusal
            return rng.choice(SPECS if widget["name"] == "psv-inspect-spec" else SMALL_INTS)
        return rng.choice(rng.choice([NUMBER_TEXTS, NUMBER_TEXTS, JUNK, LISTS, SPECS]))

    def type_into(self, el, text: str, commit: str) -> None:
        """Select what is there and type over it, keys and all (``fill`` refuses junk in number boxes)."""
        el.click()
        el.press("Control+a")
        if text:
            self.page.keyboard.type(text)
        else:
            self.page.keyboard.press("Backspace")
        self.page.keyboard.press(commit)

    def press(self, tab: str, name: str, el, action: dict) -> str:
        if name not in RUNS:
            el.click()
            return "click"
        # A training or timing run: first made small (some of these values are refused, which is
        # the point), then stopped; the buttons must come back either way.
        root = f".psv-tab-{tab.lower()}"
        box = {"psv-learn-run": "Steps", "psv-learn-sweep": "Steps", "psv-measure": "Batch"}.get(name)
        if box is not None:
            sized = self.page.locator(f"{root} .widget-inline-hbox:has-text('{box}') input:visible")
            if sized.count():
                self.type_into(sized.first, "10" if box == "Steps" else action["size"], "Tab")
        else:
            self.type_into(self.page.locator(f"{root} .psv-sweep-values input"), action["values"], "Tab")
        self.settle()
        el.click()
        self.page.wait_for_timeout(100)
        stop = self.page.locator(f"{root} .psv-learn-stop, {root} .psv-stop").first
        stop.evaluate("b => b.disabled || b.click()")  # at once: a short run may already be over
        # No hang: the run ends (or was refused) and its button is back within the minute.
        self.page.wait_for_function("sel => !document.querySelector(sel).disabled", arg=f"{root} .{name}",
                                    timeout=60_000)
        return f"click (sized {action}), stop"

    # --- recovery ---------------------------------------------------------------------------------

    def recover(self) -> None:
        """Explore back at conv's defaults: the cards show the package's counts and no error."""
        page = self.page
        self.open_tab("Explore")
        page.select_option(".psv-form select", label=form_label("conv"))
        page.select_option(".psv-device select", label="cpu")
        page.select_option(".psv-dtype select", label="float32")
        for field in dataclasses.fields(zoo.default_config("conv")):
            value = getattr(zoo.default_config("conv"), field.name)
            if isinstance(value, bool):
                page.locator(f".psv-input-{field.name} input").set_checked(value)
            elif isinstance(value, int) and field.name != "kernel_size":
                set_field(page, field.name, value)
        # Two real changes: the kernel is alive and answers, whatever the fuzz left behind.
        for kernel_size in (5, 3):
            set_field(page, "kernel_size", kernel_size)
            want = expected_counts(kernel_size=kernel_size)
            wait_for_conv_count(page, want["shared"])
            assert shown_counts(page) == want, self.where()
        self.settle()
        self.check()
        seen = page.evaluate(PROBE)
        assert seen["level"] != "error", f"Explore did not recover: {seen['status']!r}\n{self.where()}"
        assert "Traceback" not in page.content(), self.where()


@pytest.mark.timeout(600)  # a page load and 250 steps: minutes when the 2 cores are shared
def test_fuzz_widgets_never_show_a_traceback(browser, dashboard_url):
    # One page for everything: each page takes the server's one preheated kernel.
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    loading = time.monotonic()
    try:
        fuzz = Fuzz(page, SEED)
        fuzz.load(dashboard_url)
        page.set_default_timeout(10_000)  # a widget that does not answer in 10 s is a finding, not a wait
        start = time.monotonic()
        for tab, steps in PLAN.items():
            if tab == "Compare":
                fuzz.recover()  # Compare measures Explore's setting as it opens: a known, small one
            fuzz.open_tab(tab)
            for _ in range(steps):
                fuzz.step(tab)
                if len(fuzz.log) % CHECK_EVERY == 0:
                    fuzz.recover()
                    fuzz.open_tab(tab)
        fuzz.recover()
        print(
            f"\nbrowser fuzz, seed {SEED}: {len(fuzz.log)} steps in {time.monotonic() - start:.0f} s "
            f"(page load {start - loading:.0f} s); "
            f"by tab {dict(fuzz.tabs)}; by widget kind {dict(fuzz.kinds.most_common())}; "
            f"retried {fuzz.retries}; {fuzz.watch.frames} kernel messages read, "
            f"{len(fuzz.watch.warnings)} stderr lines without a traceback"
        )
        for warning in dict.fromkeys(fuzz.watch.warnings):
            print("  stderr:", warning)
    finally:
        page.close()
