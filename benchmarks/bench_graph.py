"""How fast is ``psv.sharing_graph``, how big is it, and how fast does Chromium draw it?

Run: ``.venv/bin/python benchmarks/bench_graph.py [--repeats N] [--no-browser]``

Models, all on the meta device (no weights allocated), built from
``transformers`` configs with their published sizes:

* GPT-2 small (``psv.load_model("hf:gpt2")``: 12 layers, tied head);
* ALBERT-base (768 hidden, 128 embedding, 12 layers sharing one block);
* T5-small (6 + 6 layers, tied input embeddings);
* BART-base (6 + 6 layers, one shared embedding under three names);
* a LLaMA-7B-shaped model (``LlamaConfig()``: 32 layers, 4096 hidden);
* a synthetic model with 10,000 parameter tensors (500 blocks of 10 ``Linear(4, 4)``).

Per model, timed side by side (interleaved rounds, medians; see
``bench_analysis.measure``): ``analyze`` (static), ``analyze+table`` (its
per-module rows built, which the graph reads), ``graph`` (``sharing_graph``,
analyze included, collapsed) and ``graph flat`` (uncollapsed), and ``payload``
(``graph_payload`` of the collapsed graph: what the front end is sent). Goal:
graph <= 2x analyze.

Then Chromium (``/usr/bin/chromium``, headless) opens ``to_html`` (the package's
graph front end, ``app/static/graph.js``, inlined) of GPT-2, T5, LLaMA-7B and the
10,000-tensor model collapsed, and the 10,000-tensor model uncollapsed: time from
navigation to the graph drawn (``.psv-graph[data-version="1"]``), one redraw of
the same data on the loaded page (``update``: layout + DOM), a scroll to the middle
(rows are virtualised) and a click on a tensor until its holders are lit, each
to the next painted frame. Goal: drawn in under 1 s collapsed; scroll and click
quick (well under 100 ms) uncollapsed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_analysis import measure, synthetic  # noqa: E402

import paramshare_viz as psv  # noqa: E402
from paramshare_viz.graph_page import graph_payload  # noqa: E402


def hf(config_cls: str, model_cls: str, **kw) -> nn.Module:
    import transformers

    config = getattr(transformers, config_cls)(**kw)
    with torch.device("meta"):
        return getattr(transformers, model_cls)(config).eval()


def models() -> list[tuple[str, nn.Module]]:
    return [
        ("GPT-2 small", psv.load_model("hf:gpt2")),
        ("ALBERT-base", hf("AlbertConfig", "AlbertForMaskedLM", hidden_size=768, num_attention_heads=12,
                           intermediate_size=3072, embedding_size=128)),
        ("T5-small", hf("T5Config", "T5ForConditionalGeneration")),
        ("BART-base", hf("BartConfig", "BartForConditionalGeneration", d_model=768, encoder_layers=6,
                         decoder_layers=6, encoder_attention_heads=12, decoder_attention_heads=12,
                         encoder_ffn_dim=3072, decoder_ffn_dim=3072)),
        ("LLaMA-7B shape", hf("LlamaConfig", "LlamaForCausalLM")),
        ("synthetic 10k", synthetic("meta")),
    ]


FRAME = "() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))"  # the next painted frame


def chromium_draw(graphs: list[tuple[str, psv.SharingGraph]]) -> list[dict[str, float]]:
    """Per graph: seconds from navigation to drawn, of one redraw, of a scroll to the middle, of a click."""
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run"]
    out = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        for label, graph in graphs:
            path = graph.to_html(Path(tmp) / "graph.html")
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto("about:blank")
            start = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_selector('.psv-graph[data-version="1"]')
            page.evaluate(FRAME)
            load = time.perf_counter() - start
            timings = page.evaluate(
                """async (frame) => {
                const next = eval(frame), root = document.querySelector('.psv-graph'), f = root._psv;
                let t = performance.now(); f.update(false); await next();
                const redraw = performance.now() - t;
                t = performance.now(); f.viewport.scrollTop = f.view.height / 2; f.paint(false); await next();
                const scroll = performance.now() - t;
                const node = root.querySelector('[data-tensor]');
                t = performance.now(); node.click(); await next();
                const click = performance.now() - t;
                return {redraw: redraw / 1000, scroll: scroll / 1000, click: click / 1000,
                        lit: root.querySelectorAll('[data-module].psv-lit').length,
                        rows: f.view.rows.length, dom: root.querySelectorAll('[data-module]').length};
                }""",
                FRAME,
            )
            page.close()
            out.append({"label": label, "load": load, **timings})
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="rounds per model (default 9)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium drawing time")
    args = parser.parse_args(argv)

    print(f"torch {torch.__version__}; medians of interleaved rounds, ms; graph includes analyze")
    head = (f"{'model':<15} {'analyze':>8} {'+table':>8} {'graph':>8} {'flat':>8} {'payload':>8} "
            f"{'g/an':>6} {'g/an+t':>7}  {'modules':>13} {'tensors':>13} {'edges':>13}")
    print(head)
    drawn: list[tuple[str, psv.SharingGraph]] = []
    for label, model in models():
        med = measure({
            "analyze": lambda m=model: psv.analyze(m),
            "analyze+table": lambda m=model: psv.analyze(m).modules,
            "graph": lambda m=model: psv.sharing_graph(m),
            "graph flat": lambda m=model: psv.sharing_graph(m, collapse=False),
        }, args.repeats)
        g, flat = psv.sharing_graph(model), psv.sharing_graph(model, collapse=False)
        pay_s = measure({"payload": lambda g=g: graph_payload(g)}, max(3, args.repeats // 3))["payload"]
        if label.split()[0] in {"GPT-2", "T5-small", "LLaMA-7B", "synthetic"}:
            drawn.append((label, g))
        if label.startswith("synthetic"):
            drawn.append((label + " flat", flat))
        counts = [f"{len(a):>5} / {len(b):<5}" for a, b in
                  ((g.modules, flat.modules), (g.tensors, flat.tensors), (g.edges, flat.edges))]
        ms = {k: v * 1e3 for k, v in med.items()}
        print(f"{label:<15} {ms['analyze']:8.2f} {ms['analyze+table']:8.2f} {ms['graph']:8.2f} "
              f"{ms['graph flat']:8.2f} {pay_s * 1e3:8.1f} {ms['graph'] / ms['analyze']:6.2f} "
              f"{ms['graph'] / ms['analyze+table']:7.2f}  {counts[0]:>13} {counts[1]:>13} {counts[2]:>13}")
    print("counts: collapsed / uncollapsed; g/an = graph / analyze, g/an+t = graph / (analyze + its table)")
    if not args.no_browser:
        print("Chromium, to_html of each graph (the package's front end, no plotly): seconds")
        print(f"{'graph':<22} {'rows':>6} {'in DOM':>6} {'drawn':>7} {'redraw':>7} {'scroll':>7} {'click':>7} {'lit':>4}")
        for r in chromium_draw(drawn):
            print(f"{r['label']:<22} {r['rows']:>6} {r['dom']:>6} {r['load']:7.3f} {r['redraw']:7.3f} "
                  f"{r['scroll']:7.3f} {r['click']:7.3f} {r['lit']:>4}")
        print("drawn: navigation to the graph drawn; redraw: the same data laid out and drawn again; scroll: to "
              "the middle (virtualised rows); click: a tensor until its holders are lit; each to the next frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
