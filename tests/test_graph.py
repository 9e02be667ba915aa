"""The sharing graph: exact nodes and edges for hand-built models, every zoo form, the front end's payload,
the standalone page, the CLI, the widgets.

Golden payloads: ``PSV_UPDATE_GOLDEN=1 pytest tests/test_graph.py`` rewrites ``tests/golden/graph_payload_*.json``.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import paramshare_viz as psv
from paramshare_viz import zoo
from paramshare_viz.cli import main
from paramshare_viz.graph import sharing_graph
from paramshare_viz.graph_page import front_end, graph_payload, summary
from tests.golden import golden

SVGNS = "http://www.w3.org/2000/svg"  # the front end names SVG's namespace; it fetches nothing


def shared_names(graph) -> list[tuple[str, ...]]:
    return [t.names for t in graph.tensors if t.group is not None]


# --- hand-built models: exact edges -------------------------------------------------------------


def test_tied_embedding_is_one_tensor_with_two_holders():
    lm = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
    lm[1].weight = lm[0].weight  # tied embeddings
    g = sharing_graph(lm)
    assert [t.names for t in g.tensors] == [("0.weight", "1.weight")]
    assert g.edges == [("0", 0), ("1", 0)]
    (t,) = g.tensors
    # 10 * 4 = 40 elements held once, 160 bytes in float32.
    assert (t.shape, t.numel, t.bytes, t.shared, t.group) == ((10, 4), 40, 160, True, 0)
    assert g.holders(0) == ["0", "1"] and g.held_by("1") == [0]


class TransposedTie(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(4, 3, bias=False)
        self.dec = nn.Linear(3, 4, bias=False)
        self.dec.weight = nn.Parameter(self.enc.weight.data.t())  # a (4, 3) view of enc's (3, 4) storage


def test_transposed_tie_points_at_the_encoder_tensor():
    g = sharing_graph(TransposedTie())
    assert shared_names(g) == [("dec.weight", "enc.weight")]
    assert g.edges == [("enc", 0), ("dec", 0)]
    # one storage of 3 * 4 = 12 elements, drawn with the encoder's shape (its first holder).
    assert (g.tensors[0].label, g.tensors[0].shape, g.tensors[0].numel) == ("enc.weight", (3, 4), 12)


def test_slice_alias_is_one_storage():
    m = nn.Module()
    m.a = nn.Module()
    m.b = nn.Module()
    m.a.w = nn.Parameter(torch.zeros(6, 4))
    m.b.w = nn.Parameter(m.a.w.data[:3])  # rows 0-2 of a.w
    g = sharing_graph(m)
    assert shared_names(g) == [("a.w", "b.w")]
    assert g.edges == [("a", 0), ("b", 0)]
    assert g.tensors[0].numel == 24  # 6 * 4: the slice adds no element


def test_buffer_shared_by_two_modules():
    m = nn.Module()
    m.left, m.right = nn.Linear(2, 2), nn.Linear(2, 2)
    mask = torch.ones(2)
    m.left.register_buffer("mask", mask)
    m.right.register_buffer("mask", mask)
    g = sharing_graph(m)
    (buf,) = [t for t in g.tensors if t.buffer]
    assert buf.names == ("left.mask", "right.mask") and buf.shared
    assert [mn for mn, k in g.edges if k == buf.index] == ["left", "right"]
    # 2 weights + 2 biases + 1 mask; only the mask is shared.
    assert len(g.tensors) == 5 and len(g.shared_tensors) == 1


class Repeated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        block = nn.Linear(3, 3)
        self.blocks = nn.ModuleList([block] * 5)  # one block object under 5 names

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


def test_module_list_of_one_block_collapses_to_one_node_with_five_calls():
    model = Repeated()
    x = torch.randn(2, 3)
    g = sharing_graph(model, x)
    (node,) = [m for m in g.modules if m.type == "Linear"]
    assert (node.name, node.copies, node.objects, node.calls, node.runs) == ("blocks.[0-4]", 5, 1, 5, 5)
    # weight and bias: each one tensor under 5 names, both held by the one folded node.
    assert shared_names(g) == [tuple(f"blocks.{i}.weight" for i in range(5)), tuple(f"blocks.{i}.bias" for i in range(5))]
    assert g.edges == [("blocks.[0-4]", 0), ("blocks.[0-4]", 1)]
    flat = sharing_graph(model, x, collapse=False)
    assert [m.name for m in flat.modules] == ["", "blocks", *[f"blocks.{i}" for i in range(5)]]
    assert [m.calls for m in flat.modules[2:]] == [5] * 5  # the object's count, under every name
    assert len(flat.edges) == 10  # 5 names * (weight, bias), one tensor node each


class Siamese(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.branch = nn.Linear(4, 2)
        self.head = nn.Linear(2, 1)

    def forward(self, a, b):
        return self.head(self.branch(a) - self.branch(b))


def test_siamese_branch_called_twice_marks_its_tensors_shared():
    g = sharing_graph(Siamese(), (torch.randn(1, 4), torch.randn(1, 4)))
    assert shared_names(g) == []  # no name is shared
    reused = [t.label for t in g.tensors if t.shared]
    assert reused == ["branch.weight", "branch.bias"]
    assert {m.name: m.calls for m in g.modules} == {"": 1, "branch": 2, "head": 1}
    assert g.edges == [("branch", 0), ("branch", 1), ("head", 2), ("head", 3)]


def test_no_sharing_at_all():
    mlp = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    g = sharing_graph(mlp, torch.randn(1, 3))
    assert g.shared_tensors == []
    assert g.edges == [("0", 0), ("0", 1), ("2", 2), ("2", 3)]
    assert [t.names for t in g.tensors] == [("0.weight",), ("0.bias",), ("2.weight",), ("2.bias",)]


class Stack(nn.Module):
    """Four distinct layers that all hold one shared buffer (like a rotary table)."""

    def __init__(self) -> None:
        super().__init__()
        table = torch.arange(4.0)
        self.layers = nn.ModuleList(nn.Linear(4, 4) for _ in range(4))
        for layer in self.layers:
            layer.register_buffer("table", table)


def test_collapse_folds_private_tensors_and_keeps_the_shared_one_connected_to_the_range():
    g = sharing_graph(Stack())
    layer = [m for m in g.modules if m.type == "Linear"]
    assert [(m.name, m.copies, m.objects) for m in layer] == [("layers.[0-3]", 4, 4)]
    by_label = {t.label: t for t in g.tensors}
    w = by_label["layers.[0-3].weight"]
    assert (w.copies, w.numel, w.shape, w.shared) == (4, 64, (4, 4), False)  # 4 layers * 4 * 4
    assert w.names == tuple(f"layers.{i}.weight" for i in range(4))
    table = by_label["layers.0.table"]
    assert table.names == tuple(f"layers.{i}.table" for i in range(4)) and table.copies == 1
    assert ("layers.[0-3]", table.index) in g.edges
    assert len(g.tensors) == 3 and len(g.edges) == 3  # weight x4, bias x4, the one table


def test_different_layers_do_not_fold():
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 3), nn.Linear(3, 3), nn.Linear(3, 3))
    g = sharing_graph(m)
    # 0 (2->2) and 1 (2->3) differ; 2 and 3 (3->3) fold.
    assert [n.name for n in g.modules] == ["", "0", "1", "[2-3]"]


# --- every zoo form: the graph's shared tensors are analyze's groups ------------------------------


@pytest.mark.parametrize("form", zoo.forms())
def test_zoo_form_shared_nodes_are_the_groups(form):
    shared, twin = zoo.pair(form)
    x = zoo.example_input(form)
    report = psv.analyze(shared, x)
    groups = [tuple(g.names) for g in report.groups]
    named = [names for names, g in zip(groups, report.groups, strict=True) if g.kind != "functional"]
    for collapse in (False, True):
        g = sharing_graph(shared, x, collapse=collapse, report=report)
        assert sorted(shared_names(g)) == sorted(named)
        assert all(groups[t.group] == t.names for t in g.tensors if t.group is not None)
        # a functional group (a tensor read by a module that does not hold it) is a borrow, not a node of names
        assert sorted({g.tensors[k].names for _, k in g.borrows}) == sorted(
            tuple(f.names) for f in report.borrowed
        )
    # The twin shares nothing by name, and no twin module holding tensors runs twice
    # (its only repeated modules are parameter-free dropouts, called twice per block).
    tg = sharing_graph(twin, x)
    assert tg.shared_tensors == []
    assert json.loads(json.dumps(tg.to_dict()))["tensors"]


def test_graph_reuses_the_given_report():
    model = zoo.build("tied_embeddings")
    report = psv.analyze(model)
    g = sharing_graph(model, report=report)
    assert g.tensors[0].group == 0 and g.tensors[0].names == tuple(report.groups[0].names)


# --- JSON, the front end's payload, the standalone page -----------------------------------------


def test_to_dict_and_html(tmp_path):
    g = sharing_graph(zoo.build("tied_embeddings"))
    d = json.loads(json.dumps(g.to_dict()))
    assert d["collapsed"] is True and d["model_type"] == "TiedLM"
    assert ["lm_head", 0] in d["edges"] and ["wte", 0] in d["edges"]
    out = g.to_html(tmp_path / "g.html")
    page = out.read_text()
    assert json.loads(page.split("id='psv-graph-data'>")[1].split("</script>")[0]) == d
    state = json.loads(page.split("id='psv-graph-payload'>")[1].split("</script>")[0])
    assert state == {"payloads": {"shared": json.loads(json.dumps(graph_payload(g))), "twin": None}, "side": "shared"}
    # the package's front end inlined: no plotly, nothing fetched from any host
    js, _css = front_end()
    assert js.split("export default")[0] in page
    assert "plotly" not in page.lower() and "http://" not in page.replace(SVGNS, "") and "https://" not in page


def test_payload_rows_tensors_and_lanes_of_tied_embeddings():
    g = sharing_graph(zoo.build("tied_embeddings"))
    p = graph_payload(g)
    rows = {r["name"]: r for r in p["rows"]}
    (k,) = rows["wte"]["holds"]
    assert rows["lm_head"]["holds"] == [k]  # one tensor, two holder rows: the front end draws one lane
    t = p["tensors"][k]
    # 100 * 32 = 3,200 elements, 12,800 bytes in float32, once
    assert (t["label"], t["names"], t["numel"], t["bytes"], t["kind"]) == (
        "wte.weight", ["lm_head.weight", "wte.weight"], 3_200, 12_800, "group")
    assert p["summary"] == "1 tensor under several names" and p["rows"][0]["parent"] == -1
    # every tensor is held by some row, and each appears once in the table
    held = {i for r in p["rows"] for i in r["holds"]}
    assert held == set(range(len(p["tensors"])))


def test_payload_folds_albert_and_lists_the_run_to_unfold():
    g = sharing_graph(zoo.build("albert", num_layers=12, device="meta"))
    p = graph_payload(g)
    (run,) = [r for r in p["rows"] if r["fold"]]
    # one block object under layers.0 ... layers.11: the front end opens it into 12 rows
    assert (run["name"], run["fold"], run["copies"], run["objects"]) == ("layers.[0-11]", [0, 11], 12, 1)
    q = next(t for t in p["tensors"] if t["label"] == "layers.0.attention.q_proj.weight")
    assert q["names"] == [f"layers.{i}.attention.q_proj.weight" for i in range(12)] and q["copies"] == 1
    twin = graph_payload(sharing_graph(zoo.build("albert", shared=False, num_layers=12, device="meta")), twin=True)
    tq = next(t for t in twin["tensors"] if t["label"] == "layers.[0-11].attention.q_proj.weight")
    # 12 copies of a 32 x 32 weight (default hidden_size 32) folded into one node: 12 * 1,024 = 12,288 elements
    assert (tq["copies"], tq["numel"], tq["kind"], twin["twin"]) == (12, 12_288, "plain", True)


def test_payload_draws_a_container_holding_nothing_through_its_children():
    model = nn.Sequential(nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 3)]))
    p = graph_payload(sharing_graph(model))
    # the ModuleList "0" holds nothing itself: its Linear rows hang from the root
    assert [(r["name"], r["parent"]) for r in p["rows"]] == [("", -1), ("0.0", 0), ("0.1", 0)]


def trim(payload: dict) -> dict:
    """The payload less its palette (theme constants): what the golden file holds."""
    return {k: v for k, v in json.loads(json.dumps(payload)).items() if k != "palette"}


@pytest.mark.parametrize("form", zoo.forms())
def test_golden_payload_of_every_zoo_form(form):
    torch.manual_seed(0)
    model = zoo.build(form)
    got = trim(graph_payload(sharing_graph(model, zoo.example_input(form))))
    assert got == golden(f"graph_payload_{form}.json", got)


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_graph_html_and_json(tmp_path, capsys):
    out = tmp_path / "g.html"
    assert main(["graph", "zoo:tied_embeddings", "--html", str(out), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert shared_names_from(d) == [["lm_head.weight", "wte.weight"]]
    assert out.exists() and "psv-graph-data" in out.read_text()
    assert main(["graph", "zoo:albert?num_layers=2", "--html", str(out), "--no-collapse", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["collapsed"] is False and "layers.1" in [m["name"] for m in d["modules"]]


def shared_names_from(d: dict) -> list[list[str]]:
    return [t["names"] for t in d["tensors"] if t["group"] is not None]


def test_cli_graph_bad_spec(capsys):
    assert main(["graph", "zoo:nope", "--html", "x.html"]) == 2
    assert "nope" in capsys.readouterr().err


# --- the widgets: Explore's graph view and psv.show ----------------------------------------------


def test_graph_view_sends_both_sides_and_follows_the_toggle():
    from paramshare_viz.app.graph_view import GraphView

    shared = sharing_graph(zoo.build("tied_embeddings", device="meta"))
    twin = sharing_graph(zoo.build("tied_embeddings", shared=False, device="meta"))
    view = GraphView(graphs=(shared, twin), note="a note")
    sent = view.widget.payloads
    assert sent["shared"]["note"] == "a note" and sent["twin"]["twin"] is True
    assert sent["twin"]["summary"] == "no tensor under two names, none reused across calls"
    view.side.value = "twin"
    assert view.widget.side == "twin" and view.graph is twin
    widget = view.widget
    view.show_graphs((twin, twin))  # new data, the same widget (the page keeps its elements)
    assert view.widget is widget and widget.payloads["twin"] is None and view.graphs == (twin, twin)


def test_graph_view_of_one_graph_has_no_toggle():
    from paramshare_viz.app.graph_view import GraphView

    g = sharing_graph(zoo.build("conv", device="meta"))
    view = GraphView(graph=g)
    assert view.side.layout.display == "none" and view.widget.payloads["twin"] is None
    with pytest.raises(ValueError, match="graphs=.*graph="):
        GraphView()


def test_show_builds_cards_graph_and_tables_for_any_model():
    from paramshare_viz.app.show import explorer

    box = explorer(psv.load_model("hf:gpt2"))  # meta: static, nothing allocated
    cards, view, groups, _modules = box.children
    assert 'data-key="groups"' in cards.value and box.graph.tensors[0].names == ("lm_head.weight", "transformer.wte.weight")
    assert view.side.layout.display == "none"  # one model: no shared/twin toggle
    assert "transformer.h.[0-11]" in [r["name"] for r in view.widget.payloads["shared"]["rows"]]


def test_the_graph_modules_import_no_plotly_and_graph_imports_no_plots():
    import ast
    from pathlib import Path

    for module in ("graph.py", "graph_page.py", "app/graph_view.py", "app/graph_widget.py"):
        tree = ast.parse((Path(psv.__file__).parent / module).read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(i.startswith("plotly") for i in imported), module
        if module == "graph.py":
            assert not any(i.startswith("paramshare_viz.plots") for i in imported)


# --- names in natural order ----------------------------------------------------------------------


def test_names_are_in_natural_order():
    model = zoo.build("albert", num_layers=12, device="meta")
    names = shared_names(sharing_graph(model))[0]
    # layers.0 ... layers.11 by number (as text, layers.10 and layers.11 would come before layers.2)
    assert [n.split(".")[1] for n in names] == [str(i) for i in range(12)]
    from paramshare_viz.plots.tables import groups_table_html

    text = groups_table_html(psv.analyze(model))
    assert text.index("<code>layers.0.") < text.index("<code>layers.1.") < text.index("<code>layers.2.")


def test_head_maps_say_which_query_heads_read_which_kv_head():
    graph = sharing_graph(zoo.build("gqa", num_heads=8, groups=2, device="meta"))
    (hm,) = graph.head_maps
    assert (hm.modules, hm.num_heads, hm.kv_heads) == (("",), 8, 2)
    assert hm.readers == ((0, 1, 2, 3), (4, 5, 6, 7))  # query head i reads K/V head i // 4
    assert "each K/V head read by 4 query heads" in summary(graph)
    assert graph.to_dict()["head_maps"][0]["readers"] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert sharing_graph(zoo.build("gqa", groups=1, device="meta")).head_maps[0].readers == (tuple(range(8)),)  # MQA
    assert sharing_graph(zoo.build("gqa", shared=False, device="meta")).head_maps == []  # one K/V head per query head


def test_a_hugging_face_gqa_model_has_one_map_for_its_layers():
    pytest.importorskip("transformers")
    graph = sharing_graph(psv.load_model("hf:mistral"))
    (hm,) = graph.head_maps  # Mistral's default config: 32 query heads over 8 K/V heads in each of 32 layers
    assert (hm.num_heads, hm.kv_heads, len(hm.modules)) == (32, 8, 32)


def test_lora_graph_splits_trainable_and_frozen():
    graph = sharing_graph(zoo.build("lora", device="meta"))
    # base 32*32 + 32 = 1,056 (requires_grad=False); adapters 3 * (4*32 + 32*4) = 768
    assert (graph.frozen_params, graph.trainable_params) == (1_056, 768)
    twin = sharing_graph(zoo.build("lora", shared=False, device="meta"))
    assert twin.frozen_params == 0 and twin.trainable_params == 3 * (32 * 32 + 32)  # 3 fine-tuned copies
