"""Order types, flags, amend, cancel, idempotency and refusals."""

from __future__ import annotations

import pytest

from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.orders import (
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    FOK,
    GTD,
    IOC,
    LIMIT,
    STP_CANCEL_BOTH,
    STP_CANCEL_MAKER,
    STP_CANCEL_TAKER,
    YES,
)
from foretell.domain.units import MICRO

M = MICRO


@pytest.fixture
def book(ex):
    """Market 1 (no fees) with asks 5 @ 0.55 (acct 1) and 5 @ 0.60 (acct 2), bid 5 @ 0.45 (3)."""
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2, 3, 4, 5)
    ex.limit(1, "buy_no", 5, 45)
    ex.limit(2, "buy_no", 5, 40)
    ex.limit(3, "buy_yes", 5, 45)
    return ex


def test_gtc_rests_and_is_seen_in_the_book(book):
    c = book.engine.contracts[1]
    assert (c.best_bid * c.tick, c.best_ask * c.tick) == (450_000, 550_000)


def test_ioc_fills_what_it_can_and_cancels_the_rest(book):
    code, order_id = book.limit(4, "buy_yes", 8, 57, tif=IOC)
    assert code == "ok"
    done = book.events(ev.OrderDone)[-1]
    assert (done["order"], done["reason"], done["filled"], done["remaining"]) == (
        order_id, "ioc_remainder", 5, 3)
    assert book.cash(4) == (1_000 * M - 5 * 550_000, 0)
    assert order_id not in book.engine.orders


def test_fok_all_or_nothing(book):
    before = book.hash()
    assert book.limit(4, "buy_yes", 11, 60, tif=FOK)[0] == "fok_not_filled"
    assert book.hash() == before
    assert book.limit(4, "buy_yes", 10, 60, tif=FOK)[0] == "ok"
    assert sum(f["size"] for f in book.fills()) == 10


def test_gtd_expires_on_the_timer(book):
    code, order_id = book.limit(4, "buy_yes", 1, 30, tif=GTD, expire_ms=book.ts + 500)
    assert code == "ok" and order_id in book.engine.orders
    assert book.engine.next_deadline_ms() == book.ts + 500
    book.ok(cmd.Timer(book.ts + 499))
    assert order_id in book.engine.orders
    book.ok(cmd.Timer(book.ts + 500))
    assert order_id not in book.engine.orders
    assert book.events(ev.OrderDone)[-1]["reason"] == "expired"
    assert book.cash(4) == (1_000 * M, 0)


def test_gtd_in_the_past_is_refused(book):
    assert book.limit(4, "buy_yes", 1, 30, tif=GTD, expire_ms=book.ts)[0] == "invalid_expiry"


def test_post_only_refused_when_it_would_take(book):
    before = book.hash()
    assert book.limit(4, "buy_yes", 1, 55, flags=FLAG_POST_ONLY)[0] == "post_only_would_take"
    assert book.hash() == before
    assert book.limit(4, "buy_yes", 1, 54, flags=FLAG_POST_ONLY)[0] == "ok"


def test_market_by_size_stops_at_its_protection(book):
    code, _ = book.take(4, "buy_yes", 8, protect_cents=57)
    assert code == "ok"
    assert sum(f["size"] for f in book.fills()) == 5
    assert book.events(ev.OrderDone)[-1]["reason"] == "ioc_remainder"


def test_market_default_protection_is_a_band_around_the_best_price(book):
    code, _ = book.take(4, "buy_yes", 10)
    assert code == "ok"
    assert [f["yes_price_micro"] for f in book.fills()] == [550_000, 600_000]


def test_market_by_spend_buys_what_the_money_allows(book):
    code, _ = book.take(4, "buy_yes", spend_micro=4 * M)
    assert code == "ok"
    # 5 @ 0.55 = 2.75, then 2 @ 0.60 = 1.20 (a third would exceed 4 USDC).
    assert [(f["yes_price_micro"], f["size"]) for f in book.fills()] == [(550_000, 5), (600_000, 2)]
    assert book.cash(4) == (1_000 * M - 3_950_000, 0)


def test_market_order_into_an_empty_side_is_refused(ex):
    ex.market(1)
    ex.fund(1)
    assert ex.take(1, "buy_yes", 5)[0] == "no_liquidity"


def test_sell_without_shares_is_refused(book):
    assert book.limit(4, "sell_yes", 1, 50)[0] == "insufficient_shares"


def test_reduce_only_never_grows_a_position(book):
    assert book.limit(4, "sell_yes", 1, 50, flags=FLAG_REDUCE_ONLY)[0] == "no_position"
    book.limit(4, "buy_yes", 5, 55)  # 4 holds 5 YES
    # A reduce-only buy of NO becomes a sell of YES at the same book price, capped at 5.
    code, order_id = book.limit(4, "buy_no", 9, 50, flags=FLAG_REDUCE_ONLY)
    assert code == "ok"
    order = book.engine.orders[order_id]
    assert (order.outcome, order.action, order.remaining) == (YES, 1, 5)
    assert book.pos(4) == [5, 0, 5, 0]


@pytest.mark.parametrize("stp, own_ask_left, filled, reason", [
    (STP_CANCEL_MAKER, False, 5, "filled"),
    (STP_CANCEL_TAKER, True, 0, "self_trade"),
    (STP_CANCEL_BOTH, False, 0, "self_trade"),
])
def test_self_trade_prevention(ex, stp, own_ask_left, filled, reason):
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(5, 6)
    own = ex.limit(5, "buy_no", 5, 35)[1]  # ask YES 0.65
    ex.limit(6, "buy_no", 5, 30)  # ask YES 0.70
    code, taker = ex.limit(5, "buy_yes", 5, 70, stp=stp)
    assert code == "ok"
    assert (own in ex.engine.orders) is own_ask_left
    assert sum(f["size"] for f in ex.fills()) == filled
    assert all(f["maker_account"] != f["taker_account"] for f in ex.fills())
    assert [e["reason"] for e in ex.events(ev.OrderDone) if e["order"] == taker] == [reason]


def test_amend_size_down_keeps_priority_other_amends_lose_it(ex):
    ex.market(1, maker_fee_ppm=0, taker_fee_ppm=0)
    ex.fund(1, 2, 3)
    first = ex.limit(1, "buy_yes", 10, 50)[1]
    second = ex.limit(2, "buy_yes", 10, 50)[1]
    ex.ok(cmd.AmendOrder(ex.ts, 1, first, 0, 4))
    assert ex.events(ev.OrderAmended)[-1]["kept_priority"] is True
    assert ex.cash(1) == (1_000 * M - 2 * M, 2 * M)
    ex.limit(3, "buy_no", 2, 50)
    assert ex.fills()[-1]["maker_order"] == first
    ex.ok(cmd.AmendOrder(ex.ts, 1, first, 0, 6))  # size up: back of the queue
    assert ex.events(ev.OrderAmended)[-1]["kept_priority"] is False
    ex.limit(3, "buy_no", 1, 50)
    assert ex.fills()[-1]["maker_order"] == second


def test_amend_price_can_trade_on_arrival(book):
    order_id = book.limit(4, "buy_yes", 3, 50)[1]
    book.ok(cmd.AmendOrder(book.ts, 4, order_id, 550_000, 0))
    assert book.fills()[-1]["taker_order"] == order_id
    assert order_id not in book.engine.orders


def test_amend_and_cancel_refuse_foreign_or_unknown_orders(book):
    before = book.hash()
    assert book.do(cmd.CancelOrder(book.ts, 4, 1))[0] == "not_owner"
    assert book.do(cmd.CancelOrder(book.ts, 4, 999))[0] == "unknown_order"
    assert book.do(cmd.AmendOrder(book.ts, 4, 1, 0, 1))[0] == "not_owner"
    assert book.hash() == before


def test_cancel_all_by_market(ex):
    ex.market(1)
    ex.market(2)
    ex.fund(1)
    ex.limit(1, "buy_yes", 1, 10, contract=1)
    ex.limit(1, "buy_yes", 1, 10, contract=2)
    assert ex.ok(cmd.CancelAll(ex.ts, 1, 1)) == 1
    assert [o.contract.id for o in ex.engine.orders.values()] == [2]
    assert ex.ok(cmd.CancelAll(ex.ts, 1)) == 1
    assert ex.cash(1) == (1_000 * M, 0)


def test_client_order_id_is_an_idempotency_key(book):
    code, first = book.limit(4, "buy_yes", 1, 30, client_id="abc")
    assert code == "ok"
    before = book.hash()
    assert book.limit(4, "buy_yes", 1, 30, client_id="abc") == ("duplicate_client_order_id", first)
    assert book.hash() == before
    book.ok(cmd.CancelOrder(book.ts, 4, first))
    assert book.limit(4, "buy_yes", 1, 30, client_id="abc")[0] == "duplicate_client_order_id"
    assert book.limit(5, "buy_yes", 1, 30, client_id="abc")[0] == "ok"  # per account


@pytest.mark.parametrize("kwargs, code", [
    ({"cents": 0}, "invalid_price"),
    ({"cents": 100}, "invalid_price"),
    ({"cents": 50.5}, "invalid_tick"),
    ({"size": 0}, "size_out_of_range"),
    ({"size": 1_000_001}, "size_out_of_range"),
    ({"tif": 9}, "invalid_order"),
    ({"client_id": "x" * 65}, "client_id_too_long"),
    ({"tif": IOC, "flags": FLAG_POST_ONLY}, "invalid_order"),
])
def test_refusals_change_nothing(book, kwargs, code):
    before = book.hash()
    args = {"size": 1, "cents": 50} | kwargs
    assert book.limit(4, "buy_yes", args.pop("size"), args.pop("cents"), **args)[0] == code
    assert book.hash() == before


def test_unknown_account_contract_and_closed_market_are_refused(book):
    assert book.do(cmd.PlaceOrder(book.ts, 99, 1, 0, 0, 1, 500_000))[0] == "unknown_account"
    assert book.do(cmd.PlaceOrder(book.ts, 4, 99, 0, 0, 1, 500_000))[0] == "unknown_contract"
    book.ok(cmd.SetMarketStatus(book.ts, 1, 2, "news pending"))
    assert book.limit(4, "buy_yes", 1, 50)[0] == "market_not_open"
    assert book.engine.orders == {}  # halting cancelled every resting order
    assert book.events(ev.OrderDone)[-1]["reason"] == "market_halted"


def test_order_type_limit_constant_is_zero():
    assert LIMIT == 0
