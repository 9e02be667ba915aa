"""The Compare tab's side-by-side table, and a sweep as CSV and as a standalone HTML report.

Pure builders: they take a :class:`~paramshare_viz.bench.twins.TwinMeasurement`
or a sweep (``SweepResult``) and return strings; the app shows or links them.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from typing import Any

import plotly.graph_objects as go

from paramshare_viz.analysis.savings import Figure, verdict
from paramshare_viz.bench.explain import memory_note, time_note
from paramshare_viz.bench.table import (
    TIME_RATIO_NOTE,
    fmt_bytes,
    fmt_count,
    fmt_ratio,
    fmt_seconds,
    fmt_times,
)
from paramshare_viz.bench.twins import TwinMeasurement
from paramshare_viz.plots.tables import STYLE
from paramshare_viz.units import plural

#: Ledger rows: (label, optimizer key, what the state holds).
LEDGER_ROWS = (
    ("SGD", "sgd", "no state"),
    ("SGD + momentum", "momentum", "1 buffer per parameter"),
    ("Adam", "adam", "2 moments per parameter + step"),
)


def _row(label: str, shared: str, twin: str, ratio: str, note: str = "", key: str = "") -> list[str]:
    title = f"<span title='{html.escape(note)}'>{label}</span>" if note else label
    return [title, shared, twin, ratio, key]


def _times(shared: float, twin: float) -> str:
    return fmt_times(twin / shared) if shared else "-"


def _median_iqr(median: float, iqr: float) -> str:
    """``'105 us ± 1.1 ms'``: each in its own unit (a noisy machine's IQR can dwarf the median)."""
    return f"{fmt_seconds(median)} ± {fmt_seconds(iqr)}"


def _bytes_rows(r: dict[str, Any]) -> list[list[str]]:
    rows = [
        _row("unique parameters", f"{r['params_shared']:,}", f"{r['params_unshared']:,}",
             _times(r["params_shared"], r["params_unshared"]), key="params"),
        _row("parameter bytes", fmt_bytes(r["param_bytes_shared"]), fmt_bytes(r["param_bytes_unshared"]),
             _times(r["param_bytes_shared"], r["param_bytes_unshared"]), key="param_bytes"),
    ]
    if r["buffer_bytes_shared"] or r["buffer_bytes_unshared"]:
        rows.append(_row("buffer bytes", fmt_bytes(r["buffer_bytes_shared"]), fmt_bytes(r["buffer_bytes_unshared"]),
                         _times(r["buffer_bytes_shared"], r["buffer_bytes_unshared"]),
                         "registered buffers (not trained), each distinct element once", key="buffer_bytes"))
    rows.append(_row("parameters + buffers", fmt_bytes(r["held_bytes_shared"]), fmt_bytes(r["held_bytes_unshared"]),
                     _times(r["held_bytes_shared"], r["held_bytes_unshared"]), "what the model holds", key="held_bytes"))
    return rows


def _ledger_cell(b: Any) -> str:
    parts = " + ".join(fmt_bytes(v) for v in (b.params, b.buffers, b.grads, b.optimizer_state))
    return f"<span title='{parts} (parameters + buffers + gradients + state)'>{fmt_bytes(b.total)}</span>"


def compare_rows(m: TwinMeasurement) -> list[tuple[str, list[list[str]]]]:
    """Sections of the table: ``(heading, rows)``; each row is label, shared, twin, twin ÷ shared, key."""
    r = m.row
    sections: list[tuple[str, list[list[str]]]] = []
    sections.append((f"Memory held ({m.dtype}): parameters + buffers", _bytes_rows(r)))
    ledger = []
    for label, key, state in LEDGER_ROWS:
        a, b = m.ledgers[key]
        note = f"parameters + buffers + gradients + optimizer state ({state}); activations not counted"
        ledger.append(_row(label, _ledger_cell(a), _ledger_cell(b), _times(a.total, b.total), note,
                           key=f"train_{key}"))
    sections.append(("Training memory (predicted): parameters + buffers + gradients + optimizer state", ledger))
    fwd_bwd = [r["flops_fwd_shared"] + r["flops_bwd_shared"], r["flops_fwd_unshared"] + r["flops_bwd_unshared"]]
    sections.append((
        "Compute (counted)",
        [
            _row("FLOPs forward", fmt_count(r["flops_fwd_shared"]), fmt_count(r["flops_fwd_unshared"]),
                 _times(r["flops_fwd_shared"], r["flops_fwd_unshared"]), key="flops_fwd"),
            _row("FLOPs forward + backward", fmt_count(fwd_bwd[0]), fmt_count(fwd_bwd[1]),
                 _times(*fwd_bwd), key="flops_bwd"),
        ],
    ))
    threads = plural(m.threads, "thread") if m.device == "cpu" else m.device_name
    timing = []
    for label, kind in (("forward", "fwd"), ("forward + backward", "bwd")):
        noise = r[f"time_{kind}_noise"]
        ratio = fmt_ratio(r[f"time_{kind}_twin_over_shared"], r[f"time_{kind}_twin_over_shared_iqr"])
        timing.append(_row(
            label,
            _median_iqr(r[f"time_{kind}_shared_s"], r[f"time_{kind}_shared_iqr_s"]),
            _median_iqr(r[f"time_{kind}_unshared_s"], r[f"time_{kind}_unshared_iqr_s"]),
            ratio + (f" <span class='psv-noisy'>{html.escape(noise)}</span>" if noise else ""),
            TIME_RATIO_NOTE, key=f"time_{kind}",
        ))
    sections.append((f"Measured time (median ± IQR, at least {m.min_runs} runs each, {threads})", timing))
    sections.append((
        f"Measured memory of one forward + backward ({r['peak_method']})",
        [
            _row("peak bytes", fmt_bytes(r["peak_shared"]), fmt_bytes(r["peak_unshared"]),
                 _times(r["peak_shared"], r["peak_unshared"]),
                 "parameters, buffers and input + what the pass allocated", key="peak"),
            _row("allocated by the pass", fmt_bytes(r["peak_pass_shared"]), fmt_bytes(r["peak_pass_unshared"]),
                 _times(r["peak_pass_shared"], r["peak_pass_unshared"]),
                 "activations, temporaries and gradients alive at once: sharing does not cut activations",
                 key="peak_pass"),
        ],
    ))
    if m.kv is not None:
        k = m.kv
        sections.append((
            f"K/V cache at inference ({k.context:,} tokens, batch {k.batch}, {m.dtype}, {k.num_layers} layer): "
            "the saving GQA is for",
            [_row("keys + values cached", fmt_bytes(k.shared_bytes), fmt_bytes(k.twin_bytes),
                  fmt_times(k.twin_over_shared), "2 × layers × K/V heads × head_dim × tokens × batch × bytes",
                  key="kv_cache")],
        ))
    p, q = m.points
    sections.append((
        f"Roofline, forward (roof: {m.roof.peak_flops / 1e9:.3g} GFLOP/s, {m.roof.bandwidth_bytes_per_s / 1e9:.3g} GB/s)",
        [
            _row("arithmetic intensity", f"{p.intensity:.3g} FLOP/B", f"{q.intensity:.3g} FLOP/B",
                 fmt_times(q.intensity / p.intensity) if p.intensity else "-", key="intensity"),
            _row("achieved", fmt_rate(p.achieved_flops), fmt_rate(q.achieved_flops),
                 fmt_times(q.achieved_flops / p.achieved_flops) if p.achieved_flops else "-", key="achieved"),
            _row("share of the roof", f"{p.achieved_flops / m.roof.attainable(p.intensity):.1%}",
                 f"{q.achieved_flops / m.roof.attainable(q.intensity):.1%}", "", key="roof_share"),
        ],
    ))
    return sections


def fmt_rate(flops_per_s: float) -> str:
    """``5.2e9 -> '5.2 GFLOP/s'``: a space before the prefixed unit."""
    text = fmt_count(flops_per_s)
    number, prefix = (text[:-1], text[-1]) if text[-1:].isalpha() else (text, "")
    return f"{number} {prefix}FLOP/s"


def summary_lines(m: TwinMeasurement) -> list[str]:
    """What sharing saves here and what it does not (twin ÷ shared, from the row), then why a predicted
    and a measured figure disagree, when they do."""
    r = m.row

    def ratio(stem: str) -> float | None:
        a, b = r[f"{stem}_shared"], r[f"{stem}_unshared"]
        return b / a if a else None

    figures: list[Figure] = [
        ("parameters", ratio("params"), False),
        ("memory held (parameters + buffers)", ratio("held_bytes"), False),
        ("forward FLOPs", ratio("flops_fwd"), False),
        ("what forward + backward allocated (activations, temporaries, gradients; measured)", ratio("peak_pass"),
         False),
        ("forward time (measured)", r["time_fwd_twin_over_shared"], bool(r["time_fwd_noise"])),
    ]
    if m.kv is not None:
        figures.append((f"K/V cache at inference ({fmt_bytes(m.kv.shared_bytes)} vs {fmt_bytes(m.kv.twin_bytes)} "
                        f"at {m.kv.context:,} tokens)", m.kv.twin_over_shared, False))
    lines = ["Twin ÷ shared here. " + verdict(figures, fmt_times)]
    held = m.ledgers["sgd"][0]  # SGD keeps no state: params - grads is what gets no gradient
    frozen = held.params - held.grads
    if frozen > 0:  # LoRA's base: no gradient or optimizer state, but it still runs and keeps activations
        lines.append(
            f"The shared model's frozen parameters ({fmt_bytes(frozen)} of {fmt_bytes(held.params)}) get no gradient "
            "or optimizer state, yet run in every forward and keep the activations backward needs: its forward + "
            f"backward allocated {fmt_bytes(r['peak_pass_shared'])}."
        )
    return lines + [note for note in (memory_note(r), time_note(r, "fwd")) if note]


def compare_table_html(m: TwinMeasurement, *, shared_label: str = "Shared", twin_label: str = "Unshared twin") -> str:
    """The side-by-side table, one section per kind of quantity, and a line of conditions."""
    head = (
        f"<tr><th></th><th class='num'>{html.escape(shared_label)}</th>"
        f"<th class='num'>{html.escape(twin_label)}</th><th class='num'>twin ÷ shared</th></tr>"
    )
    body = []
    for heading, rows in compare_rows(m):
        body.append(f"<tr><td colspan='4' class='psv-section'>{html.escape(heading)}</td></tr>")
        for label, shared, twin, ratio, key in rows:
            body.append(
                f"<tr data-key='{key}'><td>{label}</td><td class='num shared'>{shared}</td>"
                f"<td class='num twin'>{twin}</td><td class='num ratio'>{ratio}</td></tr>"
            )
    setting = ", ".join(f"{k}={v}" for k, v in m.overrides.items())
    conditions = (
        f"{html.escape(m.form)} ({html.escape(setting)}), batch {m.batch}, {m.dtype}, on {html.escape(m.device_name)} "
        f"({m.device}, {plural(m.threads, 'CPU thread')}), torch {m.torch_version}. "
        "Shared and twin are timed in turns (A B A B), so machine noise hits both."
    )
    css = (
        "<style>.psv-compare td.psv-section{font-weight:600;padding-top:10px;color:var(--jp-ui-font-color1,#111827)}"
        ".psv-stale .psv-compare{opacity:.45;transition:opacity .2s}"
        ".psv-noisy{color:#b45309;font-size:11px;font-weight:600}.psv-why{margin:4px 0;font-size:13px}</style>"
    )
    why = "".join(f"<div class='psv-why'>{html.escape(line)}</div>" for line in summary_lines(m))
    return (
        STYLE + css + f"<div class='psv-summary'>{why}</div>"
        f"<table class='psv-table psv-compare'>{head}{''.join(body)}</table>"
        f"<div class='psv-conditions' style='color:var(--jp-ui-font-color2,#6b7280);font-size:12px'>{conditions}</div>"
    )


def sweep_csv(result: Any) -> str:
    """The sweep's rows as CSV text (one header line, one line per measured value)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=result.columns)
    writer.writeheader()
    writer.writerows(result.rows)
    return out.getvalue()


def sweep_report_html(result: Any, figure: go.Figure, *, dtype: str = "float32") -> str:
    """A standalone HTML page: the sweep figure (plotly.js from its CDN when opened) and every row."""
    cols = result.columns
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in cols) + "</tr>" for row in result.rows
    )
    fixed = ", ".join(f"{k}={v}" for k, v in result.overrides.items())
    state = "stopped early" if result.cancelled else "complete"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(result.form)} sweep over "
        f"{html.escape(result.knob)}</title></head><body style='font-family:sans-serif'>"
        f"<h2>{html.escape(result.form)}: shared vs unshared twin over {html.escape(result.knob)}</h2>"
        f"<p>{len(result.rows)} of {len(result.values)} values ({state}); fixed: {html.escape(fixed)}; "
        f"{dtype} on {html.escape(result.device_name)} ({result.device}, {plural(result.threads, 'CPU thread')}), "
        f"torch {result.torch_version}.</p>"
        + figure.to_html(full_html=False, include_plotlyjs="cdn")
        + f"<table border='1' cellspacing='0' cellpadding='3' style='font-size:12px'><tr>{head}</tr>{rows}</table>"
        "</body></html>"
    )


def _cell(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def data_link(text: str, filename: str, mime: str, label: str) -> str:
    """An ``<a download>`` whose href is a base64 ``data:`` URI of ``text``."""
    payload = base64.b64encode(text.encode()).decode()
    return (
        f"<a class='psv-download' download='{html.escape(filename)}' href='data:{mime};base64,{payload}' "
        f"style='margin-right:14px'>⬇ {html.escape(label)}</a>"
    )
