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


@pytest.mark.slow
def test_api_bench_counts_acknowledged_orders_on_every_path() -> None:
    """Not a speed check: every phase must have had orders acknowledged. A WebSocket rule
    change (cookie logins need the page's origin) once left the WebSocket phases counting
    nothing but refusals, and the bench printed 0 orders/s without failing."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "foretell.bench", "api", "--json", "--seconds",
                          "0.5"], capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["rest_orders_per_s"] > 0
    assert result["ws_orders_per_s"] > 0
    assert result["ws_fanout_msgs_per_s"] > 0
