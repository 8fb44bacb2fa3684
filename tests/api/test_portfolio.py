"""The portfolio and the market lifecycle through the SDK: positions, fills, settlements, cash
movements, the CSV export; halt, close, settle (binary and categorical) and void."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from foretell.client import ForetellError, to_micro


def total(trader: Any) -> int:
    b = trader.api.balance()
    return to_micro(b["free"]) + to_micro(b["reserved"])


def refused(call: Any, status: int, code: str) -> None:
    with pytest.raises(ForetellError) as info:
        call()
    assert (info.value.status, info.value.code) == (status, code), info.value


def mint(buyer: Any, seller: Any, contract_id: int, size: int, yes_price: str,
         no_price: str) -> None:
    buyer.api.place_order(contract_id=contract_id, outcome="yes", side="buy", price=yes_price,
                          size=size)
    seller.api.place_order(contract_id=contract_id, outcome="no", side="buy", price=no_price,
                           size=size)


def all_fills(trader: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = trader.api.fills(cursor=cursor, limit=7)
        out += page["fills"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out


def test_positions_fills_cash_csv_and_settlement(ex: Any, pool: Any, until: Any) -> None:
    a, b = pool[0], pool[1]
    m = ex.market()
    c = m["contract_ids"][0]
    mint(a, b, c, 10, "0.40", "0.60")
    resting = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.30", size=5)

    pos = [p for p in a.api.positions()["positions"] if p["contract_id"] == c][0]
    assert (pos["yes_shares"], pos["no_shares"], pos["market_id"]) == (10, 0, m["id"])
    assert pos["market_status"] == "open"
    fill = [f for f in a.api.fills()["fills"] if f["contract_id"] == c]
    assert [(f["price"], f["size"], f["fee"], f["liquidity"]) for f in fill] == [
        ("0.40", 10, "0.004000", "maker")]

    movements = a.api.cash()["movements"]
    assert any(mv["amount"] == "100000.000000" and "test funding" in mv["reason"]
               for mv in movements)

    fills = all_fills(a)
    assert len({f["id"] for f in fills}) == len(fills)
    rows = list(csv.DictReader(io.StringIO(a.api.export_csv())))
    assert len(rows) == len(fills)
    assert {"order_id", "price", "size", "fee", "liquidity"} <= set(rows[0])
    assert {r["id"] for r in rows} == {str(f["id"]) for f in fills}

    before_a, before_b = total(a), total(b)
    settled = ex.admin.admin_settle(m["id"], 0)
    assert settled["status"] == "settled" and settled["winner_index"] == 0
    paid = {p["account_id"]: p["amount"] for p in settled["payouts"]}
    assert paid[a.id] == "10.000000" and paid.get(b.id, "0.000000") == "0.000000"
    assert total(a) == before_a + 10_000_000 and total(b) == before_b
    assert a.api.balance()["reserved_for"] == [] or all(
        r["contract_id"] != c for r in a.api.balance()["reserved_for"])
    # The order history is eventually consistent for what other accounts' commands did.
    done = until(lambda: (o := a.api.order(resting["id"]))["status"] != "open" and o)
    assert (done["status"], done["reason"]) == ("cancelled", "market_settled")

    mine = until(lambda: [s for s in a.api.settlements()["settlements"]
                          if s["contract_id"] == c])
    assert to_micro(mine[0]["amount"]) == 10_000_000
    until(lambda: all(p["yes_shares"] == 0 and p["no_shares"] == 0
                      for p in a.api.positions()["positions"] if p["contract_id"] == c))
    market = until(lambda: (v := ex.admin.market(m["id"]))["status"] == "settled" and v)
    assert market["winner"] == 0
    assert [t["status"] for t in market["timeline"]][-1] == "settled"
    refused(lambda: a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.5",
                                      size=1), 409, "market_not_open")
    refused(lambda: ex.admin.admin_settle(m["id"], 1), 409, "invalid_transition")
    refused(lambda: ex.admin.admin_void(m["id"], "too late"), 409, "invalid_transition")
    report = ex.audit()
    assert report["ok"]


def test_void_pays_the_fixed_fraction_to_both_sides(ex: Any, pool: Any, until: Any) -> None:
    a, b = pool[0], pool[1]
    m = ex.market()
    c = m["contract_ids"][0]
    mint(a, b, c, 4, "0.30", "0.70")
    before_a, before_b = total(a), total(b)
    assert ex.admin.admin_void(m["id"], "the event was cancelled") == {"id": m["id"],
                                                                      "status": "voided"}
    assert total(a) == before_a + 2_000_000 and total(b) == before_b + 2_000_000
    until(lambda: ex.admin.market(m["id"])["status"] == "voided")
    refused(lambda: ex.admin.admin_settle(m["id"], 0), 409, "invalid_transition")
    ex.audit()


def test_categorical_market_settles_every_outcome_together(ex: Any, pool: Any) -> None:
    a, b = pool[0], pool[1]
    m = ex.market(outcomes=["Low", "Mid", "High"])
    c0, c1, c2 = m["contract_ids"]
    a.api.place_order(market_id=m["id"], outcome_index=1, outcome="yes", side="buy",
                      price="0.30", size=3)
    b.api.place_order(market_id=m["id"], outcome_index=1, outcome="no", side="buy",
                      price="0.70", size=3)
    mint(a, b, c2, 2, "0.50", "0.50")
    refused(lambda: a.api.place_order(market_id=m["id"], outcome_index=3, outcome="yes",
                                      side="buy", price="0.30", size=1), 400, "invalid_outcome")
    assert a.api.book(c0)["seq"] == 0
    before_a, before_b = total(a), total(b)
    paid = ex.admin.admin_settle(m["id"], 1)["payouts"]
    by_account: dict[int, int] = {}
    for p in paid:
        by_account[p["account_id"]] = by_account.get(p["account_id"], 0) + to_micro(p["amount"])
    assert by_account == {a.id: 3_000_000, b.id: 2_000_000}
    assert total(a) == before_a + 3_000_000 and total(b) == before_b + 2_000_000
    refused(lambda: ex.admin.admin_settle(ex.market()["id"], 2), 400, "invalid_outcome")
    ex.audit()


def test_halt_reopen_close_then_settle(ex: Any, pool: Any, until: Any) -> None:
    a = pool[0]
    m = ex.market()
    c = m["contract_ids"][0]
    first = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.20", size=1)
    assert ex.admin.admin_set_market_status(m["id"], "halted", "news pending") == {
        "id": m["id"], "status": "halted"}
    assert until(lambda: a.api.order(first["id"])["reason"] == "market_halted")
    refused(lambda: a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.20",
                                      size=1), 409, "market_not_open")
    ex.admin.admin_set_market_status(m["id"], "open", "news is out")
    second = a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.20", size=1)
    ex.admin.admin_set_market_status(m["id"], "closed", "event started")
    assert until(lambda: a.api.order(second["id"])["reason"] == "market_closed")
    refused(lambda: ex.admin.admin_set_market_status(m["id"], "open", "reopen it"), 409,
            "invalid_transition")
    refused(lambda: ex.admin.admin_set_market_status(999_999, "open", "no such"), 404,
            "unknown_market")
    ex.admin.admin_settle(m["id"], 1)
    timeline = until(lambda: (t := ex.admin.market(m["id"])["timeline"]) and len(t) == 5 and t)
    assert [(e["status"], e["reason"]) for e in timeline][:4] == [
        ("open", "created"), ("halted", "news pending"), ("open", "news is out"),
        ("closed", "event started")]
    assert timeline[4]["status"] == "settled"
