"""Hostile and broken model files: refused with one plain message, nothing runs, nothing crashes.

tests/test_loading.py covers pickles whose payload would run (os.system, open), whole-module
pickles, junk bytes and non-state-dict contents. Here: real checkpoints cut short or damaged,
empty files, a size limit, names that are not UTF-8, and the same files through the CLI.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys

import pytest
import torch

import paramshare_viz as psv
from paramshare_viz.cli import main

safetensors_torch = pytest.importorskip("safetensors.torch")

TENSORS = {"a.weight": torch.randn(64, 32), "a.bias": torch.randn(64)}  # 64*32 + 64 = 2,112 params


def saved_pt(path):
    torch.save(TENSORS, path)
    return path


def saved_safetensors(path):
    safetensors_torch.save_file(TENSORS, str(path))
    return path


def cut(path, keep: float):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def smash(path, start: int, n: int = 64):
    data = bytearray(path.read_bytes())
    data[start : start + n] = b"\xff" * n
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("name", ["m.pt", "m.safetensors"])
def test_intact_copy_loads(tmp_path, name):  # the control for every damaged copy below
    path = (saved_pt if name.endswith(".pt") else saved_safetensors)(tmp_path / name)
    assert psv.analyze(psv.load_model(str(path))).unique_params == 64 * 32 + 64


@pytest.mark.parametrize(
    ("name", "damage", "match"),
    [
        ("half.pt", lambda p: cut(saved_pt(p), 0.5), "not a readable torch checkpoint"),
        ("head.pt", lambda p: cut(saved_pt(p), 0.02), "not a readable torch checkpoint"),
        # the zip's central directory (at the end) overwritten
        ("tail.pt", lambda p: smash(saved_pt(p), p.stat().st_size - 64), "not a readable torch checkpoint"),
        ("half.safetensors", lambda p: cut(saved_safetensors(p), 0.5), "not a readable safetensors file"),
        # the JSON header overwritten
        ("header.safetensors", lambda p: smash(saved_safetensors(p), 8), "not a readable safetensors file"),
        ("empty.pt", lambda p: p.write_bytes(b"") or p, r"the file is empty \(0 bytes\)"),
        ("empty.safetensors", lambda p: p.write_bytes(b"") or p, r"the file is empty \(0 bytes\)"),
    ],
)
def test_damaged_files_get_one_plain_message(tmp_path, name, damage, match):
    path = tmp_path / name
    damage(path)
    with pytest.raises(ValueError, match=match) as info:
        psv.load_model(str(path))
    assert f"spec={str(path)!r}" in str(info.value)
    assert "\n" not in str(info.value)


def test_safetensors_header_claiming_a_huge_length_is_refused(tmp_path):
    path = tmp_path / "liar.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")  # says 1 TiB of header, holds 2 bytes
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        psv.load_model(str(path))


def test_safetensors_offsets_past_the_end_are_refused(tmp_path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 4_000_000]}}).encode()
    path = tmp_path / "short.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)  # 4 MB promised, 16 bytes there
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        psv.load_model(str(path))


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = saved_pt(tmp_path / "big.pt")
    size = path.stat().st_size  # ~9 KB: 2,112 float32 = 8,448 bytes of data plus the zip
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran on a file over the limit"))
    with pytest.raises(ValueError, match=rf"over the limit of .* \(max_bytes={size - 1}\)"):
        psv.load_model(str(path), max_bytes=size - 1)
    monkeypatch.undo()
    assert psv.analyze(psv.load_model(str(path), max_bytes=size)).unique_params == 2112  # at the limit: fine


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file names must be UTF-8")
def test_a_name_that_is_not_utf8(tmp_path, capsys):
    raw = os.fsencode(tmp_path) + b"/mod\xe8le.pt"  # Latin-1 'modèle': not valid UTF-8
    torch.save(TENSORS, raw.decode("utf-8", "surrogateescape"))
    spec = os.fsdecode(raw)  # what Python hands over for such a name (a lone surrogate)
    assert psv.analyze(psv.load_model(spec)).unique_params == 2112
    # the CLI prints it without a UnicodeEncodeError
    assert main(["inspect", spec]) == 0
    assert "2,112" in capsys.readouterr().out
    missing = os.fsdecode(os.fsencode(tmp_path) + b"/absent\xff.pt")
    assert main(["inspect", missing]) == 2
    assert "no such file" in capsys.readouterr().err


class _Marker:
    """Unpickling this would create ``path`` (through os.system): the marker that must never appear."""

    def __init__(self, path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_the_cli_refuses_a_code_running_pickle_in_a_fresh_process(tmp_path):
    """End to end as a user runs it: ``paramshare-viz inspect evil.pt`` exits 2 with one line; no marker."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"w": torch.ones(2), "x": _Marker(marker)}, f, protocol=2)
    out = subprocess.run(
        [sys.executable, "-m", "paramshare_viz.cli", "inspect", str(path)],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2
    assert "not loaded for safety" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not marker.exists()


@pytest.mark.parametrize("name", ["half.pt", "empty.safetensors"])
def test_the_cli_names_a_broken_file_in_one_line(tmp_path, capsys, name):
    path = tmp_path / name
    if name == "half.pt":
        cut(saved_pt(path), 0.5)
    else:
        path.write_bytes(b"")
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and len(err.strip().splitlines()) == 1
