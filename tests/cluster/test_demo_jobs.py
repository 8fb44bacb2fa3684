"""The demo in cluster mode, as real processes (shared NATS at 127.0.0.1:4222 with names unique
to the run, a fresh PostgreSQL database, two engine replicas, a projector): two gateways
started at once with `--demo` load the demo once (every demo user and market once in the
store, the loader's commands once in the command stream); the market maker trades from the
gateway holding its job; after a kill -9 of that gateway the other takes the job over (health
says so) and new market-maker orders appear."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.cluster import checks

from foretell.bench.cluster_run import (
    SHARED_NATS_HINT,
    Run,
    health,
    shared_nats_up,
    wait_http,
)
from foretell.cluster.jobs import gateway_id
from foretell.cluster.streams import connect
from foretell.demo import cluster as cluster_demo
from foretell.demo import content
from foretell.store import schema as t
from foretell.store.db import connect as connect_db

pytestmark = checks.NEEDS_CLUSTER


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    if not shared_nats_up():
        pytest.skip(SHARED_NATS_HINT)
    r = Run(tmp_path)
    try:
        r.start_nats()
        r.create_database()
        r.start_projector()
        r.start_engine("a")
        r.start_engine("b")
        for name in ("g1", "g2"):  # at once: both contend for the demo
            r.start_gateway(name, "--demo")
        for name in ("g1", "g2"):
            wait_http(r.procs[name])
        yield r
    finally:
        r.close()


def _until(check: Any, what: str, timeout_s: float = 30.0) -> Any:
    """Poll until `check()` is truthy (a bound on waiting, not a timed assertion)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
        time.sleep(0.2)


def _marker(r: Run) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        cluster = await connect(r.cluster_settings(), name="test-demo", setup=False)
        try:
            return (await cluster_demo.marker(cluster))[0]
        finally:
            await cluster.close()

    return asyncio.run(read())


def _loaders_commands(r: Run) -> list[int]:
    async def read() -> list[int]:
        cluster = await connect(r.cluster_settings(), name="test-demo", setup=False)
        try:
            seqs = []
            for seq in range(1, await cluster.last_cmd_seq() + 1):
                msg = await cluster.js.get_msg(cluster.settings.cmd_stream, seq)
                if (msg.headers or {}).get("Nats-Msg-Id", "").startswith(cluster_demo.MSG_ID):
                    seqs.append(seq)
            return seqs
        finally:
            await cluster.close()

    return asyncio.run(read())


def _jobs(r: Run, name: str) -> dict[str, Any]:
    try:
        jobs: dict[str, Any] = health(r.procs[name])["cluster"].get("jobs", {})
    except Exception:  # noqa: BLE001 - a gateway being killed
        return {}
    return jobs


def test_demo_loaded_once_market_maker_moves_on_kill(run: Run) -> None:
    r = run
    db = connect_db(r.database_url)
    began = time.monotonic()
    try:
        _until(lambda: _marker(r).get("state") == "loaded", "demo loaded", 50)
        print(f"demo loaded in {time.monotonic() - began:.1f} s")
        with db.connect() as conn:
            usernames = conn.execute(sa.select(t.users.c.username)).scalars().all()
            markets = conn.execute(sa.select(t.markets.c.slug)).scalars().all()
            maker = conn.execute(sa.select(t.users.c.id).where(
                t.users.c.username == content.MARKET_MAKER)).scalar_one()
        expected_users = {u.username for u in content.USERS} | {b.username for b in content.BOTS}
        assert sorted(usernames) == sorted(expected_users)  # each once
        assert sorted(markets) == sorted(m.slug for m in content.MARKETS)
        steps = _loaders_commands(r)
        assert len(steps) == len(set(steps)) and steps == list(range(steps[0], steps[-1] + 1))
        loaders = [name for name in ("g1", "g2") if "demo loaded into the cluster"
                   in r.procs[name].log()]
        assert len(loaders) == 1, r.logs()

        def maker_orders() -> int:
            with db.connect() as conn:
                return int(conn.execute(sa.select(sa.func.count()).select_from(t.orders)
                                        .where(t.orders.c.account_id == maker)).scalar_one())

        _until(lambda: maker_orders() > 0, "market-maker orders")
        ids = {gateway_id(int(r.procs[n].base_url.rsplit(":", 1)[1])): n for n in ("g1", "g2")}
        held = _until(lambda: _jobs(r, "g1").get("market-maker"), "market-maker holder")
        holder = ids[held["holder"]]
        other = "g2" if holder == "g1" else "g1"
        assert _jobs(r, other)["market-maker"]["holder"] == held["holder"]
        assert f"holds job market-maker (epoch {held['epoch']})" in r.procs[holder].log()

        r.procs[holder].kill()
        killed = time.monotonic()
        taken = _until(lambda: (j := _jobs(r, other).get("market-maker"))
                       and j["holder"] != held["holder"] and j, "takeover", 20)
        assert ids[taken["holder"]] == other and taken["epoch"] > held["epoch"]
        print(f"market maker taken over {time.monotonic() - killed:.1f} s after the kill")
        # the news poller and the demo job moved too, if the dead gateway held them
        jobs = _until(lambda: (j := _jobs(r, other)) and all(
            j.get(job, {}).get("holder") == taken["holder"] for job in ("news", "demo")) and j,
            "the other jobs moved", 20)
        assert set(jobs) == {"news", "demo", "market-maker"}  # no chain configured
        before = maker_orders()
        _until(lambda: maker_orders() > before, "new market-maker orders after the takeover")
        print(f"new orders {time.monotonic() - killed:.1f} s after the kill")
        assert health(r.procs[other])["status"] == "ok"
        assert len(_loaders_commands(r)) == len(steps)  # nobody loaded it again
    finally:
        db.dispose()
