"""Property: the dry-run quote of an order is exactly what placing that order at once does.

Random books on one contract (several accounts on both sides, so the taker often meets its own
orders), then random orders: limit and market, by size and by spend, GTC/GTD/IOC/FOK, market
orders with and without a protection price, post-only, reduce-only, every self-trade mode, from
rich, poor and unknown accounts. Each is quoted, then placed on the same state; the quote must
leave the engine untouched and agree with the placement on the refusal code, every fill (price,
size, taker fee, maker), the self-trade cancels and how the order ends.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.codes import Reject
from foretell.domain.orders import (
    BUY,
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    FOK,
    GTC,
    GTD,
    IOC,
    LIMIT,
    MARKET,
    NO,
    SELL,
    YES,
)
from foretell.domain.units import MICRO
from foretell.engine.engine import Engine
from foretell.engine.quote import Quote, dry_run
from foretell.engine.snapshot import state_hash

ACCOUNTS = (1, 2, 3, 4)
UNKNOWN = 9


def _ok(e: Engine, command: cmd.Command) -> None:
    code, value = e.apply(command)
    assert code == codes.OK, (command, code, value)


def _book(data: st.DataObject) -> Engine:
    e = Engine()
    tick = data.draw(st.sampled_from((10_000, 10_000, 1_000)), label="tick")
    fees = st.sampled_from((0, 1, 999, 1_000, 20_000))
    _ok(e, cmd.CreateMarket(1, 1, 2, tick, size_max=data.draw(st.sampled_from((1_000_000, 60))),
                            maker_fee_ppm=data.draw(fees), taker_fee_ppm=data.draw(fees)))
    for a in ACCOUNTS:
        usdc = data.draw(st.sampled_from((1_000, 1_000, 30, 2)), label=f"usdc {a}")
        _ok(e, cmd.Deposit(1, a, usdc * MICRO))
    # Holders on both sides: 1 and 3 hold YES, 2 and 4 hold NO.
    _ok(e, cmd.Deposit(1, 5, 100 * MICRO))
    for yes_buyer, no_buyer in ((1, 2), (3, 4)):
        e.apply(cmd.PlaceOrder(1, yes_buyer, 1, YES, BUY, 15, MICRO // 2))
        e.apply(cmd.PlaceOrder(1, no_buyer, 1, NO, BUY, 15, MICRO // 2))
    mid = e.contracts[1].levels // 2
    for _ in range(data.draw(st.integers(0, 20), label="resting")):
        a = data.draw(st.sampled_from(ACCOUNTS))
        outcome, action = data.draw(st.sampled_from(((YES, BUY), (NO, BUY), (YES, SELL),
                                                     (NO, SELL))))
        yes_i = mid + data.draw(st.integers(1, 12)) * (1 if (outcome == action) == 0 else -1)
        if data.draw(st.booleans()):
            yes_i += data.draw(st.integers(-2, 2))  # now and then a crossing one trades
        yes_price = yes_i * tick
        price = yes_price if outcome == YES else MICRO - yes_price
        e.apply(cmd.PlaceOrder(1, a, 1, outcome, action, data.draw(st.integers(1, 8)), price))
    e.take_events()
    return e


def _order(data: st.DataObject, e: Engine) -> cmd.PlaceOrder:
    c = e.contracts[1]
    a = data.draw(st.sampled_from(ACCOUNTS + ACCOUNTS + (UNKNOWN,)), label="account")
    outcome = data.draw(st.sampled_from((YES, NO)))
    action = data.draw(st.sampled_from((BUY, BUY, SELL)))
    side_bid = outcome == action
    opposite = c.best_ask if side_bid else c.best_bid
    if 0 < opposite < c.levels:
        yes_i = opposite + data.draw(st.integers(-3, 12)) * (1 if side_bid else -1)
    else:
        yes_i = c.levels // 2 + data.draw(st.integers(-10, 10))
    yes_i = min(c.levels - 1, max(1, yes_i))
    price = yes_i * c.tick if outcome == YES else MICRO - yes_i * c.tick
    stp = data.draw(st.integers(0, 2), label="stp")
    kind = data.draw(st.sampled_from(("limit", "limit", "market", "market", "spend")))
    if kind == "spend":
        spend = data.draw(st.integers(0, 1_500), label="spend cents") * 10_000 + data.draw(
            st.sampled_from((0, 0, 1, 4_600, 9_999)), label="spend micro")
        protect = data.draw(st.sampled_from((0, 0, price)), label="protection")
        tif = data.draw(st.sampled_from((IOC, FOK)))
        return cmd.PlaceOrder(5, a, 1, outcome, BUY, 0, protect, MARKET, tif, stp=stp,
                              spend_micro=spend)
    size = data.draw(st.sampled_from((0, 61) + tuple(range(1, 41))), label="size")
    flags = data.draw(st.sampled_from((0, 0, 0, FLAG_POST_ONLY, FLAG_REDUCE_ONLY)))
    if kind == "market":
        if flags & FLAG_POST_ONLY:
            flags = 0
        protect = data.draw(st.sampled_from((0, 0, price)), label="protection")
        tif = data.draw(st.sampled_from((IOC, FOK, GTC)))
        return cmd.PlaceOrder(5, a, 1, outcome, action, size, protect, MARKET, tif, flags=flags,
                              stp=stp)
    tif = data.draw(st.sampled_from((GTC, GTC, GTD, IOC, FOK)))
    if flags & FLAG_POST_ONLY and tif in (IOC, FOK):
        tif = GTC
    return cmd.PlaceOrder(5, a, 1, outcome, action, size, price, LIMIT, tif,
                          expire_ms=100 if tif == GTD else 0, flags=flags, stp=stp)


def _fills(events: list[ev.Event], order_id: int) -> list[tuple[int, int, int, int]]:
    out = []
    for f in events:
        if isinstance(f, ev.Fill):
            assert f.taker_order == order_id, "only the new order takes"
            out.append((f.yes_price_micro, f.size, f.taker_fee_micro, f.maker_order))
    return out


def _check(e: Engine, order: cmd.PlaceOrder) -> Quote | None:
    """Quote `order`, place it, and compare; returns the quote (None if it raised)."""
    before, next_id = state_hash(e), e.next_id
    try:
        q: Quote | None = dry_run(e, order)
        raised = ""
    except Reject as refused:
        q, raised = None, refused.code
    assert state_hash(e) == before and e.next_id == next_id, "the quote changed the engine"
    assert e.events == [], "the quote wrote events"
    note(f"quote: {q!r} {raised}")
    code, order_id = e.apply(order)
    events = e.take_events()
    if q is None:
        assert code == raised or code == codes.UNKNOWN_ACCOUNT, (code, raised)
        return None
    if q.status in ("refused", "killed"):
        assert (code, q.status == "killed") == (q.reason, code == codes.FOK_NOT_FILLED)
        assert [type(x) for x in events] == [ev.OrderRejected]
        return q
    assert code == codes.OK, (code, order_id)
    accepted = ev.as_dict(events[0])
    assert (accepted["order"], accepted["outcome"], accepted["action"], accepted["size"]) == (
        order_id, q.outcome, q.action, q.size)
    want = [(f.yes_price_micro, f.size, f.taker_fee_micro, f.maker_order) for f in q.fills]
    assert _fills(events, order_id) == want
    done = {x.order: x.reason for x in events if isinstance(x, ev.OrderDone)}
    assert done.pop(order_id, "") == q.reason, "the order ends otherwise"
    assert sorted(k for k, why in done.items() if why == "self_trade") == sorted(
        q.self_trade_cancels)
    if q.status == "resting":
        assert order_id in e.orders
    if q.status == "filled" and order.spend_micro == 0:
        assert q.reason == "filled" and q.filled == q.size
    return q


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_quote_equals_the_order_placed_at_once(data: st.DataObject) -> None:
    e = _book(data)
    seen: set[str] = set()
    for _ in range(data.draw(st.integers(1, 12), label="orders")):
        order = _order(data, e)
        note(repr(order))
        q = _check(e, order)
        seen.add(q.status if q is not None else "raised")
    assert seen
