"""Engine benchmark: a fixed, seeded mixed workload applied in process, full ledger included.

The stream is generated first (untimed, against a shadow engine) and encoded as journal records;
the generator and its shadow engine are dropped, the records are decoded (as commands arrive from
the journal or the network) and applied to a fresh engine under the clock. Events are drained
every 1,000 commands as a real consumer would.
"""

from __future__ import annotations

import gc
import resource
import time
import tracemalloc
from typing import Any

from foretell.bench.workload import commands
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.engine.audit import audit
from foretell.engine.engine import Engine


def run(n: int = 1_000_000, seed: int = 1, markets: int = 100, accounts: int = 1_000,
        progress: Any = None, pool_share: float = 0.0) -> dict[str, Any]:
    """The figure without pools; with `pool_share`, also the figure with that share of the
    markets pool-backed, measured in the same process right after (`pools` in the result)."""
    out = _run(n, seed, markets, accounts, progress, 0.0)
    if pool_share > 0:
        pooled = _run(n, seed, markets, accounts, progress, pool_share)
        out["pools"] = {k: pooled[k] for k in (
            "commands", "seconds", "cpu_seconds", "commands_per_s", "commands_per_cpu_s",
            "fills", "pool_fills", "rejected", "audit_ok")} | {"pool_share": pool_share}
    return out


def _run(n: int, seed: int, markets: int, accounts: int, progress: Any,
         pool_share: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    records = [cmd.encode(c) for c in commands(n, seed=seed, markets=markets, accounts=accounts,
                                               pool_share=pool_share)]
    generate_s = time.perf_counter() - t0
    gc.collect()
    t0 = time.perf_counter()
    stream = [cmd.decode(r) for r in records]
    decode_s = time.perf_counter() - t0
    del records
    kinds: dict[str, int] = {}
    for c in stream:
        kinds[type(c).__name__] = kinds.get(type(c).__name__, 0) + 1
    engine = Engine()
    apply = engine.apply
    fills = rejected = pool_fills = 0
    gc.collect()
    gc.disable()  # the engine makes no reference cycles worth collecting mid-run
    start = time.perf_counter()
    cpu_start = time.process_time()
    for i, c in enumerate(stream):
        if apply(c)[0] != "ok":
            rejected += 1
        if i % 1_000 == 0:
            events = engine.take_events()
            fills, pool_fills = _count_fills(events, fills, pool_fills)
            if progress is not None and i % 100_000 == 0:
                progress(i)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    gc.enable()
    events = engine.take_events()
    fills, pool_fills = _count_fills(events, fills, pool_fills)
    report = audit(engine)
    return {
        "benchmark": "engine",
        "commands": len(stream),
        "seconds": round(seconds, 3),
        "commands_per_s": round(len(stream) / seconds),
        "cpu_seconds": round(cpu_seconds, 3),
        "commands_per_cpu_s": round(len(stream) / cpu_seconds),
        "fills": fills,
        "pool_fills": pool_fills,
        "rejected": rejected,
        "resting_orders": len(engine.orders),
        "live_triggers": len(engine.triggers),
        "markets": markets,
        "accounts": accounts,
        "seed": seed,
        "mix": kinds,
        "generate_s": round(generate_s, 3),
        "decode_s": round(decode_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "bytes_per_resting_order": bytes_per_resting_order(),
        "audit_ok": report.ok,
    }


def _count_fills(events: list[ev.Event], fills: int, pool_fills: int) -> tuple[int, int]:
    """Running totals of fills and of pool fills (a pool's fill has no maker order)."""
    for e in events:
        if type(e) is ev.Fill:
            fills += 1
            if e.maker_order == 0:
                pool_fills += 1
    return fills, pool_fills


def bytes_per_resting_order(orders: int = 50_000) -> int:
    """Memory that one more resting order costs (object, book links, id indexes)."""
    engine = Engine()
    engine.apply(cmd.CreateMarket(0, 1))
    for a in range(1, 101):
        engine.apply(cmd.Deposit(0, a, 10**12))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(orders):
        engine.apply(cmd.PlaceOrder(1, 1 + i % 100, 1, 0, 0, 1 + i % 7, (1 + i % 49) * 10_000))
    engine.take_events()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) // orders
