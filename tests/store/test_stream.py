"""Seeded streams: the store agrees with the engine after thousands of mixed commands, and a
projector that restarts behind the journal catches up to exactly the same tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from foretell.bench.workload import commands
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.outcome import Outcome
from foretell.exchange.pipeline import Pipeline
from foretell.store import schema as t
from foretell.store.projector import ProjectorThread

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Store, Stream


@pytest.mark.parametrize("seed", [11])
def test_random_stream_matches_engine(store: Store, stream: Stream, seed: int) -> None:
    for command in commands(5_000, seed=seed, markets=20, accounts=200):
        stream.do(command)
    for market in (1, 2, 10):  # 10 is categorical
        stream.do(cmd.SettleMarket(stream.ts, market, 1))
    stream.do(cmd.VoidMarket(stream.ts, 3, "test"))
    store.project(stream.outcomes, batch=997)
    e = stream.engine
    why = f"seed {seed}"

    assert store.balances() == stream.balances(), why
    assert store.positions() == stream.positions(), why
    assert store.projector.last_seq() == len(stream.outcomes), why

    orders = store.rows(t.orders)
    resting = {r["id"]: r["remaining"] for r in orders if r["status"] == "open"}
    assert resting == {o.id: o.remaining for o in e.orders.values()}, why
    filled: dict[int, int] = {}
    for f in store.rows(t.fills):
        filled[f["order_id"]] = filled.get(f["order_id"], 0) + f["size"]
    assert {r["id"]: r["filled"] for r in orders if r["filled"]} == filled, why

    trades = store.rows(t.trades)
    for c in store.rows(t.contracts):
        assert c["volume_shares"] == e.contracts[c["id"]].volume, why
        daily = sum(b["volume_shares"] for b in store.rows(t.candles, contract_id=c["id"],
                                                           interval_s=86_400))
        assert daily == sum(x["size"] for x in trades if x["contract_id"] == c["id"]), why
    for m in store.rows(t.markets):
        assert m["fees_micro"] == e.markets[m["id"]].fees_micro, why
    _settled_pnl_is_minus_fees(store, why)


def _settled_pnl_is_minus_fees(store: Store, why: str) -> None:
    """Once a contract has paid out, every position in it is closed, so the realized P&L of
    all its holders sums to what they paid in fees: money in a market only moves between them."""
    settled = {m["id"] for m in store.rows(t.markets) if m["status"] in ("settled", "voided")}
    assert settled
    contracts = {c["id"] for c in store.rows(t.contracts) if c["market_id"] in settled}
    fees: dict[int, int] = {}
    for f in store.rows(t.fills):
        fees[f["contract_id"]] = fees.get(f["contract_id"], 0) + f["fee_micro"]
    pnl: dict[int, int] = {}
    for p in store.rows(t.positions):
        pnl[p["contract_id"]] = pnl.get(p["contract_id"], 0) + p["realized_pnl_micro"]
        if p["contract_id"] in contracts:
            assert p["cost_micro"] == 0, why
    for contract in contracts:
        assert pnl.get(contract, 0) == -fees.get(contract, 0), (why, contract)


def _comparable(outcome: Outcome) -> tuple[Any, ...]:
    # Book levels are a publisher's concern (and restart their numbering with the process).
    events = [e for e in outcome.events if not isinstance(e, ev.BookLevel)]
    return outcome.seq, outcome.command, outcome.code, outcome.value, events


def test_restart_replays_to_the_same_tables(tmp_path: Path,
                                            make_store: Callable[[], Store]) -> None:
    stream = list(commands(1_500, seed=5, markets=10, accounts=50))
    first, second = stream[:1_000], stream[1_000:]
    journal = tmp_path / "journal"

    # Run 1: the projector commits only the first 400 outcomes, then the process dies.
    seen: list[Outcome] = []
    pipeline = Pipeline(journal)
    pipeline.listeners.append(seen.append)
    for command in first:
        pipeline.submit(command, stamp=False)
    pipeline.close()
    assert len(seen) == pipeline.seq
    behind = make_store()
    behind.project(seen[:400])

    # Run 2: recover, replay what the store lacks into a projector thread, carry on trading.
    thread = ProjectorThread(behind.projector, batch_max=300)
    replayed: list[Outcome] = []

    def on_replay(outcome: Outcome) -> None:
        replayed.append(outcome)
        thread.submit(outcome)

    pipeline = Pipeline(journal, project_after=behind.projector.last_seq(), on_replay=on_replay)
    assert [_comparable(o) for o in replayed] == [_comparable(o) for o in seen[400:]]
    pipeline.listeners.append(thread.submit)
    pipeline.listeners.append(seen.append)
    for command in second:
        pipeline.submit(command, stamp=False)
    pipeline.close()
    thread.close()

    uninterrupted = make_store()
    uninterrupted.project(seen)
    assert behind.projector.last_seq() == pipeline.seq == len(seen)
    assert behind.dump() == uninterrupted.dump()
    engine = pipeline.engine
    assert behind.balances() == {a.id: (a.free, a.reserved) for a in engine.accounts.values()}
