"""Order groups and dead-man's switches as engine commands (engine/risk.py): limits that
cancel, windows that roll, resets, switches fired, renewed and disarmed by the Timer, and the
same state after a replay of the commands or a snapshot round trip."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.orders import BUY, NO, YES
from foretell.domain.units import MICRO
from foretell.engine import risk, snapshot
from foretell.engine.audit import audit
from foretell.engine.engine import Engine

SETTINGS: dict[str, Any] = dict(deadline=None, database=None,
                                suppress_health_check=[HealthCheck.too_slow])


def setup(ex: Any) -> None:
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2, 3)


def group(ex: Any, account: int = 1, limit: int = 5, window_ms: int = 60_000) -> int:
    gid: int = ex.ok(cmd.CreateOrderGroup(ex.ts, account, limit, window_ms))
    return gid


def bid(ex: Any, account: int, size: int, cents: int, group_id: int = 0) -> Any:
    return ex.limit(account, "buy_yes", size, cents, group=group_id)


def test_the_limit_cancels_the_groups_resting_orders_in_the_same_command(ex: Any) -> None:
    setup(ex)
    g = group(ex, limit=5)
    assert g == 1 and group(ex, limit=9) == 2  # ids in sequence
    assert ex.events(ev.GroupCreated)[0] == {"event": "group_created", "ts_ms": ex.ts,
                                              "group": 1, "account": 1, "contracts_limit": 5,
                                              "window_ms": 60_000}
    _, first = bid(ex, 1, 10, 30, g)
    _, second = bid(ex, 1, 10, 29, g)
    _, outside = bid(ex, 1, 1, 28)
    assert ex.engine.groups[g].orders == {first, second}
    ex.log.clear()
    ex.limit(2, "buy_no", 4, 70)  # 4 of 5: nothing yet
    assert not ex.events(ev.GroupTriggered) and first in ex.engine.orders
    ex.limit(2, "buy_no", 1, 70)  # the fifth contract reaches the limit
    (hit,) = ex.events(ev.GroupTriggered)
    assert (hit["group"], hit["filled"], hit["cancelled"]) == (g, 5, 2)
    done = {e["order"]: e["reason"] for e in ex.events(ev.OrderDone) if e["account"] == 1}
    assert done == {first: risk.DONE_ORDER_GROUP, second: risk.DONE_ORDER_GROUP}
    assert set(ex.engine.orders) == {outside}
    assert ex.engine.groups[g].triggered and not ex.engine.grouped
    code, _ = bid(ex, 1, 1, 30, g)
    assert code == codes.ORDER_GROUP_TRIGGERED
    assert bid(ex, 2, 1, 30, g)[0] == codes.UNKNOWN_ORDER_GROUP  # another account's group
    assert bid(ex, 1, 1, 30, 99)[0] == codes.UNKNOWN_ORDER_GROUP


def test_a_taking_order_counts_its_own_fills(ex: Any) -> None:
    setup(ex)
    g = group(ex, limit=5)
    _, resting = bid(ex, 1, 3, 20, g)
    ex.limit(2, "buy_no", 5, 40)  # an ask at 0.60
    ex.log.clear()
    _, taker = bid(ex, 1, 5, 60, g)  # fills 5 on arrival: the cap is reached by the taker
    assert ex.events(ev.GroupTriggered)[0]["cancelled"] == 1
    assert resting not in ex.engine.orders and taker not in ex.engine.orders
    assert not ex.engine.grouped and ex.engine.groups[g].orders == set()


def test_fills_leave_the_window(ex: Any) -> None:
    setup(ex)
    g = group(ex, limit=5, window_ms=10_000)
    _, order = bid(ex, 1, 20, 30, g)
    ex.limit(2, "buy_no", 3, 70)
    ex.tick(10_000)  # the 3 contracts are exactly one window old: they no longer count
    ex.limit(2, "buy_no", 3, 70)
    assert not ex.engine.groups[g].triggered and order in ex.engine.orders
    assert ex.engine.groups[g].window_filled == 3
    ex.tick(9_999)
    ex.limit(2, "buy_no", 2, 70)  # 3 + 2 within the window
    assert ex.engine.groups[g].triggered and order not in ex.engine.orders


def test_reset_takes_orders_again_with_an_empty_window(ex: Any) -> None:
    setup(ex)
    g = group(ex, limit=2)
    bid(ex, 1, 5, 30, g)
    ex.limit(2, "buy_no", 2, 70)
    assert ex.engine.groups[g].triggered
    assert ex.do(cmd.ResetOrderGroup(ex.ts, 2, g))[0] == codes.UNKNOWN_ORDER_GROUP
    assert ex.ok(cmd.ResetOrderGroup(ex.ts, 1, g)) == g
    grp = ex.engine.groups[g]
    assert not grp.triggered and grp.window_filled == 0 and not grp.fills
    _, again = bid(ex, 1, 5, 30, g)
    ex.limit(2, "buy_no", 1, 70)
    assert not grp.triggered and ex.engine.grouped == {again: grp}


def test_an_order_refused_for_another_reason_leaves_the_group(ex: Any) -> None:
    setup(ex)
    g = group(ex)
    assert bid(ex, 1, 10**6, 99, g)[0] == codes.INSUFFICIENT_FUNDS
    assert ex.engine.groups[g].orders == set() and not ex.engine.grouped


def test_group_limits_are_checked(ex: Any) -> None:
    setup(ex)
    for limit, window in ((0, 1_000), (5, 0), (5, 86_400_001)):
        assert ex.do(cmd.CreateOrderGroup(ex.ts, 1, limit, window))[0] == \
            codes.INVALID_RISK_CONTROL
    assert ex.engine.groups == {} and ex.engine.next_group == 1


def test_dead_man_fires_at_its_due_time_through_the_timer(ex: Any) -> None:
    setup(ex)
    _, mine = bid(ex, 1, 1, 10)
    _, theirs = bid(ex, 2, 1, 11)
    due = ex.ok(cmd.ArmDeadMan(ex.ts, 1, 30_000))
    assert due == ex.ts + 30_000 and ex.engine.next_deadline_ms() == due
    ex.ok(cmd.Timer(due - 1))
    assert mine in ex.engine.orders
    ex.log.clear()
    assert ex.ok(cmd.Timer(due)) == 1
    (fired,) = ex.events(ev.DeadManFired)
    assert (fired["account"], fired["due_ms"], fired["cancelled"]) == (1, due, 1)
    assert [e["reason"] for e in ex.events(ev.OrderDone)] == [risk.DONE_DEAD_MAN]
    assert set(ex.engine.orders) == {theirs}
    assert ex.engine.dead_men == {} and ex.engine.next_deadline_ms() == 0


def test_a_renewed_switch_does_not_fire_at_the_old_time(ex: Any) -> None:
    setup(ex)
    _, mine = bid(ex, 1, 1, 10)
    first = ex.ok(cmd.ArmDeadMan(ex.ts, 1, 1_000))
    ex.tick(600)
    renewed = ex.ok(cmd.ArmDeadMan(ex.ts, 1, 1_000))
    assert renewed == first + 600
    assert ex.engine.next_deadline_ms() == renewed  # the old entry is gone from the top
    ex.ok(cmd.Timer(first))
    assert mine in ex.engine.orders and ex.engine.dead_men == {1: (renewed, 1_000)}
    ex.ok(cmd.Timer(renewed))
    assert mine not in ex.engine.orders


def test_a_disarmed_switch_never_fires(ex: Any) -> None:
    setup(ex)
    _, mine = bid(ex, 1, 1, 10)
    due = ex.ok(cmd.ArmDeadMan(ex.ts, 1, 1_000))
    ex.log.clear()
    assert ex.ok(cmd.ArmDeadMan(ex.ts, 1, 0)) == 0
    assert [e["account"] for e in ex.events(ev.DeadManDisarmed)] == [1]
    assert ex.ok(cmd.ArmDeadMan(ex.ts, 1, 0)) == 0  # disarming nothing says nothing
    assert len(ex.events(ev.DeadManDisarmed)) == 1
    assert ex.engine.next_deadline_ms() == 0
    ex.ok(cmd.Timer(due + 1))
    assert mine in ex.engine.orders
    assert ex.do(cmd.ArmDeadMan(ex.ts, 1, 3_600_001))[0] == codes.INVALID_RISK_CONTROL


def test_many_renewals_keep_the_heap_bounded(ex: Any) -> None:
    setup(ex)
    for _ in range(1_000):
        ex.tick(1)
        ex.ok(cmd.ArmDeadMan(ex.ts, 1, 60_000))
    assert len(ex.engine.dead_man_due) <= 2 * len(ex.engine.dead_men) + 65


def _scenario() -> list[cmd.Command]:
    """Groups triggered, reset and rolling; switches armed, renewed, disarmed and fired."""
    out: list[cmd.Command] = [cmd.CreateMarket(1, 1, maker_fee_ppm=0, taker_fee_ppm=0)]
    out += [cmd.Deposit(1, a, 1_000_000_000) for a in (1, 2, 3)]
    out += [cmd.CreateOrderGroup(2, 1, 5, 10_000), cmd.CreateOrderGroup(2, 3, 3, 60_000),
            cmd.PlaceOrder(3, 1, 1, 0, 0, 10, 300_000, group=1),
            cmd.PlaceOrder(3, 1, 1, 0, 0, 10, 290_000, group=1),
            cmd.PlaceOrder(3, 3, 1, 1, 0, 10, 600_000, group=2),  # an ask at 0.40
            cmd.ArmDeadMan(4, 2, 5_000), cmd.ArmDeadMan(4, 3, 50_000),
            cmd.PlaceOrder(5, 2, 1, 1, 0, 2, 700_000),  # 2 into group 1
            cmd.PlaceOrder(6, 2, 1, 0, 0, 1, 400_000),  # 1 from group 2's ask
            cmd.PlaceOrder(7, 2, 1, 0, 0, 1, 100_000),
            cmd.ArmDeadMan(3_000, 2, 5_000)]  # renewed: due at 8_000, not 5_004
    return out


def _scenario_rest() -> list[cmd.Command]:
    return [cmd.Timer(5_004), cmd.PlaceOrder(5_005, 2, 1, 1, 0, 3, 700_000),
            cmd.Timer(8_000), cmd.ResetOrderGroup(8_001, 1, 1),
            cmd.PlaceOrder(8_002, 1, 1, 0, 0, 4, 300_000, group=1),
            cmd.PlaceOrder(20_000, 2, 1, 1, 0, 4, 700_000),  # the old fills have rolled off
            cmd.ArmDeadMan(20_001, 3, 0)]


def test_replay_and_snapshot_give_the_same_state_hash(ex: Any) -> None:
    first, rest = _scenario(), _scenario_rest()
    live = Engine()
    hashes = []
    for c in first:
        assert live.apply(c)[0] == codes.OK, c
    mid = snapshot.dumps(live)
    for c in rest:
        assert live.apply(c)[0] == codes.OK, c
        assert not risk.problems(live)
        hashes.append(snapshot.state_hash(live))
    events = live.take_events()
    assert [type(e) for e in events if type(e) in (ev.GroupTriggered, ev.DeadManFired)] == [
        ev.GroupTriggered, ev.DeadManFired]
    assert live.groups[1].window_filled == 4 and not live.groups[1].triggered
    assert live.dead_men == {}
    replayed = Engine()
    for c in first + rest:
        replayed.apply(c)
    assert replayed.take_events() == events
    assert snapshot.state_hash(replayed) == hashes[-1]
    restored = snapshot.loads(mid)  # from the middle: the same commands after it, same state
    for c, want in zip(rest, hashes, strict=True):
        restored.apply(c)
        assert snapshot.state_hash(restored) == want
    again = snapshot.loads(snapshot.dumps(live))
    assert snapshot.state_hash(again) == hashes[-1] and again.grouped.keys() == live.grouped.keys()


def test_an_engine_without_risk_controls_keeps_its_snapshot_form(ex: Any) -> None:
    setup(ex)
    bid(ex, 1, 1, 10)
    assert "risk" not in snapshot.to_plain(ex.engine)
    group(ex)
    assert snapshot.to_plain(ex.engine)["risk"] == [2, [[1, 1, 5, 60_000, False, [], []]], []]


# -- property: the engine's groups and switches against an obvious model -----------------------


class _Model:
    """Groups and switches recomputed from the commands and events alone: every fill of a
    member order is kept and the window summed from scratch; a switch is (due, account)."""

    def __init__(self) -> None:
        self.limits: dict[int, tuple[int, int]] = {}  # group -> (limit, window_ms)
        self.fills: dict[int, list[tuple[int, int]]] = {}
        self.triggered: dict[int, bool] = {}
        self.member: dict[int, int] = {}  # order -> group
        self.due: dict[int, int] = {}

    def after(self, c: cmd.Command, code: str, value: Any, events: list[ev.Event],
              now_ms: int) -> None:
        if isinstance(c, cmd.Timer):
            for account, due in list(self.due.items()):
                if due <= now_ms:
                    del self.due[account]
        if code != codes.OK:
            return
        if isinstance(c, cmd.CreateOrderGroup):
            self.limits[value] = (c.contracts_limit, c.window_ms)
            self.fills[value], self.triggered[value] = [], False
        elif isinstance(c, cmd.ResetOrderGroup):
            self.fills[c.group], self.triggered[c.group] = [], False
        elif isinstance(c, cmd.ArmDeadMan):
            if c.timeout_ms:
                self.due[c.account] = value
            else:
                self.due.pop(c.account, None)
        elif isinstance(c, cmd.PlaceOrder) and c.group:
            self.member[value] = c.group
        for e in events:
            if not isinstance(e, ev.Fill):
                continue
            for order in (e.taker_order, e.maker_order):
                g = self.member.get(order)
                if g is None or self.triggered[g]:
                    continue
                self.fills[g].append((e.ts_ms, e.size))
                limit, window = self.limits[g]
                self.triggered[g] = sum(s for t, s in self.fills[g]
                                        if t > e.ts_ms - window) >= limit


@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_groups_and_switches_agree_with_a_model_and_replay(data: st.DataObject) -> None:
    e, model = Engine(), _Model()
    log: list[cmd.Command] = []
    fired_any: list[int] = []

    def run(c: cmd.Command) -> None:
        note(repr(c))
        log.append(c)
        code, value = e.apply(c)
        fired = [a for a, due in model.due.items() if isinstance(c, cmd.Timer) and due <= e.now_ms]
        model.after(c, code, value, e.take_events(), e.now_ms)
        for a in fired:  # a fired switch left no resting order of its account
            assert not e.accounts[a].orders
        fired_any.extend(fired)
        assert not risk.problems(e)
        assert {g: x.triggered for g, x in e.groups.items()} == model.triggered
        for g in e.groups.values():
            if g.triggered:
                assert not g.orders, f"group {g.id} triggered with live orders"
        assert {a: due for a, (due, _) in e.dead_men.items()} == model.due
        report = audit(e)
        assert report.ok, report.violations

    ts = 1
    run(cmd.CreateMarket(ts, 1, maker_fee_ppm=0, taker_fee_ppm=0))
    for a in (1, 2, 3):
        run(cmd.Deposit(ts, a, 10_000 * MICRO))
    for a in (1, 1, 2):
        run(cmd.CreateOrderGroup(ts, a, data.draw(st.integers(1, 8)),
                                 data.draw(st.integers(1, 300))))
    for _ in range(data.draw(st.integers(20, 60))):
        ts += data.draw(st.integers(0, 15))
        a = data.draw(st.sampled_from((1, 2, 3)))
        kind = data.draw(st.sampled_from(("order",) * 6 + ("cancel", "reset", "arm", "timer")))
        if kind == "order":
            outcome = data.draw(st.sampled_from((YES, NO)))
            price = data.draw(st.integers(40, 60)) * 10_000
            group_id = data.draw(st.sampled_from((0, 0, 1, 2, 3)))
            run(cmd.PlaceOrder(ts, a, 1, outcome, BUY, data.draw(st.integers(1, 6)), price,
                               group=group_id))
        elif kind == "cancel" and e.orders:
            o = e.orders[data.draw(st.sampled_from(sorted(e.orders)))]
            run(cmd.CancelOrder(ts, o.account.id, o.id))
        elif kind == "reset":
            run(cmd.ResetOrderGroup(ts, a, data.draw(st.integers(1, 3))))
        elif kind == "arm":
            run(cmd.ArmDeadMan(ts, a, data.draw(st.sampled_from((0, 5, 20, 50)))))
        else:
            run(cmd.Timer(ts))
    event(f"groups triggered: {sum(g.triggered for g in e.groups.values())}")
    event(f"switch fired: {bool(fired_any)}")
    replayed = Engine()
    for c in log:
        replayed.apply(c)
    assert snapshot.state_hash(replayed) == snapshot.state_hash(e)
    restored = snapshot.loads(snapshot.dumps(e))
    assert snapshot.state_hash(restored) == snapshot.state_hash(e)
    assert restored.grouped.keys() == e.grouped.keys()
