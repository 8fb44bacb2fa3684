"""Order groups and dead-man's switches are projected from their engine events."""

from __future__ import annotations

import sqlalchemy as sa
from tests.store.conftest import Store, Stream

from foretell.domain import commands as cmd
from foretell.store import schema as t


def _users(store: Store, *ids: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(t.users.insert(), [
            {"id": i, "username": f"user-{i}", "display_name": "", "password_hash": "x",
             "role": "trader", "created_ms": 0, "disabled": False} for i in ids])


def test_groups_and_switches_become_rows(store: Store, stream: Stream) -> None:
    _users(store, 1, 2)
    stream.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    stream.fund(1, 2)
    g = stream.ok(cmd.CreateOrderGroup(stream.ts, 1, 2, 60_000))
    stream.ok(cmd.CreateOrderGroup(stream.ts, 7, 2, 60_000))  # no such user: not projected
    stream.limit(1, "buy_yes", 5, 40, group=g)
    stream.ok(cmd.ArmDeadMan(stream.ts, 1, 30_000))
    stream.ok(cmd.ArmDeadMan(stream.ts, 2, 5_000))
    store.project(stream.outcomes)
    assert store.rows(t.order_groups) == [{
        "id": g, "account_id": 1, "contracts_limit": 2, "window_ms": 60_000, "triggered": False,
        "created_ms": stream.ts}]
    assert [(r["account_id"], r["due_ms"], r["timeout_s"]) for r in
            store.rows(t.dead_man_switches)] == [(1, stream.ts + 30_000, 30),
                                                 (2, stream.ts + 5_000, 5)]
    start = len(stream.outcomes)
    stream.limit(2, "buy_no", 2, 60)  # the group's limit: triggered
    stream.ok(cmd.ArmDeadMan(stream.ts, 1, 0))  # disarmed
    stream.ok(cmd.Timer(stream.ts + 5_000))  # account 2's switch fires
    store.project(stream.outcomes[start:])
    assert store.row(t.order_groups, id=g)["triggered"] is True
    assert store.rows(t.dead_man_switches) == []
    stream.ok(cmd.ResetOrderGroup(stream.ts, 1, g))
    store.project(stream.outcomes[-1:])
    assert store.row(t.order_groups, id=g)["triggered"] is False
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(t.orders)
                           .where(t.orders.c.group_id == g)) == 1
