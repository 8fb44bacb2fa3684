"""The dry-run quote on a real server agrees with the order it describes (issue 11, item 13)."""

from __future__ import annotations

from typing import Any

from foretell.client import to_micro


def _money(trader: Any) -> tuple[int, int]:
    b = trader.api.balance()
    return to_micro(b["free"]), to_micro(b["reserved"])


def test_quote_of_a_market_buy_agrees_with_the_order_under_the_default_protection(
        ex: Any, pool: Any) -> None:
    """Asks of 10 YES at 0.50 and 10 at 0.70; a market buy of 20 YES without a price stops at
    best + 0.10 = 0.60. The quote said 20 filled (max cost 19.82) while the order filled 10."""
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]
    a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.50", size=10)
    a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.30", size=10)
    order = {"contract_id": c, "outcome": "yes", "side": "buy", "type": "market", "size": 20}
    book, balance = b.api.book(c), _money(b)
    q = b.api.quote(**order)  # POST /api/v1/orders/quote
    assert b.api.book(c) == book and _money(b) == balance
    assert q["fills"] == [{"price": "0.50", "size": 10}]
    assert (q["filled"], q["unfilled"], q["avg_price"]) == (10, 10, "0.50")
    assert (q["notional"], q["fee"], q["cost_now"]) == ("5.000000", "0.005000", "5.005000")
    assert q["max_cost"] == "12.012000"  # 20 at the 0.60 protection, fee at the top rate
    assert (q["status"], q["reason"]) == ("partially_filled", "ioc_remainder")

    placed = b.api.place_order(**order)
    assert [(f["price"], f["size"]) for f in placed["fills"]] == [
        (f["price"], f["size"]) for f in q["fills"]]
    assert (placed["filled"], placed["avg_price"], placed["fees"]) == (
        q["filled"], q["avg_price"], q["fee"])
    assert (placed["status"], placed["reason"]) == ("cancelled", q["reason"])
    assert _money(b)[0] == balance[0] - to_micro(q["cost_now"])
    # Now the best ask is 0.70, and the band of the next market buy moves with it (0.80).
    again = b.api.quote(**order)
    assert (again["fills"], again["max_cost"]) == ([{"price": "0.70", "size": 10}], "16.016000")
