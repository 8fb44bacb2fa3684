"""Orders through the SDK on a real server: every order type and flag, batch create and cancel,
amend and queue priority, cancel-all, quote, client order ids, expiry, self-trade prevention."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from foretell.client import ForetellError, to_micro


def money(trader: Any) -> tuple[int, int]:
    """(free, reserved) micro-USDC of a trader."""
    b = trader.api.balance()
    return to_micro(b["free"]), to_micro(b["reserved"])


def refused(call: Any, status: int, code: str) -> ForetellError:
    with pytest.raises(ForetellError) as info:
        call()
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


def position(trader: Any, contract_id: int) -> dict[str, Any]:
    rows = [p for p in trader.api.positions()["positions"] if p["contract_id"] == contract_id]
    return rows[0] if rows else {"yes_shares": 0, "no_shares": 0}


def test_limit_orders_rest_cross_mint_and_charge_fees(ex: Any, pool: Any, until: Any) -> None:
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]
    a_before, b_before = money(a), money(b)
    collateral_before = to_micro(ex.audit()["collateral"])

    bid = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.40", size=10)
    assert (bid["status"], bid["remaining"], bid["filled"], bid["price"]) == ("open", 10, 0, "0.40")
    free, reserved = money(a)
    assert reserved - a_before[1] == 4_004_000  # 10 x 0.40 plus the worst-case 0.1 % fee
    assert free + reserved == sum(a_before)

    taker = b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.60", size=4)
    assert taker["status"] == "filled" and taker["filled"] == 4
    assert taker["avg_price"] == "0.60" and taker["fees"] == "0.002400"
    assert taker["fills"] == [{"price": "0.60", "size": 4, "fee": "0.002400",
                               "liquidity": "taker", "kind": "mint"}]

    resting = a.api.order(bid["id"])
    assert (resting["status"], resting["filled"], resting["remaining"]) == ("open", 4, 6)
    assert sum(money(a)) == sum(a_before) - 4 * 400_000 - 1_600  # maker fee 0.0016
    assert sum(money(b)) == sum(b_before) - 4 * 600_000 - 2_400
    assert position(b, c)["no_shares"] == 4
    # the maker's read models follow the taker's command eventually
    until(lambda: position(a, c)["yes_shares"] == 4)
    assert to_micro(ex.audit()["collateral"]) == collateral_before + 4_000_000  # minted pairs
    assert a.api.book(c)["bids"] == [["0.40", 6]]


def test_market_orders_by_size_and_spend_never_rest(ex: Any, pool: Any) -> None:
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]
    refused(lambda: b.api.place_order(contract_id=c, outcome="yes", side="buy", type="market",
                                      size=1), 409, "no_liquidity")
    a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.45", size=5)  # ask .55
    a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.40", size=5)  # ask .60

    by_size = b.api.place_order(contract_id=c, outcome="yes", side="buy", type="market", size=7)
    assert by_size["status"] == "filled" and by_size["filled"] == 7
    assert [(f["price"], f["size"]) for f in by_size["fills"]] == [("0.55", 5), ("0.60", 2)]
    assert by_size["avg_price"] == "0.564285"  # (5 x 0.55 + 2 x 0.60) / 7, rounded down

    by_spend = b.api.place_order(contract_id=c, outcome="yes", side="buy", type="market",
                                 spend="1.20")
    assert by_spend["filled"] == 2 and by_spend["status"] != "open"

    rest = b.api.place_order(contract_id=c, outcome="yes", side="buy", type="market", size=5)
    assert rest["filled"] == 1 and rest["status"] == "cancelled"
    assert rest["reason"] == "ioc_remainder" and rest["remaining"] == 4
    assert b.api.book(c)["asks"] == [] and b.api.book(c)["bids"] == []

    a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.30", size=2)
    sold = b.api.place_order(contract_id=c, outcome="yes", side="sell", type="market", size=3)
    assert sold["filled"] == 2 and sold["status"] == "cancelled"
    assert [(f["price"], f["kind"]) for f in sold["fills"]] == [("0.30", "transfer")]
    assert position(b, c)["yes_shares"] == 8
    assert not [o for o in b.api.orders(status="open")["orders"] if o["contract_id"] == c]


def test_ioc_and_fok(ex: Any, pool: Any) -> None:
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]
    a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.50", size=3)
    ioc = b.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.50", size=5,
                            tif="ioc")
    assert (ioc["filled"], ioc["status"], ioc["reason"]) == (3, "cancelled", "ioc_remainder")
    assert b.api.book(c)["bids"] == []

    a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.50", size=3)
    before, book_before = money(b), b.api.book(c)
    refused(lambda: b.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.50",
                                      size=5, tif="fok"), 409, "fok_not_filled")
    assert money(b) == before and b.api.book(c) == book_before
    fok = b.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.50", size=3,
                            tif="fok")
    assert (fok["status"], fok["filled"]) == ("filled", 3)


def test_post_only_and_reduce_only(ex: Any, pool: Any) -> None:
    a, b, c_ = pool[0], pool[1], pool[2]
    c = ex.market()["contract_ids"][0]
    a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.40", size=1)
    refused(lambda: b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.60",
                                      size=1, post_only=True), 409, "post_only_would_take")
    maker = b.api.place_order(contract_id=c, outcome="no", side="buy", price="0.55", size=1,
                              post_only=True)
    assert maker["status"] == "open" and maker["post_only"] is True

    refused(lambda: c_.api.place_order(contract_id=c, outcome="yes", side="sell", price="0.70",
                                       size=1, reduce_only=True), 409, "no_position")
    a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.50", size=4)
    c_.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.50", size=4)
    assert position(c_, c)["yes_shares"] == 4
    reduce = c_.api.place_order(contract_id=c, outcome="yes", side="sell", price="0.70",
                                size=10, reduce_only=True)
    assert reduce["status"] == "open" and reduce["size"] == 4 and reduce["reduce_only"] is True
    refused(lambda: c_.api.place_order(contract_id=c, outcome="yes", side="sell", price="0.70",
                                       size=1, reduce_only=True), 409, "no_position")
    refused(lambda: c_.api.place_order(contract_id=c, outcome="yes", side="sell", price="0.70",
                                       size=1), 409, "insufficient_shares")


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


def test_amend_keeps_priority_only_on_a_size_decrease(ex: Any, pool: Any) -> None:
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]
    o1 = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.40", size=5)["id"]
    o2 = b.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.40", size=3)["id"]
    o3 = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.40", size=2)["id"]

    def queue(trader: Any, order_id: int) -> tuple[int, int]:
        q = trader.api.queue_position(order_id)
        assert q["order_id"] == order_id
        return q["orders_ahead"], q["shares_ahead"]

    assert [queue(a, o1), queue(b, o2), queue(a, o3)] == [(0, 0), (1, 5), (2, 8)]
    smaller = a.api.amend_order(o1, size=2)
    assert smaller["remaining"] == 2 and smaller["price"] == "0.40"
    assert [queue(a, o1), queue(b, o2)] == [(0, 0), (1, 2)]  # still first

    a.api.amend_order(o1, size=4)  # an increase goes to the back
    assert [queue(b, o2), queue(a, o3), queue(a, o1)] == [(0, 0), (1, 3), (2, 5)]
    moved = a.api.amend_order(o3, price=420_000)  # int micro-USDC is exact too
    assert moved["price"] == "0.42" and queue(a, o3) == (0, 0)
    assert a.api.book(c)["bids"] == [["0.42", 2], ["0.40", 7]]
    refused(lambda: a.api.amend_order(o1), 422, "invalid_request")
    refused(lambda: a.api.amend_order(o1, price="0.425"), 400, "invalid_tick")
    assert a.api.book(c)["bids"] == [["0.42", 2], ["0.40", 7]]


def test_cancel_all_per_market_then_everywhere(ex: Any, pool: Any) -> None:
    t = pool[4]  # the pool's trader for account-wide actions
    t.api.cancel_all()
    m1, m2 = ex.market(), ex.market()
    for m, price in ((m1, "0.10"), (m1, "0.11"), (m2, "0.12")):
        t.api.place_order(market_id=m["id"], outcome="yes", side="buy", price=price, size=1)
    first = t.api.cancel_all(market_id=m1["id"])
    assert first["cancelled"] == 2 and len(first["order_ids"]) == 2
    assert [o["market_id"] for o in t.api.orders(status="open")["orders"]] == [m2["id"]]
    assert t.api.cancel_all()["cancelled"] == 1
    assert t.api.cancel_all() == {"cancelled": 0, "order_ids": []}
    assert t.api.orders(status="open")["orders"] == []
    assert money(t)[1] == 0


def test_quote_is_a_dry_run(ex: Any, pool: Any) -> None:
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]
    a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.45", size=5)
    a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.40", size=5)
    book, balance = b.api.book(c), money(b)
    q = b.api.quote(contract_id=c, outcome="yes", side="buy", price="0.60", size=8)
    assert q["fills"] == [{"price": "0.55", "size": 5}, {"price": "0.60", "size": 3}]
    assert (q["filled"], q["unfilled"], q["avg_price"]) == (8, 0, "0.56875")
    assert q["notional"] == "4.550000" and q["fee"] == "0.004550"
    assert q["max_cost"] == "4.804800"
    short = b.api.quote(contract_id=c, outcome="yes", side="buy", price="0.55", size=8)
    assert (short["filled"], short["unfilled"]) == (5, 3)
    market = b.api.quote(contract_id=c, outcome="yes", side="buy", type="market", spend="1.10")
    assert market["filled"] == 2
    sell = a.api.quote(contract_id=c, outcome="no", side="sell", type="market", size=1)
    assert sell["filled"] == 0
    assert b.api.book(c) == book and money(b) == balance
    assert not [o for o in b.api.orders(status="open")["orders"] if o["contract_id"] == c]


def test_client_order_id_makes_a_resubmission_return_the_first_order(ex: Any,
                                                                     pool: Any) -> None:
    b = pool[1]
    c = ex.market()["contract_ids"][0]
    cid = f"mine-{uuid.uuid4().hex[:12]}"
    first = b.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.20", size=3,
                              client_order_id=cid)
    again = b.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.20", size=3,
                              client_order_id=cid)
    assert again["id"] == first["id"] and again["client_order_id"] == cid
    assert b.api.order_by_client_id(cid)["id"] == first["id"]
    assert len([o for o in b.api.orders(status="open")["orders"] if o["contract_id"] == c]) == 1

    body = {"contract_id": c, "outcome": "yes", "side": "buy", "price": "0.20", "size": 3,
            "client_order_id": cid}
    with pytest.raises(ForetellError) as info:
        b.api.request("POST", "/orders", body=body)
    assert (info.value.status, info.value.code) == (409, "duplicate_client_order_id")
    assert info.value.details == {"order_id": first["id"]}

    b.api.cancel_order(first["id"])  # a finished order's id still blocks a second order
    after = b.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.20", size=3,
                              client_order_id=cid)
    assert after["id"] == first["id"] and after["status"] == "cancelled"
    assert b.api.book(c)["bids"] == []
    refused(lambda: b.api.order_by_client_id("never-used"), 404, "unknown_order")


def test_gtd_orders_expire(ex: Any, pool: Any, until: Any) -> None:
    a = pool[0]
    c = ex.market()["contract_ids"][0]
    now = a.api.server_time()["server_time_ms"]
    refused(lambda: a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.20",
                                      size=1, tif="gtd", expire_at_ms=now - 1), 400,
            "invalid_expiry")
    gtd = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.20", size=1,
                            tif="gtd", expire_at_ms=now + 400)
    assert gtd["status"] == "open" and gtd["tif"] == "gtd"
    done = until(lambda: (o := a.api.order(gtd["id"]))["status"] != "open" and o, timeout_s=5)
    assert (done["status"], done["reason"]) == ("cancelled", "expired")
    assert a.api.book(c)["bids"] == []


def test_self_trade_prevention_cancels_the_resting_order(ex: Any, pool: Any) -> None:
    a = pool[0]
    c = ex.market()["contract_ids"][0]
    resting = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.40", size=2)
    taker = a.api.place_order(contract_id=c, outcome="no", side="buy", price="0.60", size=1)
    assert taker["filled"] == 0 and taker["status"] == "open"
    gone = a.api.order(resting["id"])
    assert (gone["status"], gone["reason"]) == ("cancelled", "self_trade")
    book = a.api.book(c)
    assert book["bids"] == [] and book["asks"] == [["0.40", 1]]


def test_orders_that_cannot_be_paid_change_nothing(ex: Any, pool: Any) -> None:
    b = pool[1]
    c = ex.market()["contract_ids"][0]
    before = money(b)
    refused(lambda: b.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.99",
                                      size=1_000_000), 409, "insufficient_funds")
    refused(lambda: b.api.place_order(contract_id=c, outcome="no", side="sell", price="0.50",
                                      size=1), 409, "insufficient_shares")
    assert money(b) == before and b.api.book(c)["seq"] == 0
    poor = ex.trader(usdc=None)
    with pytest.raises(ForetellError) as info:
        poor.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.50", size=1)
    assert info.value.status in (404, 409)
    assert info.value.code in ("insufficient_funds", "unknown_account")


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
