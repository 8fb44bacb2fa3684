"""An account suspended by the exchange (engine/risk.py, SuspendAccount): what it has live is
cancelled in the same command, whatever it sends after is refused, its money stays, and the
suspension is engine state (replayed from the journal, in the snapshot and the state hash)."""

from __future__ import annotations

from typing import Any

from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.orders import DONE_SUSPENDED, YES
from foretell.engine import snapshot
from foretell.engine.engine import Engine


def _setup(ex: Any) -> None:
    """Account 1 holds 10 YES (2 the NO) and rests a bid; 1 also has a take-profit/stop-loss."""
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2, 3)
    ex.limit(1, "buy_yes", 10, 50)
    ex.limit(2, "buy_no", 10, 50)
    ex.limit(1, "buy_yes", 5, 30)  # rests
    ex.ok(cmd.PlaceTrigger(ex.ts, 1, 1, YES, 10, take_profit_micro=700_000,
                           stop_loss_micro=400_000))


def test_suspending_cancels_what_is_live_and_refuses_what_comes_after(ex: Any) -> None:
    _setup(ex)
    cash, pos = ex.cash(1), ex.pos(1)
    assert ex.ok(cmd.SuspendAccount(ex.ts, 1, True)) == (1, 2)  # one order, a TP/SL pair
    done = ex.events(ev.OrderDone)[-1]
    assert (done["account"], done["reason"]) == (1, DONE_SUSPENDED)
    assert [t["reason"] for t in ex.events(ev.TriggerDone)] == [DONE_SUSPENDED] * 2
    (suspended,) = ex.events(ev.AccountSuspended)
    assert (suspended["account"], suspended["suspended"], suspended["orders"],
            suspended["triggers"]) == (1, True, 1, 2)
    a = ex.engine.accounts[1]
    assert not a.orders and not a.triggers
    # Its money stays: the bid's reservation came back to free cash, the shares are its own.
    assert ex.cash(1) == (cash[0] + cash[1], 0) and ex.pos(1) == pos
    # Whatever it sends now is refused and changes nothing; other accounts trade on.
    before = ex.hash()
    assert ex.do(cmd.PlaceOrder(ex.ts, 1, 1, YES, 0, 1, 400_000))[0] == codes.ACCOUNT_SUSPENDED
    assert ex.do(cmd.PlaceTrigger(ex.ts, 1, 1, YES, 5, stop_loss_micro=300_000))[0] == \
        codes.ACCOUNT_SUSPENDED
    assert ex.hash() == before
    ex.limit(3, "buy_yes", 1, 40)
    # Suspending again cancels nothing more; reinstating lets it trade again.
    assert ex.ok(cmd.SuspendAccount(ex.ts, 1, True)) == (0, 0)
    assert ex.ok(cmd.SuspendAccount(ex.ts, 1, False)) == (0, 0)
    assert ex.do(cmd.PlaceOrder(ex.ts, 1, 1, YES, 0, 1, 400_000))[0] == codes.OK
    assert ex.do(cmd.SuspendAccount(ex.ts, 0, True))[0] == codes.UNKNOWN_ACCOUNT


def test_a_suspension_is_replayed_and_snapshotted(ex: Any) -> None:
    _setup(ex)
    plain_before = snapshot.dumps(ex.engine)
    commands = [cmd.SuspendAccount(ex.ts, 1, True),
                cmd.SuspendAccount(ex.ts, 7, True)]  # an account with nothing yet: still
    for c in commands:
        ex.ok(c)
    restored = snapshot.loads(snapshot.dumps(ex.engine))
    assert restored.suspended == {1, 7}
    assert snapshot.state_hash(restored) == ex.hash()
    replayed = snapshot.loads(plain_before)
    for c in commands:
        replayed.apply(c)
    assert snapshot.state_hash(replayed) == ex.hash()
    # A deposit makes account 7; it cannot trade either.
    assert replayed.apply(cmd.Deposit(ex.ts, 7, 10**9))[0] == codes.OK
    assert replayed.apply(cmd.PlaceOrder(ex.ts, 7, 1, YES, 0, 1, 400_000))[0] == \
        codes.ACCOUNT_SUSPENDED
    # An engine that never suspended anyone keeps its snapshot bytes (no "suspended" key).
    assert b"suspended" not in snapshot.dumps(Engine())
