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
analyze included, collapsed) and ``graph flat`` (uncollapsed), and ``figure``
(``make_sharing_graph_figure`` of the collapsed graph). Goal: graph <= 2x analyze.

Then Chromium (``/usr/bin/chromium``, headless) opens ``to_html`` of the
collapsed LLaMA-7B graph: time from navigation to the plot drawn, and the
time of one ``Plotly.newPlot`` of the same figure on the loaded page (the
drawing alone, without loading plotly.js). Goal: under 1 s.
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
from paramshare_viz.plots.sharing_graph import make_sharing_graph_figure  # noqa: E402


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


def chromium_draw(graph: psv.SharingGraph) -> tuple[float, float]:
    """Seconds from navigation to the plot drawn, and of one ``Plotly.newPlot`` on the loaded page."""
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run"]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        path = graph.to_html(Path(tmp) / "graph.html")
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        page = browser.new_page()
        page.goto("about:blank")
        start = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_function("() => document.querySelector('.js-plotly-plot')?._fullLayout !== undefined")
        page.wait_for_selector(".js-plotly-plot .scatterlayer .trace")
        load = time.perf_counter() - start
        redraw = page.evaluate(
            """async () => { const gd = document.querySelector('.js-plotly-plot');
            const t = performance.now(); await Plotly.newPlot(gd, gd.data, gd.layout);
            return (performance.now() - t) / 1000; }"""
        )
        browser.close()
    return load, redraw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="rounds per model (default 9)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium drawing time")
    args = parser.parse_args(argv)

    print(f"torch {torch.__version__}; medians of interleaved rounds, ms; graph includes analyze")
    head = (f"{'model':<15} {'analyze':>8} {'+table':>8} {'graph':>8} {'flat':>8} {'figure':>8} "
            f"{'g/an':>6} {'g/an+t':>7}  {'modules':>13} {'tensors':>13} {'edges':>13}")
    print(head)
    llama = None
    for label, model in models():
        med = measure({
            "analyze": lambda m=model: psv.analyze(m),
            "analyze+table": lambda m=model: psv.analyze(m).modules,
            "graph": lambda m=model: psv.sharing_graph(m),
            "graph flat": lambda m=model: psv.sharing_graph(m, collapse=False),
        }, args.repeats)
        g, flat = psv.sharing_graph(model), psv.sharing_graph(model, collapse=False)
        fig_s = measure({"figure": lambda g=g: make_sharing_graph_figure(g)}, max(3, args.repeats // 3))["figure"]
        if label.startswith("LLaMA"):
            llama = g
        counts = [f"{len(a):>5} / {len(b):<5}" for a, b in
                  ((g.modules, flat.modules), (g.tensors, flat.tensors), (g.edges, flat.edges))]
        ms = {k: v * 1e3 for k, v in med.items()}
        print(f"{label:<15} {ms['analyze']:8.2f} {ms['analyze+table']:8.2f} {ms['graph']:8.2f} "
              f"{ms['graph flat']:8.2f} {fig_s * 1e3:8.1f} {ms['graph'] / ms['analyze']:6.2f} "
              f"{ms['graph'] / ms['analyze+table']:7.2f}  {counts[0]:>13} {counts[1]:>13} {counts[2]:>13}")
    print("counts: collapsed / uncollapsed; g/an = graph / analyze, g/an+t = graph / (analyze + its table)")
    if not args.no_browser and llama is not None:
        load, redraw = chromium_draw(llama)
        print(f"Chromium, collapsed LLaMA-7B graph ({len(llama.modules)} modules, {len(llama.tensors)} tensors): "
              f"page load to drawn {load:.2f} s; Plotly.newPlot alone {redraw:.3f} s "
              f"(the rest is loading and parsing the inlined plotly.js)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
