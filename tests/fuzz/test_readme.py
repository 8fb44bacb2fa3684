"""The README's SDK example runs as written against a live demo server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_sdk_example_runs(server: dict[str, Any], capsys: Any) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README has no Python example"
    code = blocks[0].replace("http://127.0.0.1:8000", server["base"])
    exec(compile(code, str(README), "exec"), {})
    order_id, status, free = capsys.readouterr().out.split()
    assert int(order_id) > 0 and status in ("open", "filled")
    assert free.replace("0", "").strip(".") != ""  # a non-zero decimal amount
