"""A dead-man's switch survives a restart: still armed with its deadline, and one that fell due
while the exchange was down cancels the account's orders at the first tick."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import sqlalchemy as sa

from foretell.api.auth import Principal
from foretell.config import Settings
from foretell.domain import commands as cmd
from foretell.domain.orders import BUY, YES
from foretell.service import Service
from foretell.store import schema as t


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def _rows(svc: Service) -> list[tuple[int, int, int]]:
    table = t.dead_man_switches
    with svc.db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table))]  # type: ignore[misc]


def test_switch_survives_a_restart_and_fires_after_it(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path, demo=False, market_maker=False)
    clock = Clock(1_800_000_000_000)
    svc = Service(settings, clock=clock)
    trader = svc.create_user("tess", "password-1", "trader")
    other = svc.create_user("otto", "password-1", "trader")
    for account in (trader, other):
        svc.pipeline.execute(cmd.Deposit(0, account, 100 * 10**6, "funding"))
    svc.pipeline.execute(cmd.CreateMarket(0, 1, meta=json.dumps(
        {"slug": "restart", "question": "Will the switch survive a restart?"})))
    for account in (trader, other):
        svc.pipeline.execute(cmd.PlaceOrder(0, account, 1, YES, BUY, 5, 400_000))
    me = Principal(trader, "trader", frozenset({"read", "trade"}), "session")
    armed = svc.arm_dead_man(me, 30)
    assert armed["cancel_at_ms"] == clock.now_ms + 30_000
    svc.close()

    clock.now_ms += 10_000  # restarted 10 s later: armed, same deadline, nothing cancelled yet
    svc = Service(settings, clock=clock)
    try:
        assert svc.dead_man == {trader: (armed["cancel_at_ms"], 30)}
        asyncio.run(svc.tick())
        assert len(svc.engine.orders) == 2
    finally:
        svc.close()

    clock.now_ms += 60_000  # down past the deadline: the first tick after the start cancels
    svc = Service(settings, clock=clock)
    try:
        asyncio.run(svc.tick())
        assert [o.account.id for o in svc.engine.orders.values()] == [other]
        assert svc.dead_man == {} and _rows(svc) == []
    finally:
        svc.close()


def test_disarming_forgets_the_switch_for_good(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path, demo=False, market_maker=False)
    svc = Service(settings)
    trader = svc.create_user("tess", "password-1", "trader")
    me = Principal(trader, "trader", frozenset({"read", "trade"}), "session")
    svc.arm_dead_man(me, 30)
    svc.arm_dead_man(me, 60)  # renewed: one row, the new deadline
    assert [(a, s) for a, _, s in _rows(svc)] == [(trader, 60)]
    assert svc.arm_dead_man(me, 0) == {"armed": False}
    svc.close()
    svc = Service(settings)
    try:
        assert svc.dead_man == {} and _rows(svc) == []
    finally:
        svc.close()
