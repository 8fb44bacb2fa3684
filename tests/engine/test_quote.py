"""The dry-run quote and fill-or-kill by spend (issue 11, items 12 and 13).

Item 12: a fill-or-kill market buy by spend was judged fillable by walking empty price levels, so
the answer depended on the protection price, not on the book. Item 13: the quote ignored the
default protection band of a market order without a price. Both are pinned here by the examples of
the report; test_quote_properties.py checks quote == placement on random books and orders.
"""

from __future__ import annotations

from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.orders import BUY, FOK, MARKET, YES
from foretell.engine.quote import quote

TS = 1_000


def _fok_spend(ex, account: int, spend_micro: int, protect_micro: int = 0) -> tuple[str, object]:
    return ex.do(cmd.PlaceOrder(TS, account, 1, YES, BUY, 0, protect_micro, MARKET, FOK,
                                spend_micro=spend_micro))


def test_fok_by_spend_is_killed_when_a_thin_book_runs_out_whatever_the_protection(ex):
    """One ask of 2 YES at 0.01: 0.2746 buys those 2 (0.02) and 0.2546 is left with nothing more
    offered. It was accepted with protection 0.80 (the walk over empty levels stopped at 0.26,
    whose price the rest cannot pay) and part-filled; with 0.20 it was killed."""
    ex.market(1)
    ex.fund(1, 2)
    ex.limit(1, "buy_no", 2, 99)  # an ask of 2 YES at 0.01
    before = ex.hash()
    for protect_micro in (800_000, 200_000):
        assert _fok_spend(ex, 2, 274_600, protect_micro)[0] == codes.FOK_NOT_FILLED, protect_micro
        assert ex.hash() == before
    assert ex.fills() == []
    # What the book can absorb: 0.02 for the 2 shares, and less than 0.01 left is spent in full.
    code, order_id = _fok_spend(ex, 2, 29_999, 800_000)
    assert code == codes.OK
    assert [(f["yes_price_micro"], f["size"]) for f in ex.fills()] == [(10_000, 2)]


def test_fok_by_spend_with_the_default_protection_is_killed_when_spend_is_left(ex):
    """8 YES at 0.50 and 1 at 0.52, nothing else within the band (0.60): 5.07 buys all 9 for
    4.52 and 0.55 is left, which one more share at 0.52 would have used. It was accepted because
    0.55 cannot pay the empty level 0.56; it must be killed."""
    ex.market(1)
    ex.fund(1, 2)
    ex.limit(1, "buy_no", 8, 50)
    ex.limit(1, "buy_no", 1, 48)
    before = ex.hash()
    assert _fok_spend(ex, 2, 5_070_000)[0] == codes.FOK_NOT_FILLED
    assert ex.hash() == before and ex.fills() == []
    # 4.70 leaves 0.18 after the same 9 shares: less than the last price paid, so in full.
    assert _fok_spend(ex, 2, 4_700_000)[0] == codes.OK
    assert sum(f["size"] for f in ex.fills()) == 9


def test_quote_of_a_market_buy_stops_at_the_default_protection_like_the_order(ex):
    """Asks of 10 at 0.50 and 10 at 0.70: a market buy of 20 YES without a price is protected at
    best + 0.10 = 0.60, so it fills 10. The quote said 20 filled and a max cost of 19.82."""
    ex.market(1)
    ex.fund(1, 2)
    ex.limit(1, "buy_no", 10, 50)
    ex.limit(1, "buy_no", 10, 30)
    order = cmd.PlaceOrder(TS, 2, 1, YES, BUY, 20, 0, MARKET)
    before = ex.hash()
    q = quote(ex.engine, order)
    assert ex.hash() == before and ex.engine.take_events() == []
    assert q["fills"] == [{"price": "0.50", "size": 10}]
    assert (q["filled"], q["unfilled"], q["avg_price"]) == (10, 10, "0.50")
    assert (q["notional"], q["fee"]) == ("5.000000", "0.005000")
    assert q["max_cost"] == "12.012000"  # 20 at the 0.60 protection, fee at the top rate
    assert (q["status"], q["reason"]) == ("partially_filled", "ioc_remainder")
    code, order_id = ex.do(order)
    assert code == codes.OK
    assert [(f["yes_price_micro"], f["size"], f["taker_fee_micro"]) for f in ex.fills()] == [
        (500_000, 10, 5_000)]
    done = ex.events(ev.OrderDone)[-1]
    assert (done["order"], done["reason"], done["filled"]) == (order_id, "ioc_remainder", 10)
