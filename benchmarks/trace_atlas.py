"""Trace every tensor use of every transformers model type the tie atlas builds (issue 20).

Run: ``.venv/bin/python benchmarks/trace_atlas.py [--out uses_atlas.jsonl] [--types gpt2,t5]``

Each type is built from its default config on the meta device
(:func:`paramshare_viz.analysis.atlas.build_default`) and analysed with 8
random token ids (``example_input_for(..., (1, 8))``). One JSON line per type:
built or why not, whether the forward ran (or its error in words, and whether
the same forward fails without the tracer), the tensors
read by a module that does not hold them (``report.borrowed``) and the ties
transformers declares by name (``report.groups`` of names). A closing line
counts them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paramshare_viz as psv  # noqa: E402
from paramshare_viz.analysis.atlas import _quiet, build_default, model_types  # noqa: E402
from paramshare_viz.analysis.loading import example_input_for  # noqa: E402
from paramshare_viz.analysis.runtime import count_calls  # noqa: E402


def trace_type(model_type: str) -> dict:
    row: dict = {"type": model_type}
    try:
        model = build_default(model_type)
    except Exception as err:  # ValueError in words, or a config class's own validation error
        return {**row, "built": False, "why": f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"}
    row["built"] = True
    row["class"] = type(model).__name__
    start = time.perf_counter()
    try:
        with _quiet():
            example = example_input_for(f"hf:{model_type}", model, (1, 8))
            report = psv.analyze(model, example)
    except Exception as err:  # an input the model cannot take at all (example_input_for refused it)
        return {**row, "traced": False, "why": f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"}
    row["seconds"] = round(time.perf_counter() - start, 2)
    row["traced"] = report.forward_error is None
    if report.forward_error:
        row["why"] = report.forward_error
        try:  # the same forward without the use tracer (calls only): does the input fail there too?
            with _quiet():
                count_calls(model, example)
            row["untraced"] = "runs"
        except Exception as err:
            row["untraced"] = f"fails too ({type(err).__name__})"
        return row
    row["named_ties"] = [g.names for g in report.groups if g.kind != "functional"]
    row["borrowed"] = [
        {"names": g.names, "holders": g.holders, "borrowers": g.borrowers} for g in report.borrowed
    ]
    row["unused"] = sum(1 for n in (report.uses or {}).values() if n == 0)
    row["max_uses"] = max((report.uses or {"": 0}).values())
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="uses_atlas.jsonl", help="JSON-lines file to write")
    parser.add_argument("--types", default="", help="comma-separated model types (default: all)")
    args = parser.parse_args(argv)
    types = args.types.split(",") if args.types else model_types()
    counts = {"types": 0, "built": 0, "traced": 0, "with_borrows": 0}
    with open(args.out, "w", encoding="utf-8") as out:
        for t in types:
            row = trace_type(t)
            out.write(json.dumps(row) + "\n")
            out.flush()
            counts["types"] += 1
            counts["built"] += row["built"]
            counts["traced"] += bool(row.get("traced"))
            counts["with_borrows"] += bool(row.get("borrowed"))
            if row.get("borrowed"):
                print(t, json.dumps(row["borrowed"]), flush=True)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
