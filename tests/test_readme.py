"""The README's Python block runs as pasted, warns nothing, and shows what its comments say.

Each expression line's comment states its value in one of two forms, and this test checks
both: ``# <Python literal>: words`` (the value equals the literal) or ``# == <expression>``
(the value equals that expression, evaluated in the same namespace; tensors to float rounding).
A comment that states a number in any other form fails the test, so the README cannot
grow an unchecked figure.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_python_block() -> str:
    """The README's one ```python block, dedented (it sits inside a list item)."""
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", README.read_text(), flags=re.M | re.S)
    assert len(blocks) == 1, "the README should hold exactly one Python block"
    return textwrap.dedent(blocks[0][1])


def comments(source: str) -> dict[int, str]:
    """``{line number: comment text without '#'}``."""
    toks = tokenize.generate_tokens(io.StringIO(source).readline)
    return {t.start[0]: t.string.lstrip("#").strip() for t in toks if t.type == tokenize.COMMENT}


def stated(comment: str) -> tuple[str, Any] | None:
    """``("==", expr_source)`` or ``("literal", value)`` for a comment that states a value, else ``None``."""
    if comment.startswith("== "):
        return "==", comment[3:].split(": ")[0].strip()
    head = comment.split(": ")[0]
    try:
        return "literal", ast.literal_eval(head)
    except (ValueError, SyntaxError):
        return None


def same(value: Any, expected: Any) -> bool:
    if isinstance(value, torch.Tensor):
        if isinstance(expected, torch.Tensor):
            return torch.allclose(value.detach(), expected.detach(), rtol=1e-5, atol=1e-5)
        return value.detach().tolist() == pytest.approx(expected, abs=1e-6)
    if isinstance(value, float) or isinstance(expected, float):
        return value == pytest.approx(expected, rel=1e-5, abs=1e-6)
    return value == expected


def test_readme_library_block_runs_as_pasted_and_matches_its_comments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # graph.to_html("gpt2.html") writes here
    source = readme_python_block()
    notes = comments(source)
    namespace: dict[str, Any] = {}
    checked = []
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):  # psv.show prints its repr outside a notebook
        warnings.simplefilter("error")  # no warning in the README's code (trace.window used to warn)
        for node in ast.parse(source).body:
            code = ast.get_source_segment(source, node)
            comment = notes.get(node.end_lineno or node.lineno, "")
            if not isinstance(node, ast.Expr):
                exec(compile(ast.Module([node], []), "README", "exec"), namespace)
                assert not re.search(r"\d", comment), f"a number in a comment the test cannot check: {code}  # {comment}"
                continue
            value = eval(compile(ast.Expression(node.value), "README", "eval"), namespace)
            claim = stated(comment)
            if claim is None:
                assert not re.search(r"\d", comment), f"a number in a comment the test cannot check: {code}  # {comment}"
                continue
            kind, expected = claim
            if kind == "==":
                expected = eval(expected, namespace)
            assert same(value, expected), f"{code}  # {comment}: got {value!r}"
            checked.append(code)
    assert len(checked) >= 10  # every stated value above was checked
    assert (tmp_path / "gpt2.html").stat().st_size > 0


def test_gpt2_naive_count_is_what_torchinfo_reports():
    """The README says the per-name count is torchinfo's; check torchinfo where it is installed."""
    torchinfo = pytest.importorskip("torchinfo")
    import paramshare_viz as psv

    gpt2 = psv.load_model("hf:gpt2")
    # 124,439,808 held + the 50,257 x 768 = 38,597,376 head counted again under its own name
    assert torchinfo.summary(gpt2, verbose=0).total_params == psv.analyze(gpt2).naive_params == 163_037_184


def test_stated_reads_both_comment_forms():
    assert stated("(15936, 155680): one block under 12 names") == ("literal", (15936, 155680))
    assert stated("12: the block runs once per layer") == ("literal", 12)
    assert stated("[2.5, 2.5, 0.7, 0.0, 0.0]: close entries") == ("literal", [2.5, 2.5, 0.7, 0.0, 0.0])
    assert stated("== weight.grad") == ("==", "weight.grad")
    assert stated("built on the meta device, no download") is None
