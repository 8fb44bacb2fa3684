"""The `ticker:<contract>` WebSocket channel: a snapshot at subscribe time, then one message per
command that prints a trade or moves the top of the book, with the fields of the contract in
GET /api/v1/markets (last, best bid/ask, 24 h change and reference, volume).

The live tests use a real server (conftest.py); the last ones drive the Hub in process, for
what a live server cannot show on demand (the startup read arriving after fills, a reference
that moves as the 24 h window slides).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from types import SimpleNamespace
from typing import Any

from foretell.api.hub import Connection, Hub
from foretell.client import Stream
from foretell.domain import events as ev
from foretell.domain.orders import BUY, NO, YES

Json = dict[str, Any]
FIELDS = ("last", "best_bid", "best_ask", "change", "prev_day_price", "volume",
          "volume_shares")
LIST_NAMES = {"last": "last_price"}  # the list's name of a ticker field, where it differs


def tickers(messages: list[Json], channel: str) -> list[Json]:
    return [m for m in messages if m.get("channel") == channel and m.get("type") == "ticker"]


async def after(ws: Stream, call: Any, **order: Any) -> list[Json]:
    """Run a REST call; every message its command sent to the socket. The hub fans out a
    command before its caller is answered, so a ping after the answer comes back after them."""
    await asyncio.to_thread(call, **order)
    await ws.ping()
    seen = []
    while not ws._queue.empty():
        seen.append(ws._queue.get_nowait())
    return seen


def fields(message: Json) -> dict[str, Any]:
    return {name: message[name] for name in FIELDS}


def test_ticker_snapshot_top_of_book_trades_and_the_list(ex: Any, pool: Any,
                                                         until: Any) -> None:
    question = f"Will the ticker test {uuid.uuid4().hex[:8]} agree with the list?"
    m = ex.market(question=question)
    c = m["contract_ids"][0]
    channel = f"ticker:{c}"
    a, b = pool[0], pool[1]

    async def main() -> tuple[Json, Json]:
        async with Stream(ex.base_url) as ws:
            await ws.subscribe(channel)
            snapshot = await ws.wait_for(lambda msg: msg.get("channel") == channel)
            assert snapshot["type"] == "ticker" and snapshot["snapshot"] is True
            assert snapshot["contract_id"] == c and isinstance(snapshot["seq"], int)
            assert fields(snapshot) == {
                "last": None, "best_bid": None, "best_ask": None, "change": None,
                "prev_day_price": None, "volume": "0.000000", "volume_shares": 0}

            # A resting bid: a ticker with the new best bid, no trade.
            seen = tickers(await after(ws, a.api.place_order, contract_id=c, outcome="yes",
                                       side="buy", price="0.40", size=3), channel)
            assert len(seen) == 1, seen
            bid = seen[0]
            assert bid["snapshot"] is False and bid["seq"] > snapshot["seq"]
            assert (bid["best_bid"], bid["best_ask"], bid["last"]) == ("0.40", None, None)

            # A resting ask (buy NO at 0.45 = sell YES at 0.55).
            seen = tickers(await after(ws, b.api.place_order, contract_id=c, outcome="no",
                                       side="buy", price="0.45", size=2), channel)
            assert [(t["best_bid"], t["best_ask"]) for t in seen] == [("0.40", "0.55")]

            # A bid below the top: nothing.
            seen = await after(ws, a.api.place_order, contract_id=c, outcome="yes",
                               side="buy", price="0.30", size=1)
            assert tickers(seen, channel) == []

            # One command takes the whole ask and rests its remainder as the new best bid:
            # a trade and both sides of the top change, one message.
            seen = tickers(await after(ws, a.api.place_order, contract_id=c, outcome="yes",
                                       side="buy", price="0.60", size=5), channel)
            assert len(seen) == 1, seen
            assert fields(seen[0]) == {
                "last": "0.55", "best_bid": "0.60", "best_ask": None, "change": "0.00",
                "prev_day_price": "0.55", "volume": "1.100000", "volume_shares": 2}

            # A taker selling YES (buying NO at 0.50) into the 0.60 bid: last, volume and
            # change move; the top does not (2 of the 3 at 0.60 are left).
            seen = tickers(await after(ws, b.api.place_order, contract_id=c, outcome="no",
                                       side="buy", price="0.50", size=1), channel)
            assert len(seen) == 1, seen
            trade = seen[0]
            assert fields(trade) == {
                "last": "0.60", "best_bid": "0.60", "best_ask": None, "change": "0.05",
                "prev_day_price": "0.55", "volume": "1.500000", "volume_shares": 3}

        # A new subscriber's snapshot is the same state.
        async with Stream(ex.base_url) as ws:
            await ws.subscribe(channel)
            again = await ws.wait_for(lambda msg: msg.get("channel") == channel)
        assert again["snapshot"] is True and again["seq"] >= trade["seq"]
        assert fields(again) == fields(trade)
        return trade, again

    trade, _ = asyncio.run(main())

    def listed() -> Json | None:
        markets = ex.admin.markets(q=question)["markets"]
        contract = next(k for k in markets[0]["contracts"] if k["id"] == c)
        return contract if contract["volume_shares"] == 3 else None  # the store caught up

    contract = until(listed)
    assert {name: contract[LIST_NAMES.get(name, name)] for name in FIELDS} == fields(trade)


def test_ticker_channel_of_a_contract_nobody_watches_sends_nothing(ex: Any, pool: Any) -> None:
    """Trades on one contract reach only its own ticker channel."""
    watched, other = ex.market()["contract_ids"][0], ex.market()["contract_ids"][0]
    a, b = pool[2], pool[3]

    async def main() -> list[Json]:
        async with Stream(ex.base_url) as ws:
            await ws.subscribe(f"ticker:{watched}")
            await ws.wait_for(lambda msg: msg.get("channel") == f"ticker:{watched}")
            await asyncio.to_thread(a.api.place_order, contract_id=other, outcome="yes",
                                    side="buy", price="0.40", size=1)
            return await after(ws, b.api.place_order, contract_id=other, outcome="no",
                               side="buy", price="0.60", size=1)

    assert asyncio.run(main()) == []


# -- the hub in process -------------------------------------------------------------------------


def fill(ts: int, contract: int, yes_price: int, size: int, taker_outcome: int) -> ev.Fill:
    maker_outcome = NO if taker_outcome == YES else YES
    return ev.Fill(ts, contract, yes_price, size, 0, 11, 1, taker_outcome, BUY, 0,
                   12, 2, maker_outcome, BUY, 0)


def outcome(seq: int, *events: ev.Event) -> Any:
    return SimpleNamespace(seq=seq, events=list(events))


def drain(conn: Connection) -> list[Json]:
    out = []
    while not conn.queue.empty():
        out.append(json.loads(conn.queue.get_nowait()))
    return out


def test_hub_startup_read_after_fills_and_a_sliding_reference() -> None:
    hub = Hub()
    hub.clock = lambda: 1_000
    conn = Connection(None)
    hub.connect(conn)
    hub.subscribe(conn, "ticker:7")
    assert drain(conn) == []  # nothing before the startup read
    # Fills published while the store is read: seq 5 is in the store's totals, 6 is not.
    hub.publish(outcome(5, fill(10, 7, 400_000, 2, YES)))
    hub.publish(outcome(6, fill(11, 7, 450_000, 1, NO)))
    assert drain(conn) == []
    hub.load_tickers(5, {7: (400_000, 10_800_000, 30)}, {7: 380_000})
    [snap] = drain(conn)
    assert snap["snapshot"] is True and snap["seq"] == 6 and snap["ts_ms"] == 1_000
    # 10.8 + 1 x 0.55 (the taker bought NO at 1 - 0.45)
    assert fields(snap) == {"last": "0.45", "best_bid": None, "best_ask": None,
                            "change": "0.07", "prev_day_price": "0.38",
                            "volume": "11.350000", "volume_shares": 31}

    # Book levels below and at the top, in one command with a trade: one message.
    hub.publish(outcome(7, ev.BookLevel(20, 7, 1, ((300_000, 5, 0), (600_000, 0, 4))),
                        fill(20, 7, 500_000, 1, YES),
                        ev.BookLevel(20, 7, 2, ((350_000, 2, 0),))))
    [one] = drain(conn)
    assert (one["seq"], one["ts_ms"], one["snapshot"]) == (7, 20, False)
    assert (one["best_bid"], one["best_ask"], one["last"]) == ("0.35", "0.60", "0.50")
    hub.publish(outcome(8, ev.BookLevel(21, 7, 3, ((300_000, 6, 0),))))
    assert drain(conn) == []  # below the top

    # The window slid: the reference the store gives now moves; a contract without bars
    # keeps its own; an unchanged state sends nothing.
    hub.refresh_references({7: 420_000})
    [moved] = drain(conn)
    assert moved["snapshot"] is True and moved["seq"] == 8
    assert (moved["prev_day_price"], moved["change"]) == ("0.42", "0.08")
    hub.refresh_references({7: 420_000})
    assert drain(conn) == []

    # Nobody watches any more: fills still count, nothing is built for the channel.
    hub.unsubscribe(conn, "ticker:7")
    hub.publish(outcome(9, fill(30, 7, 100_000, 1, YES)))
    assert drain(conn) == [] and hub.ticker_sent == {}
    assert hub.tickers[7].volume_shares == 33
