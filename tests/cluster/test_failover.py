"""The whole cluster as real processes, with SIGKILLs (issue 15's "Done when").

Three NATS servers of the test's own (streams at R3) or the shared one at 127.0.0.1:4222 (R1,
names unique to the run, deleted afterwards); a fresh PostgreSQL database; two engine replicas,
two gateways, a projector. SDK bots trade on both gateways while the test kills, one at a time,
the engine leader, a gateway, the projector and (R3) one NATS server, and restarts each. Then:
every acknowledged order is in the store; both replicas, a replay of the stream from scratch
and one from the latest snapshot have the same state hash (the cluster audit, which also checks
every invariant); the store equals what the single-node pipeline projects from the same
command stream; no fill was seen twice: one WebSocket stream per trader listens to its private
`fills` channel for the whole run through both gateways (reconnecting to the other when its own
is killed), and no fill comes through it twice, and each it yields is in the store, with the
trade's price and size.

FORETELL_CLUSTER_TEST_S sets how long the bots trade between disruptions (default 1 s).
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.cluster import checks

from foretell.bench.cluster_run import (
    PG_URL,
    SHARED_NATS_HINT,
    SUPERVISOR,
    Run,
    health,
    shared_nats_up,
    wait_http,
)
from foretell.client import Client, ForetellError
from foretell.client.errors import ConnectionFailed
from foretell.client.stream import Stream
from foretell.cluster.audit import audit_cluster

pytestmark = checks.NEEDS_CLUSTER
PHASE_S = float(os.environ.get("FORETELL_CLUSTER_TEST_S", "1.0"))
PASSWORD = "trader-password-1"


@pytest.fixture(params=[3, 1], ids=["R3-own-cluster", "R1-shared-server"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Run]:
    if request.param == 1 and not shared_nats_up():
        pytest.skip(SHARED_NATS_HINT)
    r = Run(tmp_path, replicas=request.param)
    try:
        r.start_all()
        yield r
    finally:
        r.close()


class Bot(threading.Thread):
    """Buys YES or NO around 0.50 (so they cross: a mint) through its list of gateways."""

    def __init__(self, client: Client, market_id: int, seed: int) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.market_id = market_id
        self.random = random.Random(seed)
        self.stop = threading.Event()
        self.acked: dict[int, dict[str, Any]] = {}
        self.by_client_id: dict[str, set[int]] = {}
        self.errors: list[str] = []
        self.key: dict[str, Any] = {}
        self.account = 0
        self.urls: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            outcome = self.random.choice(["yes", "no"])
            price = self.random.choice(["0.48", "0.49", "0.50", "0.51", "0.52"])
            try:
                order = self.client.place_order(market_id=self.market_id, outcome=outcome,
                                                side="buy",
                                                price=price, size=self.random.randint(1, 5))
            except (ForetellError, ConnectionFailed) as exc:
                self.errors.append(repr(exc))
                time.sleep(0.1)
                continue
            self.acked[order["id"]] = order
            time.sleep(0.01)  # leave CPU to the processes being restarted (2-core machines)
            self.by_client_id.setdefault(order["client_order_id"], set()).add(order["id"])


def _setup(run: Run, traders: int) -> tuple[list[Bot], Client]:
    g1, g2 = run.procs["g1"].base_url, run.procs["g2"].base_url
    admin = Client([g1, g2])
    admin.login(*SUPERVISOR)
    market = admin.admin_create_market(slug=f"m-{uuid.uuid4().hex[:10]}",
                                       question="Will the cluster survive every kill?")
    bots = []
    for i in range(traders):
        urls = [g1, g2] if i % 2 == 0 else [g2, g1]
        session = Client(urls)
        account = session.signup(f"bot{i}-{uuid.uuid4().hex[:6]}", PASSWORD)["user"]["id"]
        admin.admin_credit(account, "100000", "test funding")
        key = session.create_api_key("bot", ["read", "trade"])
        session.close()
        api = Client(urls, key["key_id"], key["secret"], retries=8, timeout_s=15)
        bots.append(Bot(api, market["id"], i))
        bots[-1].key, bots[-1].account, bots[-1].urls = key, account, urls
    return bots, admin


class Listeners(threading.Thread):
    """Per bot, a WebSocket stream on its private `fills` channel through its gateways (the
    stream reconnects by itself, to the other one when its own dies): every fill it yields."""

    def __init__(self, bots: list[Bot]) -> None:
        super().__init__(daemon=True)
        self.bots = bots
        self.loop = asyncio.new_event_loop()
        self.streams: list[Stream] = []
        self.fills: dict[int, list[dict[str, Any]]] = {bot.account: [] for bot in bots}
        self.reconnected: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.ready = threading.Event()

    def run(self) -> None:
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        try:
            for bot in self.bots:
                stream = Stream(bot.urls, bot.key["key_id"], bot.key["secret"], reconnect=True,
                                reconnect_for_s=60)
                await stream.connect()
                await stream.subscribe("fills")
                self.streams.append(stream)
        finally:
            self.ready.set()
        await asyncio.gather(*(self._listen(bot.account, stream)
                               for bot, stream in zip(self.bots, self.streams, strict=True)))

    async def _listen(self, account: int, stream: Stream) -> None:
        try:
            async for message in stream:
                if message.get("type") == "fill":
                    self.fills[account].append(message)
                elif message.get("type") == "reconnected":
                    self.reconnected.append(message)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(repr(exc))

    def close(self) -> None:
        async def close_all() -> None:
            for stream in self.streams:
                await stream.close()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(30)
        self.join(30)
        self.loop.close()


def _leader(run: Run) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for name in ("g1", "g2"):
            try:
                leader = health(run.procs[name])["cluster"].get("leader")
            except Exception:  # noqa: BLE001 - that gateway may be down
                continue
            if leader:
                return str(leader)
        time.sleep(0.2)
    raise AssertionError("no leader")


def _settled(run: Run) -> dict[str, Any]:
    """Wait until every replica and the projector are at the stream's end."""
    deadline = time.monotonic() + 60
    while True:
        cluster = health(run.procs["g2"])["cluster"]
        last = cluster.get("stream_seq", -1)
        if (last >= 0 and cluster["projector"]["seq"] == last and len(cluster["replicas"]) == 2
                and all(r["seq"] == last for r in cluster["replicas"])):
            return dict(cluster)
        if time.monotonic() > deadline:
            raise AssertionError(f"the cluster did not settle: {cluster}")
        time.sleep(0.2)


def test_kills_lose_nothing_and_repeat_nothing(run: Run) -> None:
    try:
        _kills_lose_nothing_and_repeat_nothing(run)
    except BaseException:
        print(run.logs())
        raise


def _kills_lose_nothing_and_repeat_nothing(run: Run) -> None:
    bots, admin = _setup(run, traders=4)
    listeners = Listeners(bots)
    listeners.start()
    assert listeners.ready.wait(60) and len(listeners.streams) == len(bots), listeners.errors
    for bot in bots:
        bot.start()
    time.sleep(PHASE_S)
    # 1 the engine leader
    leader = _leader(run)
    run.procs[f"engine-{leader}"].kill()
    time.sleep(PHASE_S)
    new_leader = _leader(run)
    deadline = time.monotonic() + 30
    while new_leader == leader and time.monotonic() < deadline:
        time.sleep(0.2)
        new_leader = _leader(run)
    assert new_leader != leader, "no replica took over"
    run.restart(f"engine-{leader}")
    time.sleep(PHASE_S)
    # 2 a gateway (the bots go on through the other)
    run.procs["g1"].kill()
    asyncio.run(_stream_finds_a_live_gateway(run, bots[0].key))
    time.sleep(PHASE_S)
    run.restart("g1")
    wait_http(run.procs["g1"])
    # 3 the projector
    run.procs["projector"].kill()
    time.sleep(PHASE_S)
    run.restart("projector")
    time.sleep(PHASE_S)
    # 4 one NATS server (only where the test runs its own cluster)
    if run.nats:
        run.nats[1].kill()
        time.sleep(PHASE_S * 2)
        run.nats[1].start()
        time.sleep(PHASE_S * 2)
    for bot in bots:
        bot.stop.set()
    for bot in bots:
        bot.join(60)
        bot.client.close()
    admin.close()
    acked = {oid: o for bot in bots for oid, o in bot.acked.items()}
    assert len(acked) > 20, [bot.errors[:3] for bot in bots]

    cluster = _settled(run)
    listeners.close()
    assert {r["id"] for r in cluster["replicas"]} == {"a", "b"}
    # every acknowledged order is in the store
    assert not checks.acked_orders_missing(run.database_url, set(acked))
    # replicas, a replay from scratch and one from the latest snapshot: one state hash;
    # every invariant holds
    report = asyncio.run(audit_cluster(run.cluster_settings(), wait_s=30))
    assert report.ok, report.violations
    # the store equals the single-node projection of the same command stream
    single = f"{run.database_url}_single"
    _create_db(single)
    try:
        state_hash = checks.single_node_projection(checks.commands(run.cluster_settings()),
                                                   single)
        assert state_hash == report.state_hash
        ours, theirs = checks.table_rows(run.database_url), checks.table_rows(single)
        for table in checks.PROJECTED:
            assert ours[table] == theirs[table], (
                table, len(ours[table]), len(theirs[table]),
                sorted(set(ours[table]) - set(theirs[table]))[:5],
                sorted(set(theirs[table]) - set(ours[table]))[:5])
    finally:
        _drop_db(single)
    # no client saw a fill twice: every order id a bot sent (retries through another gateway
    # included) made one order, and the store holds one order per client order id
    for bot in bots:
        assert all(len(ids) == 1 for ids in bot.by_client_id.values())
    assert checks.orders_per_client_id_max(run.database_url) == 1
    # ... and no fill came through a listener twice (each of a command's fills has its own
    # order, side and size; two alike in one command are two in the store), each fill it saw
    # is in the store with its trade's price and size, and the streams outlived the gateway
    # kill: the listeners on g1 reconnected to g2
    assert not listeners.errors, listeners.errors
    seen = Counter(checks.fill_key(account, fill)
                   for account, fills in listeners.fills.items() for fill in fills)
    stored = checks.stored_fills(run.database_url, set(listeners.fills))
    assert seen, "the listeners saw no fill"
    assert not {k: (n, stored[k]) for k, n in seen.items() if n > stored[k]}
    assert sum(s.reconnects for s in listeners.streams) >= 2, listeners.reconnected
    print(f"fills seen {seen.total()} of {stored.total()} stored; reconnects "
          f"{[s.reconnects for s in listeners.streams]}; replays dropped "
          f"{[s.replays_dropped for s in listeners.streams]}")


async def _stream_finds_a_live_gateway(run: Run, key: dict[str, Any]) -> None:
    """A WebSocket stream given both gateways connects to the one alive (g1 is dead)."""
    g1, g2 = run.procs["g1"].base_url, run.procs["g2"].base_url
    stream = Stream([g1, g2], key["key_id"], key["secret"])
    await stream.connect()
    try:
        assert stream.url.startswith(g2.replace("http", "ws", 1))
        assert stream.account is not None
    finally:
        await stream.close()


def _create_db(url: str) -> None:
    import psycopg

    assert PG_URL is not None
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')


def _drop_db(url: str) -> None:
    import psycopg

    assert PG_URL is not None
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
