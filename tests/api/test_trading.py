"""Orders through the SDK on a real server: the HTTP shape of every trading route (status,
machine-readable codes, the fields of each answer and their formats). What the orders do, to
the micro-USDC, is tests/services/test_trading.py (in process) and tests/engine/."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from foretell.client import ForetellError

MONEY = r"^-?\d+\.\d{6}$"  # micro-USDC as a decimal string with six places


def refused(call: Any, status: int, code: str) -> ForetellError:
    with pytest.raises(ForetellError) as info:
        call()
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


def position(trader: Any, contract_id: int) -> dict[str, Any]:
    rows = [p for p in trader.api.positions()["positions"] if p["contract_id"] == contract_id]
    return rows[0] if rows else {"yes_shares": 0, "no_shares": 0}


def test_an_order_and_its_fill_in_every_answer(ex: Any, pool: Any, until: Any) -> None:
    """One cross, read back through each route that shows it: prices and amounts are decimal
    strings, sizes are ints, a fill names its liquidity and kind."""
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]
    bid = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.40", size=10)
    assert (bid["status"], bid["remaining"], bid["filled"], bid["price"]) == ("open", 10, 0, "0.40")
    assert (bid["outcome"], bid["side"], bid["type"], bid["tif"]) == ("yes", "buy", "limit", "gtc")
    assert (bid["post_only"], bid["reduce_only"], bid["contract_id"]) == (False, False, c)
    balance = a.api.balance()
    assert all(re.match(MONEY, balance[k]) for k in ("free", "reserved", "total"))
    mine = [r for r in balance["reserved_for"] if r["order_id"] == bid["id"]]
    assert [(r["amount"], r["contract_id"]) for r in mine] == [("4.004000", c)]

    taker = b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.60", size=4)
    assert (taker["status"], taker["filled"], taker["avg_price"], taker["fees"]) == (
        "filled", 4, "0.60", "0.002400")
    assert taker["fills"] == [{"price": "0.60", "size": 4, "fee": "0.002400",
                               "liquidity": "taker", "kind": "mint"}]
    resting = a.api.order(bid["id"])
    assert (resting["status"], resting["filled"], resting["remaining"]) == ("open", 4, 6)
    assert a.api.book(c)["bids"] == [["0.40", 6]]
    assert position(b, c)["no_shares"] == 4
    until(lambda: position(a, c)["yes_shares"] == 4)  # the maker's read model follows


def test_placing_answers_each_refusal_with_its_status_and_code(ex: Any, pool: Any) -> None:
    """Every refusal of POST /orders that needs a book or a holding (the schema's own 4xx are
    in test_bad_input.py); what each refusal leaves unchanged is tests/services."""
    a, b, c_ = pool[0], pool[1], pool[2]
    c = ex.market()["contract_ids"][0]
    buy = {"contract_id": c, "outcome": "yes", "side": "buy"}
    refused(lambda: b.api.place_order(**buy, type="market", size=1), 409, "no_liquidity")
    a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.50", size=3)
    refused(lambda: b.api.place_order(**buy, price="0.50", size=5, tif="fok"), 409,
            "fok_not_filled")
    ioc = b.api.place_order(**buy, price="0.50", size=5, tif="ioc")
    assert (ioc["filled"], ioc["status"], ioc["reason"], ioc["tif"]) == (
        3, "cancelled", "ioc_remainder", "ioc")
    a.api.place_order(**buy, price="0.40", size=1)
    refused(lambda: b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.60",
                                      size=1, post_only=True), 409, "post_only_would_take")
    maker = b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.55", size=1,
                              post_only=True)
    assert (maker["status"], maker["post_only"]) == ("open", True)
    reduce = b.api.place_order(contract_id=c, outcome="yes", side="sell", price="0.90",
                               size=10, reduce_only=True)
    assert (reduce["size"], reduce["reduce_only"]) == (3, True)
    sell = {"contract_id": c, "outcome": "yes", "side": "sell", "price": "0.70", "size": 1}
    refused(lambda: c_.api.place_order(**sell, reduce_only=True), 409, "no_position")
    refused(lambda: c_.api.place_order(**sell), 409, "insufficient_shares")
    refused(lambda: b.api.place_order(**buy, price="0.99", size=1_000_000), 409,
            "insufficient_funds")
    now = a.api.server_time()["server_time_ms"]
    refused(lambda: a.api.place_order(**buy, price="0.20", size=1, tif="gtd",
                                      expire_at_ms=now - 1), 400, "invalid_expiry")
    gtd = a.api.place_order(**buy, price="0.20", size=1, tif="gtd", expire_at_ms=now + 60_000)
    assert (gtd["status"], gtd["tif"]) == ("open", "gtd")
    assert a.api.order(gtd["id"])["expire_at_ms"] == now + 60_000
    by_spend = c_.api.place_order(**buy, type="market", spend="0.50")
    assert by_spend["type"] == "market" and by_spend["status"] in ("filled", "cancelled")
    poor = ex.trader(usdc=None)  # an account the engine has never seen
    refused(lambda: poor.api.place_order(**buy, price="0.50", size=1), 404, "unknown_account")


def test_batch_create_and_batch_cancel_answer_each_item(ex: Any, pool: Any) -> None:
    a = pool[0]
    m = ex.market()
    c = m["contract_ids"][0]
    out = a.api.place_orders([
        {"contract_id": c, "outcome": "yes", "side": "buy", "price": "0.30", "size": 1},
        {"contract_id": c, "outcome": "yes", "side": "buy", "price": "0.305", "size": 1},
        {"market_id": m["id"], "outcome": "no", "side": "buy", "price": "0.20", "size": 2},
        {"market_id": 999_999, "outcome": "yes", "side": "buy", "price": "0.30", "size": 1},
    ])["results"]
    assert [r["ok"] for r in out] == [True, False, True, False]
    assert out[1]["error"]["code"] == "invalid_tick"
    assert out[3]["error"]["code"] == "unknown_market"
    ids = [out[0]["order"]["id"], out[2]["order"]["id"]]
    book = a.api.book(c)
    assert book["bids"] == [["0.30", 1]] and book["asks"] == [["0.80", 2]]

    cancelled = a.api.cancel_orders([*ids, 999_999_999])["results"]
    assert [(r["order_id"], r["ok"]) for r in cancelled] == [(ids[0], True), (ids[1], True),
                                                              (999_999_999, False)]
    assert cancelled[2]["error"]["code"] == "unknown_order"
    assert all(r["order"]["status"] == "cancelled" for r in cancelled[:2])
    assert a.api.book(c)["bids"] == [] and a.api.book(c)["asks"] == []


def test_amend_and_queue_position_answers(ex: Any, pool: Any) -> None:
    """PATCH answers the amended order (a price as a decimal string or as int micro-USDC);
    GET .../queue answers where it stands. Priority itself is tests/services."""
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]
    o1 = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.40", size=5)["id"]
    o2 = b.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.40", size=3)["id"]
    assert b.api.queue_position(o2) == {"order_id": o2, "orders_ahead": 1, "shares_ahead": 5}
    smaller = a.api.amend_order(o1, size=2)
    assert (smaller["id"], smaller["remaining"], smaller["price"]) == (o1, 2, "0.40")
    moved = a.api.amend_order(o1, price=420_000)
    assert moved["price"] == "0.42" and a.api.queue_position(o1)["orders_ahead"] == 0
    refused(lambda: a.api.amend_order(o1), 422, "invalid_request")
    refused(lambda: a.api.amend_order(o1, price="0.425"), 400, "invalid_tick")
    assert a.api.book(c)["bids"] == [["0.42", 2], ["0.40", 3]]


def test_cancel_all_answers_what_it_cancelled(ex: Any, pool: Any) -> None:
    t = pool[4]  # the pool's trader for account-wide actions
    m = ex.market()
    for price in ("0.10", "0.11"):
        t.api.place_order(market_id=m["id"], outcome="yes", side="buy", price=price, size=1)
    first = t.api.cancel_all(market_id=m["id"])
    assert first["cancelled"] == 2 and len(first["order_ids"]) == 2
    t.api.place_order(market_id=m["id"], outcome="yes", side="buy", price="0.12", size=1)
    assert t.api.cancel_all()["cancelled"] == 1
    assert t.api.cancel_all() == {"cancelled": 0, "order_ids": []}


def test_client_order_id_makes_a_resubmission_return_the_first_order(ex: Any, pool: Any,
                                                                     raw: Any) -> None:
    b = pool[1]
    c = ex.market()["contract_ids"][0]
    cid = f"mine-{uuid.uuid4().hex[:12]}"
    fields = {"contract_id": c, "outcome": "yes", "side": "buy", "price": "0.20", "size": 3,
              "client_order_id": cid}
    first = b.api.place_order(**fields)
    again = b.api.place_order(**fields)  # the SDK answers the first order
    assert again["id"] == first["id"] and again["client_order_id"] == cid
    assert b.api.order_by_client_id(cid)["id"] == first["id"]
    response = raw.signed(ex.base_url, b.key["key_id"], b.key["secret"], "POST", "/orders",
                          json.dumps(fields).encode())
    body = raw.assert_error(response, 409, "duplicate_client_order_id")
    assert body["error"]["details"] == {"order_id": first["id"]}
    refused(lambda: b.api.order_by_client_id("never-used"), 404, "unknown_order")


def test_order_history_by_status(ex: Any, pool: Any, until: Any) -> None:
    a, b = pool[0], pool[1]
    m = ex.market()
    c = m["contract_ids"][0]
    filled = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.50", size=1)
    b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.50", size=1)
    cancelled = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.10", size=1)
    a.api.cancel_order(cancelled["id"])
    live = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.11", size=1)

    def ids(status: str | None) -> list[int]:
        return [o["id"] for o in a.api.orders(status=status, market_id=m["id"])["orders"]]

    assert ids("open") == [live["id"]]
    assert ids("cancelled") == [cancelled["id"]]
    until(lambda: ids("filled") == [filled["id"]])  # filled by b's command
    assert ids(None) == [live["id"], cancelled["id"], filled["id"]]  # newest first
    page = a.api.orders(market_id=m["id"], limit=2)
    assert len(page["orders"]) == 2 and page["next_cursor"] is not None
    assert a.api.order(filled["id"])["status"] == "filled"
    a.api.cancel_order(live["id"])
    refused(lambda: a.api.cancel_order(live["id"]), 404, "unknown_order")
    refused(lambda: a.api.queue_position(live["id"]), 404, "unknown_order")


def test_a_finished_order_has_the_shape_of_a_live_one(ex: Any, pool: Any) -> None:
    a = pool[0]
    c = ex.market()["contract_ids"][0]
    live = a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.10", size=1)
    a.api.cancel_order(live["id"])
    done = a.api.order(live["id"])
    for key in ("outcome", "side", "type", "tif", "client_order_id", "price", "size"):
        assert done.get(key) == live[key], (key, done)


def test_fills_name_their_outcome_and_side(ex: Any, pool: Any, until: Any) -> None:
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]
    order = a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.50", size=1)
    b.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.50", size=1)
    fill = until(lambda: [f for f in a.api.fills()["fills"] if f["order_id"] == order["id"]])[0]
    assert fill.get("outcome") == "no" and fill.get("side") == "buy", fill
