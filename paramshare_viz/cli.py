"""Command line: ``paramshare-viz dashboard | inspect | bench | graph | atlas``.

Each subcommand is one ``_add_<name>(subparsers)`` function that registers its
arguments and a ``func`` to run; the work itself lives in the package.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paramshare_viz.units import plural


def _add_dashboard(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="serve the Voila dashboard")
    p.add_argument("--port", type=int, default=8866, help="port to serve on (default 8866)")
    p.add_argument("--ip", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--notebook", help="notebook to serve (default: the packaged dashboard)")

    def run(args: argparse.Namespace) -> int:
        from paramshare_viz.app.serve import serve

        return serve(port=args.port, ip=args.ip, open_browser=not args.no_browser, notebook=args.notebook)

    p.set_defaults(func=run)


def _input_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a shape; use comma-separated sizes, e.g. 2,3,32,32"
        ) from None
    if not shape or any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(f"{text!r}: sizes must be positive integers, e.g. 2,3,32,32")
    return shape


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect",
        help="which tensors a model shares, what it holds, and which ties survive saving/loading",
        description=(
            "SPEC is zoo:<form>[?field=value&...], hf:<model-type or config.json> (built on the meta "
            "device, no download), a .pt/.pth/.bin/.safetensors state dict, or package.module:factory."
        ),
    )
    p.add_argument("spec", metavar="SPEC", help="model spec, e.g. hf:gpt2, zoo:albert?num_layers=4, model.pt")
    p.add_argument("--json", action="store_true", help="print the report and tie health as JSON")
    p.add_argument(
        "--input-shape",
        type=_input_shape,
        metavar="N,C,...",
        help="run one forward on a random input of this shape to count calls and FLOPs "
        "(token ids for hf: specs; zoo: specs use the form's example input without it)",
    )
    p.add_argument("--top", type=int, default=10, help="rows in the module table (default 10)")

    def run(args: argparse.Namespace) -> int:
        import json

        from paramshare_viz.analysis.loading import example_input_for, load_model
        from paramshare_viz.analysis.report import analyze
        from paramshare_viz.analysis.summary import format_summary
        from paramshare_viz.analysis.tie_hints import tie_hints
        from paramshare_viz.analysis.ties import check_ties

        model = load_model(args.spec)
        example = example_input_for(args.spec, model, args.input_shape)
        report = analyze(model, example)
        if report.forward_error is not None:  # the forward failed: name the input, keep one line
            what = (
                f"shape {','.join(map(str, args.input_shape))}"
                if args.input_shape
                else "the zoo example input"
            )
            raise ValueError(f"{args.spec}: {report.forward_error.replace('the example input', what, 1)}")
        health = check_ties(model, report=report)
        hints = tie_hints(model)
        if args.json:
            out = {"spec": args.spec, "model_class": type(model).__name__, **report.to_dict()}
            out["tie_health"] = health.to_dict()
            out["tie_hints"] = hints.to_dict()
            print(json.dumps(out, indent=2))
        else:
            shown = args.spec.encode("utf-8", "backslashreplace").decode()  # a non-UTF-8 file name prints
            title = f"{type(model).__name__}  ({shown}, {health.device})"
            print(format_summary(report, health, title=title, top_modules=args.top, hints=hints), end="")
        return 0

    p.set_defaults(func=run)


def _overrides(pairs: Sequence[str]) -> dict[str, Any]:
    from paramshare_viz.analysis.loading import parse_value  # imports torch: not at CLI start-up

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{pair!r} is not a config override; write field=value, e.g. image_size=16")
        out[key.strip()] = parse_value(value.strip())
    return out


def _overrides_anywhere(p: argparse.ArgumentParser) -> None:
    """Let ``field=value`` words come after options too (argparse takes positionals in one run)."""

    def parse_known_args(args=None, namespace=None):
        ns, extras = argparse.ArgumentParser.parse_known_args(p, args, namespace)
        late = [a for a in extras if "=" in a and not a.startswith("-")]
        ns.overrides = [*(ns.overrides or []), *late]
        return ns, [a for a in extras if a not in late]

    p.parse_known_args = parse_known_args  # type: ignore[method-assign]


def check_outputs(**outputs: str | None) -> None:
    """Each file an option will write (``html="a.html"`` for ``--html``) has a folder to go in: said before any
    work is done, not after a measurement that took minutes.

    Raises:
        ValueError: naming the option, the file and the missing folder.
    """
    for name, path in outputs.items():
        if path and not Path(path).parent.is_dir():
            raise ValueError(f"--{name} {path}: the folder {Path(path).parent} does not exist")


def threads_said(n: int) -> str:
    """``'1 thread, the default: --threads N for more'``: the count and whether it was chosen."""
    return plural(n, "thread") + (", the default: --threads N for more" if n == 1 else "")


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="time, FLOPs and memory of a sharing form vs its unshared twin (one config or a sweep)",
        description=(
            "Without --knob: compare the shared model and its twin at one config and print a table. "
            "With --knob and --values: sweep that config field (a progress bar on stderr) and print one "
            "row per value. Config fields are given as field=value, e.g. in_channels=16."
        ),
    )
    p.add_argument("form", metavar="FORM", help="a zoo form, e.g. conv, albert, rnn")
    p.add_argument("overrides", nargs="*", metavar="field=value", help="config overrides, e.g. image_size=16")
    _overrides_anywhere(p)
    p.add_argument("--knob", help="config field to sweep, e.g. image_size, num_layers, seq_len")
    p.add_argument("--values", help="comma-separated values of --knob, e.g. 8,16,32")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument(
        "--backward",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also count, time and measure forward + backward (default: yes)",
    )
    p.add_argument("--batch", type=int, default=2, help="batch size of the example input (default 2)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads to hold while timing (default 1: with more, on a 2-core machine shared with other "
        "work, every parallel region waits for its slowest thread, so one busy core can slow a pass several times)",
    )
    p.add_argument(
        "--min-time",
        type=float,
        help="seconds of timed work per model and measurement (default 0.2; 0.05 per sweep point)",
    )
    p.add_argument("--roof", action="store_true", help="also measure the machine's roofs (about 2 s on CPU)")
    p.add_argument("--csv", metavar="PATH", help="write the rows as CSV")
    p.add_argument("--html", metavar="PATH", help="write a figure as HTML (sweep: --metric vs the knob)")
    p.add_argument("--metric", default="time", help="metric of the sweep figure (default time)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")

    def run(args: argparse.Namespace) -> int:
        import json

        from paramshare_viz import bench, zoo
        from paramshare_viz.analysis.loading import parse_value
        from paramshare_viz.bench.table import pair_table, sweep_table
        from paramshare_viz.plots import bench_figures

        check_outputs(csv=args.csv, html=args.html)
        overrides = _overrides(args.overrides)
        if (args.knob is None) != (args.values is None):
            raise ValueError("--knob and --values go together, e.g. --knob image_size --values 8,16,32")
        if args.html and args.metric not in bench_figures.SWEEP_METRICS:
            choices = sorted(bench_figures.SWEEP_METRICS)
            raise ValueError(f"--metric {args.metric!r} unknown; choose one of {choices}")
        timing = {} if args.min_time is None else {"min_time_s": args.min_time}
        common = dict(device=args.device, backward=args.backward, timing=timing)
        if args.knob:
            values = [parse_value(v.strip()) for v in args.values.split(",") if v.strip()]
            kw = dict(batch=args.batch, threads=args.threads, bar=True, **common)
            result = bench.sweep(args.form, args.knob, values, **kw, **overrides)
            rows, out = result.rows, result.to_dict()
            text = f"{args.form}: shared vs twin over {args.knob} "
            text += f"({result.device_name}, {threads_said(result.threads)})\n"
            text += sweep_table(args.knob, rows)
            if args.csv:
                result.to_csv(args.csv)
            if args.html:
                bench_figures.make_sweep_figure(result, metric=args.metric).write_html(args.html)
        else:
            shared, unshared = zoo.pair(args.form, device=args.device, **overrides)
            x = zoo.example_input(args.form, batch=args.batch, device=args.device, **overrides)
            careful = {"warmup": 3, "min_runs": 10, "min_time_s": 0.2, **timing}
            with bench.fixed_threads(args.threads):
                row = bench.measure_pair(shared, unshared, x, **{**common, "timing": careful})
                env = bench.environment(args.device)
            rows = [row]
            out = {"form": args.form, "overrides": overrides, **env, "row": row}
            text = f"{args.form} {overrides or ''}: shared vs unshared twin "
            text += f"({env['device_name']}, {threads_said(env['threads'])})\n"
            text += pair_table(row)
            if args.csv:
                bench.write_csv([row], args.csv)
            if args.html:
                fig = bench_figures.make_compare_figure(row, title=f"{args.form}: shared vs unshared twin")
                fig.write_html(args.html)
        if args.roof:
            roof = bench.measure_roof(args.device)
            out["roof"] = roof.to_dict()
            text += f"\nroofs: peak {roof.peak_flops / 1e9:.3g} GFLOP/s ({roof.peak_kernel}), "
            text += f"bandwidth {roof.bandwidth_bytes_per_s / 1e9:.3g} GB/s (copy), "
            text += f"ridge {roof.ridge_intensity:.3g} FLOP/B"
        print(json.dumps(out, indent=2, default=str) if args.json else text)
        return 0

    p.set_defaults(func=run)


def _add_graph(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "graph",
        help="draw which modules hold and reuse which tensors (a standalone HTML page, an SVG)",
        description="SPEC as for inspect. Writes the sharing graph as one HTML file that opens without a "
        "kernel or a network (--html), as one SVG drawing of every row (--svg), or both; --json also prints "
        "its modules, tensors and edges.",
    )
    p.add_argument("spec", metavar="SPEC", help="model spec, e.g. hf:gpt2, zoo:albert?num_layers=4, model.pt")
    p.add_argument("--html", metavar="OUT", help="HTML file to write (the interactive page)")
    p.add_argument("--svg", metavar="OUT", help="SVG file to write (the page's graph as first drawn)")
    p.add_argument("--json", action="store_true", help="also print the graph as JSON")
    p.add_argument("--no-collapse", action="store_true", help="one node per layer instead of h.[0-11]")
    p.add_argument("--input-shape", type=_input_shape, metavar="N,C,...",
                   help="run one forward on a random input of this shape to count calls (as for inspect)")

    def run(args: argparse.Namespace) -> int:
        import json

        from paramshare_viz.analysis.loading import example_input_for, load_model
        from paramshare_viz.graph import sharing_graph

        if not (args.html or args.svg):
            raise ValueError("nothing to write: give --html OUT.html, --svg OUT.svg or both")
        check_outputs(html=args.html, svg=args.svg)
        model = load_model(args.spec)
        example = example_input_for(args.spec, model, args.input_shape)
        graph = sharing_graph(model, example, collapse=not args.no_collapse)
        if args.html:
            graph.to_html(args.html, title=f"{args.spec}: sharing graph")
        if args.svg:
            graph.to_svg(args.svg)
        if args.json:
            print(json.dumps({"spec": args.spec, **graph.to_dict()}, indent=2))
        else:
            shared = len(graph.shared_tensors)
            files = " and ".join(path for path in (args.html, args.svg) if path)
            print(f"{files}: {plural(len(graph.modules), 'module')}, {plural(len(graph.tensors), 'tensor')}, "
                  f"{shared} shared")
        return 0

    p.set_defaults(func=run)


def _add_atlas(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "atlas",
        help="every transformers model type built on meta: its ties, and whether its config agrees",
        description=(
            "Builds every model type of the installed transformers from its default config on the meta "
            "device (nothing downloaded; minutes the first time, then read from the cache) and prints, per "
            "type, the tie audit: the config's tie_word_embeddings (top level, text config), the verdict "
            "(agrees / config says tie, model does not / declared by class, not by config / by design) and "
            "why. Progress goes to stderr."
        ),
    )
    p.add_argument("types", nargs="*", metavar="TYPE", help="model types to audit (default: all of them)")
    p.add_argument("--disagreements", action="store_true", help="only the types whose audit is not 'agrees'")
    p.add_argument("--search", default="", help="only rows matching every word (type, class, tensor name)")
    p.add_argument("--json", action="store_true", help="print the rows, audit fields included, as JSON")
    p.add_argument("--no-cache", action="store_true", help="build every type again, without the cache")

    def run(args: argparse.Namespace) -> int:
        import json

        from paramshare_viz.analysis.atlas import iter_atlas, model_types, select_rows

        known = set(model_types())
        unknown = [t for t in args.types if t not in known]
        if unknown:
            raise ValueError(f"TYPE {unknown[0]!r} is not a model type of the installed transformers")
        rows = []
        live = sys.stderr.isatty()  # a progress line redrawn in place; nothing in a captured log
        for step in iter_atlas(args.types or None, cache=not args.no_cache):
            rows.append(step.row)
            if live:
                print(f"\r{step.done:,} of {step.total:,} model types", end="", file=sys.stderr, flush=True)
        if live:
            print(file=sys.stderr)
        picked = select_rows(rows, args.search, disagreements=args.disagreements)
        if args.json:
            print(json.dumps([r.to_dict() for r in picked], indent=2))
            return 0
        built = [r for r in rows if not r.error]
        print(f"{plural(len(rows), 'model type')}, {len(built):,} built from a default config, "
              f"{sum(r.disagrees for r in built):,} whose config and built ties disagree")
        for r in picked:
            if r.error:
                print(f"{r.model_type}: did not build: {r.error}")
                continue
            text = "" if r.text_config_tie is None else f", text config {r.text_config_tie}"
            flags = f"tie_word_embeddings: config {'not set' if r.config_tie is None else r.config_tie}{text}"
            if r.head_model:  # transformers reads the flag of the sub-model that holds the head
                flags += f", {r.head_model} config {'not set' if r.head_model_tie is None else r.head_model_tie}"
            print(f"{r.model_type} ({r.model_class}; {flags}): {r.verdict}: {r.detail}")
        return 0

    p.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paramshare-viz", description="Explore parameter sharing in neural networks."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_dashboard(sub)
    _add_inspect(sub)
    _add_bench(sub)
    _add_graph(sub)
    _add_atlas(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as err:  # bad user input: one plain line, no traceback
        print(f"paramshare-viz {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
