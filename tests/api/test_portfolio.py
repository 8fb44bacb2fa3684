"""The portfolio and the market lifecycle through the SDK: the shape of positions, fills,
settlements, cash movements and the CSV export, and of the supervisor's halt, close, settle and
void (answers, status codes, the public timeline). The money each of these moves is
tests/services/test_markets.py and test_portfolio.py (in process) and tests/engine/."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from foretell.client import ForetellError


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

    settled = ex.admin.admin_settle(m["id"], 0)
    assert (settled["status"], settled["winner_index"]) == ("settled", 0)
    paid = {p["account_id"]: p["amount"] for p in settled["payouts"]}
    assert paid[a.id] == "10.000000"
    mine = until(lambda: [s for s in a.api.settlements()["settlements"]
                          if s["contract_id"] == c])
    assert mine[0]["amount"] == "10.000000" and mine[0]["market_id"] == m["id"]
    market = until(lambda: (v := ex.admin.market(m["id"]))["status"] == "settled" and v)
    assert market["winner"] == 0
    assert [t["status"] for t in market["timeline"]][-1] == "settled"
    refused(lambda: a.api.place_order(contract_id=c, outcome="yes", side="buy", price="0.5",
                                      size=1), 409, "market_not_open")
    refused(lambda: ex.admin.admin_settle(m["id"], 1), 409, "invalid_transition")


def test_void_answers_and_then_refuses_a_settlement(ex: Any) -> None:
    m = ex.market()
    assert ex.admin.admin_void(m["id"], "the event was cancelled") == {"id": m["id"],
                                                                      "status": "voided"}
    refused(lambda: ex.admin.admin_settle(m["id"], 0), 409, "invalid_transition")
    refused(lambda: ex.admin.admin_void(m["id"], "once more"), 409, "invalid_transition")


def test_status_changes_answer_and_show_in_the_public_timeline(ex: Any, until: Any) -> None:
    m = ex.market()
    assert ex.admin.admin_set_market_status(m["id"], "halted", "news pending") == {
        "id": m["id"], "status": "halted"}
    ex.admin.admin_set_market_status(m["id"], "closed", "event started")
    refused(lambda: ex.admin.admin_set_market_status(m["id"], "open", "reopen it"), 409,
            "invalid_transition")
    refused(lambda: ex.admin.admin_set_market_status(999_999, "open", "no such"), 404,
            "unknown_market")
    anonymous = ex.client()
    timeline = until(lambda: (t := anonymous.market(m["id"])["timeline"]) and len(t) == 3 and t)
    assert [(e["status"], e["reason"]) for e in timeline] == [
        ("open", "created"), ("halted", "news pending"), ("closed", "event started")]
    assert all(isinstance(e["ts_ms"], int) for e in timeline), timeline
