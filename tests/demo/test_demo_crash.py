"""A kill -9 during the first start's demo load: the next start finishes the load (issue 11.4).

Each test starts `foretell serve` on an empty data directory with the demo on, kills it during
the load (SIGKILL at a few journal sizes, or the loader's fault-injection hook
FORETELL_DEMO_CRASH_AFTER_STEP, which ends the process with os._exit right after a given step),
restarts it, and checks that the exchange is the demo, whole and once: every demo market is
listed, every README login works, `foretell audit` is clean, nothing was deposited or created
twice, and every account holds exactly what a load that was never interrupted gives it.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.demo.server import README_LOGINS, get, launch, login, stop, wait_ready
from tests.live import ROOT

from foretell.demo import content
from foretell.exchange.recovery import recover

CRASH_EXIT_CODE = 86  # foretell.demo.loader.CRASH_EXIT_CODE: the hook's exit status
NO_MARKET_MAKER = {"FORETELL_MARKET_MAKER": "0"}  # balances must stay those of the load


def _journal_bytes(data: Path) -> int:
    return sum(p.stat().st_size for p in (data / "journal").glob("journal-*.log"))


def _users(data: Path) -> int:
    try:
        with sqlite3.connect(f"file:{data / 'foretell.db'}?mode=ro", uri=True, timeout=0.05) as db:
            return int(db.execute("SELECT count(*) FROM users").fetchone()[0])
    except sqlite3.Error:  # not created yet, or being written
        return 0


def _sigkill_when(data: Path, reached: Callable[[], bool], what: str) -> None:
    """Start the server and SIGKILL it as soon as `reached()`; fail if it starts serving first
    (then the load it should have resumed was skipped, or the kill point is past its end)."""
    server = launch(data, **NO_MARKET_MAKER)
    deadline = time.monotonic() + 180
    polls = 0
    try:
        while not reached():
            assert server.process.poll() is None, "the server stopped:\n" + server.log()
            assert time.monotonic() < deadline, f"never reached {what}"
            polls += 1
            assert polls % 50 or not _answers(server.base_url), (
                f"the server started before {what} ({_journal_bytes(data)} journal bytes, "
                f"{_users(data)} users): it did not finish the interrupted demo load")
            time.sleep(0.001)
    finally:
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(base_url + "/api/v1/time", timeout=0.2).status_code == 200
    except httpx.TransportError:
        return False


def _crash_after_step(data: Path, step: int) -> None:
    server = launch(data, FORETELL_DEMO_CRASH_AFTER_STEP=str(step), **NO_MARKET_MAKER)
    try:
        code = server.process.wait(180)
    except subprocess.TimeoutExpired:
        stop(server)
        pytest.fail(f"the loader did not stop at its crash hook (step {step}):\n{server.log()}")
    assert code == CRASH_EXIT_CODE, f"exit {code} at step {step}:\n{server.log()}"


def _ledger(data: Path) -> dict[str, Any]:
    """username -> (free, reserved, positions) replayed from the journal."""
    engine, _ = recover(data / "journal")
    with sqlite3.connect(data / "foretell.db") as db:
        names = dict(db.execute("SELECT id, username FROM users").fetchall())
    # Negative ids are the markets' liquidity pools (and converters), not users.
    return {names.get(a.id, f"system account {a.id}"):
            (a.free, a.reserved, sorted((c, list(p)) for c, p in a.positions.items()))
            for a in engine.accounts.values()}


def _audit(data: Path) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-m", "foretell.cli", "audit", "--data", str(data),
                          "--json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    totals: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    assert totals["violations"] == []
    return totals


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The ledger of a demo load that nobody interrupted (`foretell demo`)."""
    data = tmp_path_factory.mktemp("reference") / "data"
    run = subprocess.run([sys.executable, "-m", "foretell.cli", "demo", "--data", str(data),
                          "--yes"], capture_output=True, text=True, timeout=300, cwd=ROOT,
                         env={**_env(), "FORETELL_PROJECTOR": "thread"})
    assert run.returncode == 0, run.stdout + run.stderr
    return {"ledger": _ledger(data), "audit": _audit(data), "journal_bytes": _journal_bytes(data)}


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "FORETELL_DEMO_CRASH_AFTER_STEP"}


def _check_whole_demo(data: Path, reference: dict[str, Any]) -> None:
    server = wait_ready(launch(data, **NO_MARKET_MAKER))
    try:
        with httpx.Client(base_url=server.base_url + "/api/v1", timeout=30) as public:
            markets = get(public, "/markets", limit=500)["markets"]
        assert sorted(m["slug"] for m in markets) == sorted(m.slug for m in content.MARKETS)
        for name in README_LOGINS:
            login(server.base_url, name).close()  # raises unless it works
        assert "demo loaded" in server.log() or "demo already loaded" in server.log()
    finally:
        stop(server)
    totals = _audit(data)
    assert totals["markets"] == len(content.MARKETS)
    assert totals["net_deposits"] == reference["audit"]["net_deposits"]  # no deposit twice
    assert _ledger(data) == reference["ledger"]


@pytest.mark.slow
def test_sigkill_during_the_first_demo_load(tmp_path: Path, reference: dict[str, Any]) -> None:
    data = tmp_path / "data"
    # While the users are created (SQL only), then at the first journaled command, then at
    # about 45% and 80% of a whole load's journal (the reference's). A kill lands a poll late,
    # later on a loaded machine: a point the journal has already passed is skipped, rather
    # than set beyond the load's end (then the server rightly finished and served first).
    _sigkill_when(data, lambda: _users(data) >= 3, "3 users")
    whole = reference["journal_bytes"]
    for size in (_journal_bytes(data) + 1, whole * 45 // 100, whole * 80 // 100):
        if _journal_bytes(data) >= size:
            continue
        _sigkill_when(data, lambda size=size: _journal_bytes(data) >= size,
                      f"{size} journal bytes")
    _check_whole_demo(data, reference)


@pytest.mark.slow
def test_crash_after_any_step_of_the_demo_load(tmp_path: Path, reference: dict[str, Any]) -> None:
    from foretell.demo.loader import CRASH_EXIT_CODE as hook_code
    from foretell.demo.loader import step_count

    assert hook_code == CRASH_EXIT_CODE
    data = tmp_path / "data"
    last = step_count()
    # In the users, right after the first journaled command, halfway, and after the last step
    # (everything done and projected, only the "loaded" marker missing).
    for step in (2, len(content.USERS) + len(content.BOTS) + 2, last // 2, last):
        _crash_after_step(data, step)
    _check_whole_demo(data, reference)
