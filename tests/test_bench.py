"""The store benchmark runs end to end on a small stream: every outcome projected, no anomaly."""

from __future__ import annotations

import json

import pytest

from foretell.bench.__main__ import main


def test_store_benchmark_projects_every_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "--commands", "3000", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["benchmark"] == "store" and result["backend"] == "sqlite"
    assert result["outcomes"] == 3000 and result["anomalies"] == 0
    assert result["events"] > result["outcomes"]  # fills and the state they touched
    assert result["outcomes_per_s"] > 0
