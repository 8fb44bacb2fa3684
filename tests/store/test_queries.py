"""Read functions for the API over a small projected exchange."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from foretell.domain import commands as cmd
from foretell.store import queries as q

if TYPE_CHECKING:
    from conftest import Store, Stream

M = 1_000_000
MINUTE, DAY = 60_000, 86_400_000


@pytest.fixture
def exchange(store: Store, stream: Stream) -> Store:
    """Two markets; accounts 1 and 2 trade YES of market 1 across two days."""
    stream.fund(1, 2, 3)
    stream.ok(cmd.CreateMarket(stream.ts, 1, meta=json.dumps({
        "slug": "acme-ipo", "question": "Will Acme IPO in 2026?", "category": "ipo",
        "tags": ["acme", "100%_sure"]})))
    stream.ok(cmd.CreateMarket(stream.ts, 2, meta=json.dumps({
        "slug": "beta-round", "question": "Will Beta raise a Series B?", "category": "funding",
        "tags": ["beta"]})))
    stream.ts = 10 * DAY
    for i, cents in enumerate((40, 44, 42)):  # day one: three trades, a minute apart
        stream.ts = 10 * DAY + i * MINUTE
        stream.limit(1, "buy_yes", 10, cents, client_id=f"c{i}")
        stream.limit(2, "buy_no", 10, 100 - cents)
    stream.ts = 11 * DAY + MINUTE  # a day later: one more trade
    stream.limit(1, "buy_yes", 5, 50, client_id="late")
    stream.limit(2, "buy_no", 5, 50)
    stream.limit(1, "buy_yes", 7, 10)  # rests
    stream.ok(cmd.Withdraw(stream.ts, 3, 100 * M))
    store.project(stream.outcomes)
    return store


def test_list_markets_filters_and_pages(exchange: Store) -> None:
    db = exchange.engine
    rows, nxt = q.list_markets(db)
    assert [r["slug"] for r in rows] == ["beta-round", "acme-ipo"] and nxt is None
    assert rows[1]["tags"] == ["acme", "100%_sure"]  # JSON columns come decoded
    assert [r["id"] for r in q.list_markets(db, category="ipo")[0]] == [1]
    assert [r["id"] for r in q.list_markets(db, search="series")[0]] == [2]
    assert [r["id"] for r in q.list_markets(db, search="100%_")[0]] == [1]  # LIKE escaped
    assert [r["id"] for r in q.list_markets(db, search="0%")[0]] == [1]
    assert q.list_markets(db, search="a%e")[0] == []  # would match "acme" unescaped
    assert q.list_markets(db, status="settled")[0] == []
    page, nxt = q.list_markets(db, limit=1)
    assert [r["id"] for r in page] == [2] and nxt == 2
    page, nxt = q.list_markets(db, limit=1, cursor=nxt)
    assert [r["id"] for r in page] == [1] and nxt is None


def test_get_market_by_id_or_slug(exchange: Store) -> None:
    with exchange.engine.connect() as conn:
        by_slug = q.get_market(conn, "acme-ipo")
        by_id = q.get_market(conn, 1)
    assert by_slug == by_id and by_id is not None
    assert by_id["outcomes"] == ["Yes", "No"]
    assert [c["id"] for c in by_id["contracts"]] == [1]
    assert [(e["kind"], e["status"]) for e in by_id["timeline"]] == [("status", "open")]
    assert q.get_market(exchange.engine, "nope") is None


def test_trades_candles_and_ticker(exchange: Store) -> None:
    db = exchange.engine
    tape, nxt = q.trades(db, 1, limit=3)
    assert [x["yes_price_micro"] for x in tape] == [500_000, 420_000, 440_000]
    rest, end = q.trades(db, 1, cursor=nxt)
    assert [x["yes_price_micro"] for x in rest] == [400_000] and end is None
    bars = q.candles(db, 1, 60, 10 * DAY, 10 * DAY + 2 * MINUTE)
    assert [(b["start_ms"], b["close_micro"], b["volume_shares"]) for b in bars] == [
        (10 * DAY, 400_000, 10), (10 * DAY + MINUTE, 440_000, 10)]
    assert len(q.candles(db, 1, 86_400, 0, 20 * DAY)) == 2
    with pytest.raises(ValueError):
        q.candles(db, 1, 300, 0, 1)
    tick = q.ticker(db, 1, now_ms=11 * DAY + MINUTE + 30_000)
    assert tick is not None
    # The window starts in the minute at day 10 + 1 min: the bar before it closed at 0.40.
    assert (tick["last_price_micro"], tick["prev_day_price_micro"], tick["change_micro"],
            tick["volume_24h_shares"], tick["trades_24h"], tick["high_24h_micro"]) == (
        500_000, 400_000, 100_000, 25, 3, 500_000)
    fresh = q.ticker(db, 1, now_ms=10 * DAY + 5 * MINUTE)
    assert fresh is not None
    assert (fresh["prev_day_price_micro"], fresh["volume_24h_shares"]) == (400_000, 30)
    quiet = q.ticker(db, 2, now_ms=11 * DAY)
    assert quiet is not None
    assert (quiet["last_price_micro"], quiet["change_micro"], quiet["volume_24h_shares"]) == (
        None, None, 0)
    assert q.ticker(db, 99, now_ms=0) is None


def test_orders_fills_and_ownership(exchange: Store) -> None:
    db = exchange.engine
    rows, _ = q.orders(db, 1)
    assert len(rows) == 5 and rows[0]["status"] == "open"
    assert [r["id"] for r in q.orders(db, 1, status="open")[0]] == [rows[0]["id"]]
    assert q.orders(db, 1, market_id=2)[0] == []
    page, nxt = q.orders(db, 1, limit=2)
    assert len(page) == 2 and nxt == page[-1]["id"]
    assert q.orders(db, 1, cursor=nxt, limit=500)[0] == rows[2:]
    order = rows[-1]
    assert q.get_order(db, 1, order["id"]) == order
    assert q.get_order(db, 2, order["id"]) is None  # someone else's
    assert q.order_by_client_id(db, 1, "late")["size"] == 5  # type: ignore[index]
    assert q.order_by_client_id(db, 2, "late") is None
    fills, _ = q.fills(db, 2)
    assert [(f["price_micro"], f["liquidity"]) for f in fills] == [
        (500_000, "taker"), (580_000, "taker"), (560_000, "taker"), (600_000, "taker")]
    assert len(q.fills(db, 1, order_id=order["id"])[0]) == 1


def test_positions_balance_and_cash(exchange: Store) -> None:
    db = exchange.engine
    (pos,) = q.positions(db, 1)
    cost = 10 * (400_000 + 440_000 + 420_000) + 5 * 500_000
    fees = sum(-(-n * 1_000 // M) for n in (4_000_000, 4_400_000, 4_200_000, 2_500_000))
    assert (pos["yes_shares"], pos["yes_reserved"], pos["cost_micro"], pos["slug"]) == (
        35, 0, cost + fees, "acme-ipo")
    assert pos["avg_yes_cost_micro"] == (cost + fees) // 35
    assert pos["mark_value_micro"] == 35 * 500_000
    assert pos["unrealized_pnl_micro"] == 35 * 500_000 - cost - fees
    assert q.positions(db, 3) == [] and len(q.positions(db, 2, open_only=True)) == 1
    bal = q.balance(db, 1)
    assert bal["total_micro"] == bal["free_micro"] + bal["reserved_micro"]
    assert bal["reserved_micro"] == 7 * 100_000 + 700  # resting bid and its worst-case fee
    assert q.balance(db, 42) == {"account_id": 42, "free_micro": 0, "reserved_micro": 0,
                                 "updated_ms": None, "updated_seq": None, "total_micro": 0}
    moves, _ = q.cash_movements(db, 3)
    assert [(m["amount_micro"], m["reason"]) for m in moves] == [
        (-100 * M, "withdrawal"), (1_000 * M, "deposit")]
    assert q.settlements(db, 1) == ([], None)
    assert q.last_seq(db) == exchange.projector.last_seq()


def test_limit_is_clamped(exchange: Store) -> None:
    rows, nxt = q.trades(exchange.engine, 1, limit=10_000)
    assert len(rows) == 4 and nxt is None
    rows, nxt = q.trades(exchange.engine, 1, limit=0)
    assert len(rows) == 1 and nxt is not None
