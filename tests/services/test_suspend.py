"""Suspending and reinstating an account: a supervisor's verb. Sessions end, API keys are
refused while suspended and accepted again after, resting and trigger orders are cancelled
through the engine (journaled), money is untouched, and every change is on record."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from tests.services.conftest import World, refused, run, trader

from foretell.domain import commands as cmd
from foretell.domain.units import MICRO
from foretell.services import Services
from foretell.services.requests import TriggerIn
from foretell.store import schema as t


@pytest.fixture
def c(w: World) -> int:
    return int(w.market()["contract_ids"][0])


def test_suspend_ends_sessions_refuses_keys_cancels_orders_and_keeps_money(
        w: World, c: int) -> None:
    svc = w.svc
    ada, bob = w.user("ada"), w.user("bob")
    token, _, _ = svc.accounts.login("ada", "password-1")
    key = svc.accounts.create_key(ada, "bot", ["read", "trade"])["key_id"]
    assert svc.accounts.key(key) is not None and svc.accounts.session(token) is not None
    # ada holds 4 YES (a mint with bob), rests two bids and has a TP/SL pair on her position.
    w.place(bob, contract_id=c, outcome="no", side="buy", price="0.50", size=4)
    w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.50", size=4)
    w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.20", size=3)
    w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.10", size=2)
    run(svc.trading.place_trigger(trader(ada), TriggerIn.model_validate({
        "contract_id": c, "outcome": "yes", "size": 4, "take_profit": "0.80",
        "stop_loss": "0.30"})))
    free, reserved = w.free_reserved(ada)
    assert reserved > 0 and w.shares(ada, c) == (4, 0)

    done = run(svc.accounts.suspend(ada, "  wash trading under review  ", w.sam))
    assert done == {"user_id": ada, "suspended": True, "sessions_ended": 1,
                    "orders_cancelled": 2, "triggers_cancelled": 2,
                    "last_change": {"kind": "suspended", "ts_ms": w.clock.now_ms, "by": w.sam,
                                    "reason": "wash trading under review"}}
    # Not after `credential_recheck_ms`: at once, since the verb dropped the cached credentials.
    assert svc.accounts.session(token) is None
    assert svc.accounts.key(key) is None
    with refused("account_suspended"):
        svc.accounts.login("ada", "password-1")
    a = svc.engine.accounts[ada]
    assert a.orders == {} and a.triggers == {}
    # The cancels released every reservation back to free cash; nothing was taken.
    assert w.free_reserved(ada) == (free + reserved, 0)
    assert w.shares(ada, c) == (4, 0)
    assert svc.accounts.keys(ada)[0]["revoked_ms"] is None  # kept, only refused
    assert svc.accounts.user(ada)["suspended"] is True  # type: ignore[index]
    # An order authenticated before the suspension but sequenced after it (in flight) is
    # refused by the engine itself: nothing of ada's can rest while she is suspended.
    late = run(svc.node.execute(cmd.PlaceOrder(0, ada, c, 0, 0, 1, 300_000), ada))
    assert late.code == "account_suspended" and not a.orders

    again = run(svc.accounts.reinstate(ada, "review cleared", w.sam))
    assert again["suspended"] is False and again["last_change"]["kind"] == "reinstated"
    assert svc.accounts.key(key) == (ada, "trader", frozenset({"read", "trade"}))
    assert svc.accounts.session(token) is None  # an ended session stays ended
    new_token, csrf, _ = svc.accounts.login("ada", "password-1")
    assert svc.accounts.session(new_token) == (ada, "trader", csrf)
    assert svc.engine.accounts[ada].orders == {}  # cancelled orders stay cancelled
    with svc.db.connect() as conn:
        events = conn.execute(sa.select(t.user_events.c.kind, t.user_events.c.actor,
                                        t.user_events.c.reason).order_by(
            t.user_events.c.id)).all()
    assert [tuple(e) for e in events] == [("suspended", w.sam, "wash trading under review"),
                                          ("reinstated", w.sam, "review cleared")]


def test_the_cancels_are_journaled_and_replay(w: World, c: int) -> None:
    """A restart replays the journal: the suspension's cancels are in it, so the orders stay
    cancelled and the state hash is the same."""
    svc = w.svc
    ada = w.user("ada")
    w.place(ada, contract_id=c, outcome="yes", side="buy", price="0.20", size=3)
    run(svc.accounts.suspend(ada, "fraud report", w.sam))
    before = svc.pipeline.state_hash()
    svc.close()
    again = Services(svc.settings, clock=svc.node.clock)
    try:
        assert again.pipeline.state_hash() == before
        assert again.engine.accounts[ada].orders == {}
        assert again.engine.accounts[ada].free == 1_000 * MICRO
    finally:
        again.close()


def test_each_refusal(w: World) -> None:
    svc = w.svc
    ada = w.user("ada", usdc=0)
    other = w._row("sue", "supervisor")
    with refused("unknown_user"):
        run(svc.accounts.suspend(9_999, "no such user", w.sam))
    with refused("cannot_suspend_self"):
        run(svc.accounts.suspend(w.sam, "myself", w.sam))
    with refused("cannot_suspend_supervisor"):
        run(svc.accounts.suspend(other, "another supervisor", w.sam))
    with refused("invalid_reason"):
        run(svc.accounts.suspend(ada, "  x ", w.sam))
    with refused("not_suspended"):
        run(svc.accounts.reinstate(ada, "was never suspended", w.sam))
    run(svc.accounts.suspend(ada, "first time", w.sam))
    with refused("already_suspended"):
        run(svc.accounts.suspend(ada, "second time", w.sam))
    with refused("unknown_user"):
        run(svc.accounts.reinstate(9_999, "no such user", w.sam))
    with refused("cannot_suspend_supervisor"):
        run(svc.accounts.suspend(other, "by the operator at the CLI", None))
    with svc.db.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(t.user_events)) == 1
