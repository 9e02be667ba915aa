"""The sharing graph as SVG without a browser: ``graph_svg``, ``SharingGraph.to_svg`` and ``graph --svg``.

That the document is the page's own "Save SVG", byte for byte, is checked in Chromium
(tests/test_browser_graph.py); here: what a reader of the file sees, and the CLI's messages.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from torch import nn

import paramshare_viz as psv
from paramshare_viz.cli import main
from paramshare_viz.graph_page import graph_payload
from paramshare_viz.graph_svg import graph_svg, text_width

NS = "{http://www.w3.org/2000/svg}"
PATH = re.compile(r"M(\S+) (\S+)L(\S+) (\S+)")


def texts(root: ET.Element) -> list[tuple[str, float]]:
    """Every text of the drawing as read (tspans joined), with its baseline y."""
    return [("".join(t.itertext()), float(t.get("y", "0"))) for t in root.iter(f"{NS}text")]


def test_cli_svg_of_hf_gpt2_draws_each_row_once_and_the_tied_embedding_once_with_a_lane_to_both_holders(
    tmp_path, capsys
):
    out = tmp_path / "gpt2.svg"
    assert main(["graph", "hf:gpt2", "--svg", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: ")
    root = ET.parse(out).getroot()  # well-formed XML
    assert root.tag == f"{NS}svg"
    drawn = texts(root)
    # one text per module row, in the page's order: GPT-2's 12 blocks folded into the one row h.[0-11]
    rows = [t for t in drawn if re.fullmatch(r"\S+( ×12)? [A-Z]\w+", t[0])]
    assert [name for name, _ in rows] == [
        "(model) GPT2LMHeadModel", "transformer GPT2Model", "wte Embedding", "wpe Embedding",
        "h.[0-11] ×12 GPT2Block", "ln_1 LayerNorm", "attn GPT2Attention", "c_attn Conv1D", "c_proj Conv1D",
        "ln_2 LayerNorm", "mlp GPT2MLP", "c_fc Conv1D", "c_proj Conv1D", "ln_f LayerNorm", "lm_head Linear",
    ]
    # transformer.wte.weight is lm_head.weight: one chip, saying its two names
    tied = [t for t in drawn if "50257×768" in t[0]]
    assert [name for name, _ in tied] == ["weight 50257×768 · 2 names"]
    # its lane: a vertical from wte's row to lm_head's, a port on each holder's row, a stroke to the chip
    y = {name.split()[0]: baseline - 4 for name, baseline in rows}  # a row's text sits 4 px below its line
    lanes = [tuple(map(float, PATH.fullmatch(p.get("d", "")).groups()))  # type: ignore[union-attr]
             for p in root.iter(f"{NS}path") if p.get("class") == "psv-lane"]
    vertical = [(y1, y2) for x1, y1, x2, y2 in lanes if x1 == x2]
    assert vertical == [(y["wte"], y["lm_head"])]
    ports = sorted(y1 for x1, y1, x2, y2 in lanes if y1 == y2)
    assert ports == sorted([y["wte"], y["lm_head"], y["wte"]])  # two holders, and the chip on wte's row


def test_to_svg_writes_and_returns_graph_svg_of_the_payload(tmp_path):
    graph = psv.sharing_graph(psv.zoo.build("tied_embeddings"))
    svg = graph.to_svg(tmp_path / "g.svg")
    assert svg == graph_svg(graph_payload(graph)) == (tmp_path / "g.svg").read_text(encoding="utf-8")
    assert graph.to_svg() == svg


def test_names_are_escaped_and_read_back_as_written():
    net = type("Net<&>'\"", (nn.Module,), {})()
    net.add_module("a", nn.Linear(2, 2))
    root = ET.fromstring(psv.sharing_graph(net).to_svg())
    assert texts(root)[0][0].startswith("Net<&>'\": ")
    assert ("(model) Net<&>'\"", 16.0) in texts(root)  # row 0: y = 0 * 24 + 12 + 4


def test_row_text_is_measured_in_helvetica_widths():
    # w 722 + e 556 + i 222 + g 556 + h 556 + t 278 = 2890 thousandths of an em, at 12 px = 34.68 px
    assert text_width("weight") == pytest.approx(34.68)
    # "×" 584, "…" 1000; a character outside the table counts one em (1000)
    assert text_width("×…漢") == pytest.approx((584 + 1000 + 1000) * 12 / 1000)


def test_cli_graph_needs_html_or_svg_and_says_so(capsys):
    assert main(["graph", "zoo:conv"]) == 2
    err = capsys.readouterr().err
    assert err == "paramshare-viz graph: nothing to write: give --html OUT.html, --svg OUT.svg or both\n"


def test_cli_graph_svg_into_a_missing_folder_names_the_flag_and_the_folder(tmp_path, capsys):
    out = tmp_path / "nowhere" / "g.svg"
    assert main(["graph", "zoo:conv", "--svg", str(out)]) == 2
    assert capsys.readouterr().err == f"paramshare-viz graph: --svg {out}: the folder {out.parent} does not exist\n"


def test_cli_graph_writes_both_files_and_names_each(tmp_path, capsys):
    html, svg = tmp_path / "g.html", tmp_path / "g.svg"
    assert main(["graph", "zoo:conv", "--html", str(html), "--svg", str(svg)]) == 0
    assert capsys.readouterr().out.startswith(f"{html} and {svg}: ")
    assert "psv-graph-data" in html.read_text() and ET.parse(svg).getroot().tag == f"{NS}svg"


def test_cli_graph_svg_bad_spec(tmp_path, capsys):
    assert main(["graph", "zoo:nope", "--svg", str(tmp_path / "g.svg")]) == 2
    assert "'nope' is not a sharing form" in capsys.readouterr().err
    assert not (tmp_path / "g.svg").exists()
