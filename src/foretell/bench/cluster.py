"""`python -m foretell.bench cluster`: the cluster as processes on this machine, driven by
SDK clients (API keys, signed REST orders).

Figures: orders/s and ack p50/p99 through one gateway and through two; failover time (the
engine leader SIGKILLed -> the first acknowledgement of an order sent after the kill);
CPU-seconds per 10,000 orders in each tier (gateways, engine replicas, projector, NATS), from
/proc, and the load generator's own (this process: the SDK clients). From those, a capacity
model for 100,000 orders/s and 100,000 WebSocket subscribers.

NATS: one server of the run's own (R1), or three (`--replicas 3`); PostgreSQL: a fresh database
beside `--database-url` (default FORETELL_TEST_PG_URL), dropped afterwards.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from foretell.bench.cluster_run import SUPERVISOR, Proc, Run
from foretell.client import AsyncClient, Client

CLIENTS_PER_GATEWAY = 16
PASSWORD = "bench-password-1"
WS_SUBSCRIBERS_PER_FANOUT_NODE = 10_000  # assumed (bench api measures one node's fan-out)
CORES_PER_MACHINE = 8
HEADROOM = 0.7  # plan machines at 70 % CPU


def _cpu_s(proc: Proc) -> float:
    if proc.process is None or proc.process.poll() is not None:
        return 0.0
    fields = Path(f"/proc/{proc.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _tiers(run: Run) -> dict[str, float]:
    tiers = {"gateway": 0.0, "engine": 0.0, "projector": 0.0, "nats": 0.0}
    for name, proc in run.procs.items():
        tier = "gateway" if name.startswith("g") else name.split("-")[0]
        tiers[tier] += _cpu_s(proc)
    tiers["nats"] = sum(_cpu_s(p) for p in run.nats)
    return tiers


async def _trader(url: str, admin: AsyncClient) -> AsyncClient:
    async with AsyncClient(url) as session:
        account = (await session.signup(f"b{uuid.uuid4().hex[:10]}", PASSWORD))["user"]["id"]
        await admin.admin_credit(account, "1000000", "bench funding")
        key = await session.create_api_key("bench", ["read", "trade"])
    return AsyncClient(url, key["key_id"], key["secret"], timeout_s=30)


async def _load(clients: list[AsyncClient], market_id: int, seconds: float,
                acks: list[tuple[float, float]]) -> None:
    """Each client places orders back to back for `seconds`: (sent, acked) per order."""
    stop = time.monotonic() + seconds

    async def one(client: AsyncClient, seed: int) -> None:
        rnd = random.Random(seed)
        while time.monotonic() < stop:
            sent = time.monotonic()
            try:
                await client.place_order(market_id=market_id, outcome=rnd.choice(["yes", "no"]),
                                         side="buy", price=rnd.choice(["0.30", "0.40", "0.45"]),
                                         size=1)
            except Exception:  # noqa: BLE001 - a refused or lost order is not an ack
                await asyncio.sleep(0.05)
                continue
            acks.append((sent, time.monotonic()))

    await asyncio.gather(*(one(c, i) for i, c in enumerate(clients)))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _phase(run: Run, clients: list[AsyncClient], market_id: int,
                 seconds: float) -> dict[str, Any]:
    acks: list[tuple[float, float]] = []
    before, client_before = _tiers(run), _own_cpu_s()
    started = time.monotonic()
    await _load(clients, market_id, seconds, acks)
    elapsed = time.monotonic() - started
    after, client_after = _tiers(run), _own_cpu_s()
    latencies = [(a - s) * 1000 for s, a in acks]
    orders = max(1, len(acks))
    return {"orders_per_s": round(len(acks) / elapsed, 1),
            "ack_p50_ms": round(_percentile(latencies, 0.5), 2),
            "ack_p99_ms": round(_percentile(latencies, 0.99), 2),
            "cpu_s_per_10k": {tier: round((after[tier] - before[tier]) * 10_000 / orders, 2)
                              for tier in after},
            # this process: the SDK clients signing and sending the orders (not a cluster tier,
            # but on the same cores, so it bounds the orders/s measured here)
            "load_generator_cpu_s_per_10k": round((client_after - client_before) * 10_000
                                                  / orders, 2)}


async def _failover(run: Run, clients: list[AsyncClient], market_id: int) -> float:
    """Kill the leader under load; seconds until the first ack of an order sent after it."""
    admin = Client(run.procs["g1"].base_url)
    try:
        leader = admin.health()["cluster"]["leader"]
    finally:
        admin.close()
    acks: list[tuple[float, float]] = []
    load = asyncio.create_task(_load(clients, market_id, 20.0, acks))
    await asyncio.sleep(1.0)
    killed = time.monotonic()
    run.procs[f"engine-{leader}"].kill()
    while time.monotonic() < killed + 20:
        after = [a for s, a in acks if s > killed]
        if after:
            break
        await asyncio.sleep(0.01)
    load.cancel()
    try:
        await load
    except asyncio.CancelledError:
        pass
    after = [a for s, a in acks if s > killed]
    run.restart(f"engine-{leader}")
    return round(min(after) - killed, 3) if after else float("nan")


async def _bench(run: Run, seconds: float) -> dict[str, Any]:
    g1, g2 = run.procs["g1"].base_url, run.procs["g2"].base_url
    async with AsyncClient(g1) as admin:
        await admin.login(*SUPERVISOR)
        market = await admin.admin_create_market(slug=f"bench-{uuid.uuid4().hex[:8]}",
                                                 question="Benchmark market: will it finish?")
        one = [await _trader(g1, admin) for _ in range(CLIENTS_PER_GATEWAY)]
        two = one[: CLIENTS_PER_GATEWAY // 2] + [await _trader(g2, admin)
                                                 for _ in range(CLIENTS_PER_GATEWAY // 2)]
    await asyncio.sleep(2.0)  # market in every gateway's follower
    try:
        result: dict[str, Any] = {}
        result["one_gateway"] = await _phase(run, one, market["id"], seconds)
        result["two_gateways"] = await _phase(run, two, market["id"], seconds)
        result["failover_s"] = await _failover(run, two, market["id"])
    finally:
        for client in {id(c): c for c in one + two}.values():
            await client.close()
    return result


def capacity(cpu_s_per_10k: dict[str, float], orders_per_s: int = 100_000,
             subscribers: int = 100_000, cores: int = CORES_PER_MACHINE) -> dict[str, Any]:
    """Machines of `cores` cores for `orders_per_s` and `subscribers`, from CPU per order."""
    per_order = {tier: s / 10_000 for tier, s in cpu_s_per_10k.items()}
    gateway_cores = per_order["gateway"] * orders_per_s
    engine_cores = per_order["engine"] / 2 * orders_per_s  # measured on 2 replicas: per replica
    projector_cores = per_order["projector"] * orders_per_s
    nats_cores = per_order["nats"] * orders_per_s
    usable = cores * HEADROOM
    return {
        "gateways": math.ceil(gateway_cores / usable),
        "gateway_cores": round(gateway_cores, 1),
        "fanout_nodes": math.ceil(subscribers / WS_SUBSCRIBERS_PER_FANOUT_NODE),
        "engine_replicas": 3,
        "engine_cores_per_replica": round(engine_cores, 2),
        "engine_holds": engine_cores <= HEADROOM,
        "projector_cores": round(projector_cores, 2),
        "projector_holds": projector_cores <= HEADROOM,
        "nats_cores_per_server": round(nats_cores, 2),
        "nats_servers": 3,
    }


NOTE = (
    "Model: every order costs the CPU measured per tier; gateways scale out (machines = "
    "gateway cores / (cores x 70 %)); WebSocket fan-out nodes read the event stream and serve "
    "an assumed {per} subscribers each; the engine is one sequential core per replica (3 "
    "replicas: a leader and two to take over), so the model holds only while one core "
    "applies every order (engine_holds); the projector is one sequential writer into one "
    "database (projector_holds), and NATS carries each order about twice (command, event). "
    "It stops holding where a sequential tier passes one core: then markets must be sharded "
    "(an engine and a projector per market group), which this build does not do; it also "
    "ignores the network, PostgreSQL's own CPU and disks, and figures measured on a shared "
    "2-core machine with the load generator on it overstate the CPU per order.")


def run(seconds: float = 5.0, replicas: int = 1, database_url: str = "") -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="foretell-bench-cluster-"))
    r = Run(base, replicas=replicas)
    try:
        r.start_all(own_nats=True, database_url=database_url or None)
        result = asyncio.run(_bench(r, seconds))
    finally:
        r.close()
    model = capacity(result["two_gateways"]["cpu_s_per_10k"])
    print(f"capacity for 100k orders/s and 100k WebSocket subscribers on {CORES_PER_MACHINE}-core "
          f"machines: {model['gateways']} gateway machines, {model['fanout_nodes']} fan-out "
          f"nodes, {model['engine_replicas']} engine replicas "
          f"({model['engine_cores_per_replica']} cores each: "
          f"{'holds' if model['engine_holds'] else 'does NOT hold, shard markets'}), projector "
          f"{model['projector_cores']} cores "
          f"({'holds' if model['projector_holds'] else 'does NOT hold, shard projectors'})")
    print(NOTE.format(per=WS_SUBSCRIBERS_PER_FANOUT_NODE))
    return {**result, "replicas": replicas, "capacity_model": model}
