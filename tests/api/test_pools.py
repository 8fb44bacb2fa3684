"""Liquidity pools through the API (issue 16): a market with a subsidy and no other liquidity
trades both ways; the book shows the pool's depth, the quote its fills; conversion via the SDK."""

from __future__ import annotations

from typing import Any

import httpx
from tests.api.conftest import wait_until

from foretell.client import ForetellError, to_micro


def _supervisor_funded(ex: Any, usdc: str) -> int:
    sup = int(ex.admin.balance()["account_id"])
    ex.admin.admin_credit(sup, usdc, "pool subsidy for a test")
    return sup


def test_a_market_with_only_a_pool_trades_both_ways(ex: Any, pool: Any) -> None:
    _supervisor_funded(ex, "500")
    market = ex.market(subsidy="200")
    c = market["contract_ids"][0]
    trader = pool[0]
    state = trader.api.pool(market["id"])
    assert state["pool"] and state["subsidy"] == "200.000000"
    assert state["contracts"][0]["price"] == "0.50"
    book = trader.api.book(c)
    assert book["bids"] == [] and book["asks"] == []  # no resting orders at all
    assert book["pool"]["asks"][0][0] == "0.51" and book["pool"]["bids"][0][0] == "0.49"

    order = {"contract_id": c, "outcome": "yes", "side": "buy", "type": "market", "size": 15}
    q = trader.api.quote(**order)
    assert q["filled"] == 15 and q["fills"][0]["price"] == "0.51"
    bought = trader.api.place_order(**order)
    assert bought["filled"] == 15 and bought["avg_price"] == q["avg_price"]
    assert trader.api.pool(market["id"])["contracts"][0]["price"] > "0.50"

    sold = trader.api.place_order(contract_id=c, outcome="yes", side="sell", type="market",
                                  size=15)
    assert sold["filled"] == 15
    # NO too: buy NO from the pool, then sell it back.
    no = trader.api.place_order(contract_id=c, outcome="no", side="buy", price="0.60", size=5,
                                tif="ioc")
    assert no["filled"] == 5
    back = trader.api.place_order(contract_id=c, outcome="no", side="sell", type="market", size=5)
    assert back["filled"] == 5
    after = trader.api.pool(market["id"])
    assert to_micro(after["fees_earned"]) > 0
    assert to_micro(after["pnl_worst"]) > 0  # round trips leave the spread with the pool
    ex.audit()
    # The pool is a maker with no order (order 0): the projector has no order row to update
    # and must not report one missing (it logged a warning for every pool fill).
    health = ex.server.base_url + "/api/v1/health"
    wait_until(lambda: httpx.get(health).json()["projector_lag"] == 0, timeout_s=30)
    assert "is not stored" not in ex.server.log()


def test_conversion_through_the_sdk(ex: Any, pool: Any) -> None:
    _supervisor_funded(ex, "500")
    market = ex.market(outcomes=["A", "B", "C"], subsidy="150", void_yes="0.333333")
    ids = market["contract_ids"]
    trader = pool[1]
    implied = trader.api.implied(market["id"])
    assert to_micro(implied["ask_sum"]) <= 1_030_000
    trader.api.place_order(contract_id=ids[0], outcome="no", side="buy", type="market", size=6)
    done = trader.api.convert(market["id"], 0, 6)
    assert done["size"] == 6
    held = {p["contract_id"]: p for p in trader.api.positions()["positions"]
            if p["contract_id"] in ids}
    assert held[ids[1]]["yes_shares"] == 6 and held[ids[2]]["yes_shares"] == 6
    back = trader.api.convert(market["id"], 0, 2, direction="yes_to_no")
    assert back["direction"] == "yes_to_no"
    try:
        trader.api.convert(market["id"], 0, 100)
    except ForetellError as exc:
        assert exc.code == "insufficient_shares"
    else:
        raise AssertionError("converting shares not held must be refused")
    ex.audit()
