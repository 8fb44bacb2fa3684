"""Risk controls survive a restart. A dead-man's switch stays armed with its deadline, and one
that fell due while the exchange was down cancels the account's orders at the first tick. An
order group keeps its limit, its triggered state and its open orders. Both are engine state
(engine/risk.py), rebuilt from the journal; their tables are the projector's."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import sqlalchemy as sa

from foretell.config import Settings
from foretell.domain import commands as cmd
from foretell.domain.orders import BUY, NO, YES
from foretell.services import Services
from foretell.services.auth import Principal
from foretell.services.requests import OrderIn
from foretell.store import schema as t


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def _traders(svc: Services, *names: str, market: str = "") -> list[int]:
    """Traders with 100 USDC each and, given a `market` question, market 1 open for trading."""
    ids = [svc.accounts.create_user(name, "password-1", "trader") for name in names]
    for account in ids:
        svc.pipeline.execute(cmd.Deposit(0, account, 100 * 10**6, "funding"))
    if market:
        svc.pipeline.execute(cmd.CreateMarket(0, 1, meta=json.dumps(
            {"slug": "restart", "question": market})))
    return ids


def _session(user_id: int) -> Principal:
    return Principal(user_id, "trader", frozenset({"read", "trade"}), "session")


def _rows(svc: Services) -> list[tuple[int, int, int]]:
    svc.node.wait_projected()  # the table is a projection: read it once it has everything
    table = t.dead_man_switches
    with svc.db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table))]  # type: ignore[misc]


def test_switch_survives_a_restart_and_fires_after_it(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path, demo=False, market_maker=False)
    clock = Clock(1_800_000_000_000)
    svc = Services(settings, clock=clock)
    trader, other = _traders(svc, "tess", "otto", market="Will the switch survive a restart?")
    for account in (trader, other):
        svc.pipeline.execute(cmd.PlaceOrder(0, account, 1, YES, BUY, 5, 400_000))
    me = _session(trader)
    armed = asyncio.run(svc.risk.arm_dead_man(me, 30))
    assert armed["cancel_at_ms"] == clock.now_ms + 30_000
    svc.close()

    clock.now_ms += 10_000  # restarted 10 s later: armed, same deadline, nothing cancelled yet
    svc = Services(settings, clock=clock)
    try:
        assert svc.risk.dead_man == {trader: (armed["cancel_at_ms"], 30)}
        asyncio.run(svc.tick())
        assert len(svc.engine.orders) == 2
    finally:
        svc.close()

    clock.now_ms += 60_000  # down past the deadline: the first tick after the start cancels
    svc = Services(settings, clock=clock)
    try:
        asyncio.run(svc.tick())
        assert [o.account.id for o in svc.engine.orders.values()] == [other]
        assert svc.risk.dead_man == {} and _rows(svc) == []
    finally:
        svc.close()


def test_disarming_forgets_the_switch_for_good(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path, demo=False, market_maker=False)
    svc = Services(settings)
    (trader,) = _traders(svc, "tess")
    me = _session(trader)
    asyncio.run(svc.risk.arm_dead_man(me, 30))
    asyncio.run(svc.risk.arm_dead_man(me, 60))  # renewed: one row, the new deadline
    assert [(a, s) for a, _, s in _rows(svc)] == [(trader, 60)]
    assert asyncio.run(svc.risk.arm_dead_man(me, 0)) == {"armed": False}
    svc.close()
    svc = Services(settings)
    try:
        assert svc.risk.dead_man == {} and _rows(svc) == []
    finally:
        svc.close()


def test_order_group_keeps_its_orders_and_state_across_a_restart(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path, demo=False, market_maker=False)
    svc = Services(settings)
    trader, taker = _traders(svc, "tess", "otto", market="Will the group survive a restart?")
    me = _session(trader)
    group = asyncio.run(svc.risk.create_group(me, contracts_limit=3, window_s=60))["id"]

    async def place() -> list[int]:
        ids = []
        for price in ("0.40", "0.41"):
            outcome = svc.trading.place_nowait(me, OrderIn.model_validate(
                {"contract_id": 1, "outcome": "yes", "side": "buy", "price": price, "size": 2,
                 "order_group_id": group}))
            await svc.node.durable(outcome)
            ids.append(outcome.value)
        return ids

    ids = asyncio.run(place())
    svc.node.wait_projected()
    svc.close()

    svc = Services(settings)
    try:
        g = svc.risk.groups[group]
        assert (g.account_id, g.contracts_limit, g.window_ms, g.triggered) == (
            trader, 3, 60_000, False)
        assert g.orders == set(ids) and svc.risk.order_group == {i: group for i in ids}
        assert asyncio.run(svc.risk.create_group(me, 5, 10))["id"] == group + 1  # ids go on, never reused

        async def hit_the_limit() -> None:
            svc.attach(asyncio.get_running_loop())
            # 3 contracts sold into the group's bids: the cap is reached, the rest is cancelled.
            await svc.execute(cmd.PlaceOrder(0, taker, 1, NO, BUY, 3, 600_000), taker)
            for _ in range(100):
                if not any(i in svc.engine.orders for i in ids):
                    return
                await asyncio.sleep(0.01)

        asyncio.run(hit_the_limit())
        assert svc.risk.groups[group].triggered
        assert not any(i in svc.engine.orders for i in ids)
    finally:
        svc.close()
    svc = Services(settings)
    try:
        assert svc.risk.groups[group].triggered  # still: reset it before adding orders
    finally:
        svc.close()


def test_a_group_triggered_before_a_restart_stays_triggered_after_it(tmp_path: Path) -> None:
    """The limit is hit and the group's orders cancelled in one command: a restart replays
    both, never one without the other."""
    settings = Settings(data=tmp_path, demo=False, market_maker=False)
    svc = Services(settings)
    trader, taker = _traders(svc, "tess", "otto",
                             market="Will the cancels finish after a restart?")
    me = _session(trader)
    group = asyncio.run(svc.risk.create_group(me, contracts_limit=1, window_s=60))["id"]

    async def place() -> int:
        outcome = svc.trading.place_nowait(me, OrderIn.model_validate(
            {"contract_id": 1, "outcome": "yes", "side": "buy", "price": "0.30", "size": 4,
             "order_group_id": group}))
        await svc.node.durable(outcome)
        await svc.execute(cmd.PlaceOrder(0, taker, 1, NO, BUY, 1, 700_000), taker)  # limit hit
        return int(outcome.value)

    order = asyncio.run(place())
    assert svc.risk.groups[group].triggered and order not in svc.engine.orders
    svc.close()

    svc = Services(settings)
    try:
        assert svc.risk.groups[group].triggered and order not in svc.engine.orders
        with svc.db.connect() as conn:
            assert conn.scalar(sa.select(t.order_groups.c.triggered)
                               .where(t.order_groups.c.id == group)) is True
    finally:
        svc.close()


def test_a_renewal_before_the_due_time_keeps_the_switch(tmp_path: Path) -> None:
    clock = Clock(1_800_000_000_000)
    svc = Services(Settings(data=tmp_path, demo=False, market_maker=False), clock=clock)
    try:
        (trader,) = _traders(svc, "tess")
        me = _session(trader)
        first = asyncio.run(svc.risk.arm_dead_man(me, 30))["cancel_at_ms"]
        clock.now_ms += 10_000
        renewed = asyncio.run(svc.risk.arm_dead_man(me, 60))["cancel_at_ms"]
        clock.now_ms = first  # the first due time passes: the renewed switch does not fire
        asyncio.run(svc.tick())
        assert _rows(svc) == [(trader, renewed, 60)]
        assert svc.risk.dead_man == {trader: (renewed, 60)}
    finally:
        svc.close()
