"""Risk controls through the SDK: trigger orders (take-profit / stop-loss / trailing), order
groups with a contract cap, and the dead-man's switch."""

from __future__ import annotations

import time
from typing import Any

import pytest

from foretell.client import MICRO, ForetellError, format_price, to_micro


def refused(call: Any, status: int, code: str) -> None:
    with pytest.raises(ForetellError) as info:
        call()
    assert (info.value.status, info.value.code) == (status, code), info.value


def yes_shares(trader: Any, contract_id: int) -> int:
    rows = [p for p in trader.api.positions()["positions"] if p["contract_id"] == contract_id]
    return int(rows[0]["yes_shares"]) if rows else 0


def long_yes(ex: Any, until: Any, buyer: Any, seller: Any, size: int,
             price: str = "0.40") -> int:
    """A fresh market where `buyer` holds `size` YES (minted against `seller`'s NO)."""
    c = ex.market()["contract_ids"][0]
    buyer.api.place_order(contract_id=c, outcome="yes", side="buy", price=price, size=size)
    no_price = format_price(MICRO - to_micro(price))
    seller.api.place_order(contract_id=c, outcome="no", side="buy", price=no_price, size=size)
    # the buyer's read models follow the seller's command eventually
    until(lambda: yes_shares(buyer, c) == size)
    return int(c)


def test_take_profit_fires_when_the_price_moves_and_cancels_its_stop(ex: Any, pool: Any,
                                                                     until: Any) -> None:
    a, b, c_, d = pool[0], pool[1], pool[2], pool[3]
    c = long_yes(ex, until, a, b, 10)
    placed = a.api.place_trigger(contract_id=c, outcome="yes", size=10, take_profit="0.60",
                                 stop_loss="0.20")["triggers"]
    tp, sl = placed
    assert (tp["kind"], tp["trigger_price"], sl["kind"], sl["trigger_price"]) == (
        "take_profit", "0.60", "stop_loss", "0.20")
    assert tp["oco_with"] == sl["id"] and sl["oco_with"] == tp["id"]
    assert {t["id"] for t in a.api.triggers()["triggers"]} >= {tp["id"], sl["id"]}
    cash_before = to_micro(a.api.balance()["free"])

    c_.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.60", size=20)
    c_.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.50", size=1)
    assert yes_shares(a, c) == 10  # nothing has traded at 0.60 yet
    d.api.place_order(contract_id=c, outcome="no", side="buy", price="0.40", size=1)  # trade .60

    live = {t["id"] for t in a.api.triggers()["triggers"]}
    assert tp["id"] not in live and sl["id"] not in live  # fired, and its pair cancelled
    until(lambda: yes_shares(a, c) == 0)
    fills = until(lambda: [f for f in a.api.fills()["fills"] if f["contract_id"] == c
                           and f["price"] == "0.60"])
    assert sum(f["size"] for f in fills) == 10
    gained = to_micro(a.api.balance()["free"]) - cash_before
    assert gained == 10 * 600_000 - 6_000  # 10 sold at 0.60 less the 0.1 % taker fee
    assert a.api.book(c)["bids"] == [["0.60", 9], ["0.50", 1]]


def test_trigger_rules_and_cancel(ex: Any, pool: Any, until: Any) -> None:
    a, b, c_ = pool[0], pool[1], pool[2]
    c = long_yes(ex, until, a, b, 5)
    refused(lambda: c_.api.place_trigger(contract_id=c, outcome="yes", size=1,
                                         stop_loss="0.20"), 409, "no_position")
    refused(lambda: a.api.place_trigger(contract_id=c, outcome="yes", size=5, take_profit="0.30",
                                        stop_loss="0.35"), 400, "invalid_price")
    refused(lambda: a.api.place_trigger(contract_id=c, outcome="yes", size=5,
                                        stop_loss="0.205"), 400, "invalid_tick")
    refused(lambda: a.api.place_trigger(contract_id=c, outcome="yes", size=5), 400,
            "invalid_order")
    trail = a.api.place_trigger(contract_id=c, outcome="yes", size=5, trail="0.05")["triggers"]
    assert trail[0]["kind"] == "trailing_stop" and trail[0]["trail"] == "0.050000"
    stop = a.api.place_trigger(contract_id=c, outcome="yes", size=5, stop_loss="0.10",
                               limit_price="0.09")["triggers"][0]
    assert stop["limit_price"] == "0.09" and stop["oco_with"] is None
    refused(lambda: b.api.cancel_trigger(stop["id"]), 404, "unknown_trigger")
    assert a.api.cancel_trigger(stop["id"]) == {"id": stop["id"], "status": "cancelled"}
    assert a.api.cancel_trigger(trail[0]["id"])["status"] == "cancelled"
    refused(lambda: a.api.cancel_trigger(stop["id"]), 404, "unknown_trigger")
    assert not [t for t in a.api.triggers()["triggers"] if t["contract_id"] == c]


def test_order_group_cap_cancels_the_group(ex: Any, pool: Any, until: Any) -> None:
    a, b = pool[0], pool[1]
    m = ex.market()
    c = m["contract_ids"][0]
    group = a.api.create_order_group(contracts_limit=5, window_s=60)
    g = group["id"]
    assert group == {"id": g, "contracts_limit": 5, "window_s": 60, "open_orders": [],
                     "triggered": False}
    first = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.30", size=10,
                              order_group_id=g)
    second = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.29", size=10,
                               order_group_id=g)
    outside = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.28", size=1)
    assert a.api.order_group(g)["open_orders"] == sorted([first["id"], second["id"]])

    b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.70", size=5)  # cap hit
    view = until(lambda: (v := a.api.order_group(g))["triggered"] and not v["open_orders"] and v)
    assert view["triggered"] is True
    assert until(lambda: a.api.order(first["id"])["status"] == "cancelled")
    assert until(lambda: a.api.order(second["id"])["status"] == "cancelled")
    assert a.api.order(outside["id"])["status"] == "open"  # not in the group
    assert a.api.book(c)["bids"] == [["0.28", 1]]
    refused(lambda: a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.30",
                                      size=1, order_group_id=g), 409, "order_group_triggered")

    reset = a.api.reset_order_group(g)
    assert reset["triggered"] is False
    again = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.30", size=1,
                              order_group_id=g)
    assert a.api.order_group(g)["open_orders"] == [again["id"]]
    refused(lambda: b.api.order_group(g), 404, "unknown_order_group")
    refused(lambda: b.api.reset_order_group(g), 404, "unknown_order_group")
    refused(lambda: b.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.30",
                                      size=1, order_group_id=g), 404, "unknown_order_group")
    refused(lambda: a.api.order_group(999_999), 404, "unknown_order_group")
    assert a.api.cancel_all(market_id=m["id"])["cancelled"] == 2


def test_dead_man_switch_cancels_unless_renewed(ex: Any, pool: Any, until: Any) -> None:
    t = pool[4]  # the pool's trader for account-wide actions
    c = ex.market()["contract_ids"][0]
    ids = [t.api.place_order(contract_id=c, outcome="yes", side="buy", price=p, size=1)["id"]
           for p in ("0.10", "0.11")]
    armed = t.api.dead_man_switch(1)
    assert armed["armed"] is True and armed["timeout_s"] == 1
    time.sleep(0.6)
    t.api.dead_man_switch(1)  # renewed before the deadline
    time.sleep(0.6)
    assert [t.api.order(i)["status"] for i in ids] == ["open", "open"]
    until(lambda: all(t.api.order(i)["status"] == "cancelled" for i in ids), timeout_s=3)
    assert {t.api.order(i)["reason"] for i in ids} == {"dead_man_switch"}
    assert t.api.dead_man_switch(0) == {"armed": False}
    refused(lambda: t.api.dead_man_switch(3_601), 422, "invalid_request")


def test_order_group_counts_fills_of_its_taking_orders(ex: Any, pool: Any) -> None:
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]
    g = a.api.create_order_group(contracts_limit=5)["id"]
    resting = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.20", size=3,
                                order_group_id=g)
    b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.40", size=5)  # ask .60
    taker = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.60", size=5,
                              order_group_id=g)
    assert taker["filled"] == 5
    time.sleep(0.3)
    assert a.api.order_group(g)["triggered"] is True
    assert a.api.order(resting["id"])["status"] == "cancelled"
