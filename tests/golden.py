"""Golden files under tests/golden/: ``PSV_UPDATE_GOLDEN=1 pytest ...`` rewrites them from what the tests got."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"


def golden(filename: str, got: Any) -> Any:
    """The stored expectation for ``filename`` (first written from ``got`` when PSV_UPDATE_GOLDEN=1)."""
    path = GOLDEN / filename
    if os.environ.get("PSV_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    return json.loads(path.read_text())
