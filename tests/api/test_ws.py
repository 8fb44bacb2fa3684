"""The WebSocket API through the SDK's Stream on a real server: book snapshot and deltas kept
in a LocalBook (equal to the REST book after traffic, and resyncing by itself after an injected
gap or corruption), trades/ticker/market channels, private channels, order entry with acks,
cancel-on-disconnect, and access control."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import pytest
import websockets

from foretell.client import AsyncClient, ForetellError, LocalBook, Signer, Stream, sign, to_micro

Json = dict[str, Any]


def on(channel: str, kind: str | None = None) -> Any:
    return lambda m: m.get("channel") == channel and (kind is None or m.get("type") == kind)


async def traffic(a: AsyncClient, b: AsyncClient, contract_id: int, n: int, seed: int) -> None:
    """Random limit orders, cancels and amends from two traders on one contract."""
    rng = random.Random(seed)
    resting: list[tuple[AsyncClient, int]] = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.2 and resting:
            client, order_id = resting.pop(rng.randrange(len(resting)))
            try:
                await client.cancel_order(order_id)
            except ForetellError as exc:  # filled meanwhile
                assert exc.code == "unknown_order"
            continue
        if roll < 0.3 and resting:
            client, order_id = rng.choice(resting)
            try:
                await client.amend_order(order_id, size=1)
            except ForetellError as exc:
                assert exc.code == "unknown_order"
            continue
        client = rng.choice((a, b))
        order = await client.place_order(
            contract_id=contract_id, outcome=rng.choice(("yes", "no")), side="buy",
            price=rng.randrange(30, 71) * 10_000, size=rng.randrange(1, 6))
        if order["status"] == "open":
            resting.append((client, order["id"]))


async def same_as_rest(book: LocalBook, rest: AsyncClient, ws: Stream) -> None:
    target = (await rest.book(book.contract_id, depth=1_000))["seq"]
    if book.seq < target:
        await ws.wait_for(lambda m: book.seq >= target and book.in_sync, timeout_s=10)
    truth = await rest.book(book.contract_id, depth=1_000)
    mine = book.as_rest()
    assert {k: mine[k] for k in ("seq", "checksum", "bids", "asks")} == {
        k: truth[k] for k in ("seq", "checksum", "bids", "asks")}


def test_local_book_follows_snapshot_and_deltas(ex: Any, pool: Any) -> None:
    c = ex.market()["contract_ids"][0]

    async def main() -> LocalBook:
        async with AsyncClient(ex.base_url) as rest, Stream(ex.base_url, rest=rest) as ws, \
                pool[0].async_api() as a, pool[1].async_api() as b:
            book = await ws.track_book(c)
            snapshot = await ws.wait_for(on(f"book:{c}", "snapshot"))
            assert snapshot["seq"] == 0 and book.in_sync and book.bids == book.asks == {}
            await traffic(a, b, c, 40, seed=7)
            await same_as_rest(book, rest, ws)
            beat = await ws.wait_for(on(f"book:{c}", "heartbeat"), timeout_s=3)
            assert beat["seq"] == book.seq and beat["checksum"] == book.checksum()
            return book

    book = asyncio.run(main())
    assert book.seq > 20 and book.resyncs == book.gaps == book.mismatches == 0
    assert book.bids or book.asks


def test_local_book_resyncs_after_a_gap_or_corruption(ex: Any, pool: Any) -> None:
    c = ex.market()["contract_ids"][0]

    async def main() -> tuple[LocalBook, LocalBook]:
        async with AsyncClient(ex.base_url) as rest, Stream(ex.base_url, rest=rest) as ws, \
                Stream(ex.base_url) as bare, \
                pool[0].async_api() as a, pool[1].async_api() as b:
            by_rest = await ws.track_book(c)
            by_resubscribe = await bare.track_book(c)
            await traffic(a, b, c, 10, seed=1)
            await same_as_rest(by_rest, rest, ws)
            await same_as_rest(by_resubscribe, rest, bare)

            # 1. a delta that skips a seq: resync from REST at once
            await by_rest.on_message({"type": "delta", "channel": f"book:{c}",
                                      "seq": by_rest.seq + 2, "levels": [["0.5", 99, 0]],
                                      "checksum": 1})
            assert (by_rest.gaps, by_rest.resyncs, by_rest.in_sync) == (1, 1, True)
            await same_as_rest(by_rest, rest, ws)
            # 2. the copy goes wrong with no traffic: the next heartbeat catches it
            by_rest.bids[10_000] = 7
            await ws.wait_for(lambda m: by_rest.resyncs == 2, timeout_s=3)
            assert by_rest.mismatches == 1 and 10_000 not in by_rest.bids
            # 3. the copy goes wrong, then traffic: the next delta's checksum catches it
            by_rest.asks[990_000] = 3
            await traffic(a, b, c, 5, seed=2)
            await same_as_rest(by_rest, rest, ws)
            assert by_rest.mismatches == 2 and by_rest.resyncs == 3

            # 4. without REST: a gap makes the stream resubscribe for a fresh snapshot
            await by_resubscribe.on_message({"type": "delta", "channel": f"book:{c}",
                                             "seq": by_resubscribe.seq + 5, "levels": []})
            assert by_resubscribe.awaiting_snapshot and by_resubscribe.resyncs == 1
            await bare.wait_for(on(f"book:{c}", "snapshot"))
            assert by_resubscribe.in_sync
            await traffic(a, b, c, 5, seed=3)
            await same_as_rest(by_resubscribe, rest, bare)
            await same_as_rest(by_rest, rest, ws)
            return by_rest, by_resubscribe

    by_rest, by_resubscribe = asyncio.run(main())
    assert by_rest.gaps == 1 and by_resubscribe.gaps == 1


def test_trades_ticker_and_market_channels(ex: Any, pool: Any) -> None:
    m = ex.market()
    c = m["contract_ids"][0]
    a, b = pool[0], pool[1]

    async def main() -> None:
        async with Stream(ex.base_url) as ws:
            channels = await ws.subscribe(f"trades:{c}", f"ticker:{c}", f"market:{m['id']}")
            assert channels == sorted([f"trades:{c}", f"ticker:{c}", f"market:{m['id']}"])
            await asyncio.to_thread(a.api.place_order, contract_id=c, outcome="yes",
                                    side="buy", price="0.40", size=3)
            await asyncio.to_thread(b.api.place_order, contract_id=c, outcome="no",
                                    side="buy", price="0.60", size=2)
            trade = await ws.wait_for(on(f"trades:{c}", "trade"))
            assert (trade["price"], trade["size"], trade["taker_side"]) == ("0.40", 2, "buy_no")
            # (the subscribe snapshot and the resting bid sent tickers before, with no last)
            ticker = await ws.wait_for(lambda m: on(f"ticker:{c}", "ticker")(m)
                                       and m["last"] is not None)
            assert ticker["last"] == "0.40"

            await asyncio.to_thread(ex.admin.admin_set_market_status, m["id"], "halted",
                                    "breaking news")
            halted = await ws.wait_for(on(f"market:{m['id']}", "market"))
            assert (halted["status"], halted["reason"]) == ("halted", "breaking news")
            await asyncio.to_thread(ex.admin.admin_set_market_status, m["id"], "open",
                                    "resumed")
            assert (await ws.wait_for(on(f"market:{m['id']}", "market")))["status"] == "open"

            assert await ws.unsubscribe(f"trades:{c}") == sorted(
                [f"ticker:{c}", f"market:{m['id']}"])
            await asyncio.to_thread(a.api.place_order, contract_id=c, outcome="yes",
                                    side="buy", price="0.45", size=1)
            await asyncio.to_thread(b.api.place_order, contract_id=c, outcome="no",
                                    side="buy", price="0.55", size=1)
            seen = []
            await ws.wait_for(lambda msg: seen.append(msg) or msg.get("type") == "ticker")
            assert not [s for s in seen if s.get("type") == "trade"]

    asyncio.run(main())


def test_private_channels_follow_the_account(ex: Any, pool: Any) -> None:
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]
    private = ("orders", "fills", "positions", "balance")

    async def main() -> tuple[list[Json], list[Json], int, int]:
        async with Stream(ex.base_url, a.key["key_id"], a.key["secret"]) as wa, \
                Stream.from_client(b.session) as wb:
            assert wa.account and wa.account["account_id"] == a.id
            assert sorted(await wa.subscribe(*private)) == sorted(private)
            await wb.subscribe(*private)
            bid = await asyncio.to_thread(a.api.place_order, contract_id=c, outcome="yes",
                                          side="buy", price="0.40", size=5,
                                          client_order_id=f"ws-{time.time_ns()}")
            accepted = await wa.wait_for(lambda m: m.get("type") == "order"
                                         and m.get("order_id") == bid["id"])
            assert accepted["event"] == "accepted"
            assert accepted["client_order_id"] == bid["client_order_id"]
            taker = await asyncio.to_thread(b.api.place_order, contract_id=c, outcome="no",
                                            side="buy", price="0.60", size=2)
            got_a: list[Json] = []
            got_b: list[Json] = []
            # per command: fills, then balances, then positions of every account it touched
            await wa.wait_for(lambda m: got_a.append(m) or (
                m.get("type") == "position" and m.get("yes") == 2))
            await wb.wait_for(lambda m: got_b.append(m) or (
                m.get("type") == "position" and m.get("no") == 2))
            return got_a, got_b, bid["id"], taker["id"]

    got_a, got_b, bid_id, taker_id = asyncio.run(main())
    fill_a = [m for m in got_a if m["type"] == "fill"][0]
    assert (fill_a["order_id"], fill_a["liquidity"], fill_a["price"], fill_a["size"]) == (
        bid_id, "maker", "0.40", 2)
    assert [m for m in got_a if m["type"] == "position"][-1]["yes"] == 2
    balances = [to_micro(m["reserved"]) for m in got_a if m["type"] == "balance"]
    assert balances[0] - balances[-1] == 2 * 400_000 + 800  # 2 of 5 filled: less held
    fill_b = [m for m in got_b if m["type"] == "fill"][0]
    assert (fill_b["order_id"], fill_b["liquidity"], fill_b["price"], fill_b["outcome"]) == (
        taker_id, "taker", "0.60", "no")
    assert [m for m in got_b if m["type"] == "position"][-1]["no"] == 2
    done = [m for m in got_b if m["type"] == "order" and m["event"] == "done"][0]
    assert (done["order_id"], done["reason"], done["filled"]) == (taker_id, "filled", 2)
    # each account sees only its own side
    assert all(m.get("order_id") != taker_id for m in got_a)
    assert all(m.get("order_id") != bid_id for m in got_b)


def test_order_entry_over_the_socket(ex: Any, pool: Any) -> None:
    a = pool[0]
    c = ex.market()["contract_ids"][0]

    async def main() -> None:
        async with a.async_api() as rest, Stream.from_client(rest) as ws:
            order = await ws.place_order(contract_id=c, outcome="yes", side="buy",
                                         price="0.20", size=2)
            assert order["status"] == "open" and order["client_order_id"].startswith("sdk-")
            again = await ws.place_order(contract_id=c, outcome="yes", side="buy",
                                         price="0.20", size=2,
                                         client_order_id=order["client_order_id"])
            assert again["id"] == order["id"]
            many = await asyncio.gather(*(ws.place_order(
                contract_id=c, outcome="no", side="buy", price=f"0.{50 + i}", size=1)
                for i in range(5)))
            assert sorted(o["price"] for o in many) == ["0.50", "0.51", "0.52", "0.53", "0.54"]
            assert len({o["id"] for o in many}) == 5
            cancelled = await ws.cancel_order(order["id"])
            assert cancelled["status"] == "cancelled" and cancelled["id"] == order["id"]
            for call, code in (
                    (ws.cancel_order(order["id"]), "unknown_order"),
                    (ws.place_order(contract_id=c, outcome="yes", side="buy", price="0.205",
                                    size=1), "invalid_tick"),
                    (ws.place_order(contract_id=c, outcome="yes", side="buy", price="0.20",
                                    size=10**10), "invalid_request")):
                with pytest.raises(ForetellError) as info:
                    await call
                assert info.value.code == code
            pong = await ws.ping()
            assert pong["type"] == "pong" and pong["server_time_ms"] > 0
            assert (await rest.book(c))["asks"] == [["0.46", 1], ["0.47", 1], ["0.48", 1],
                                                    ["0.49", 1], ["0.50", 1]]
            await rest.cancel_all(market_id=(await rest.order(many[0]["id"]))["market_id"])

    asyncio.run(main())


def test_cancel_on_disconnect(ex: Any, pool: Any, until: Any) -> None:
    e = pool[4]
    c = ex.market()["contract_ids"][0]
    e.api.cancel_all()

    async def session(cancel_on_disconnect: bool) -> list[int]:
        async with Stream.from_client(e.session) as ws:
            if cancel_on_disconnect:
                assert await ws.cancel_on_disconnect(True) is True
            return [(await ws.place_order(contract_id=c, outcome="yes", side="buy",
                                          price=price, size=1))["id"]
                    for price in ("0.10", "0.11")]

    kept = asyncio.run(session(False))
    assert [e.api.order(i)["status"] for i in kept] == ["open", "open"]
    dropped = asyncio.run(session(True))
    until(lambda: all(e.api.order(i)["status"] == "cancelled" for i in dropped + kept))
    assert {e.api.order(i)["reason"] for i in dropped} == {"disconnect"}
    assert e.api.orders(status="open")["orders"] == []


def test_socket_access_control(ex: Any, pool: Any) -> None:
    a = pool[0]
    key_id, secret = a.key["key_id"], a.key["secret"]
    read = a.session.create_api_key("ws read", ["read"])
    ws_url = ex.base_url.replace("http", "ws", 1) + "/api/v1/ws"

    async def main() -> None:
        async with Stream(ex.base_url) as anonymous:
            for call, code in ((anonymous.subscribe("orders"), "unauthenticated"),
                               (anonymous.subscribe("fills"), "unauthenticated"),
                               (anonymous.subscribe("positions"), "unauthenticated"),
                               (anonymous.subscribe("balance"), "unauthenticated"),
                               (anonymous.place_order(contract_id=1, outcome="yes", side="buy",
                                                      price="0.5", size=1), "unauthenticated"),
                               (anonymous.cancel_order(1), "unauthenticated"),
                               (anonymous.cancel_on_disconnect(True), "unauthenticated"),
                               (anonymous.subscribe("nonsense:1"), "invalid_request"),
                               (anonymous.subscribe("book:999999"), "unknown_contract"),
                               (anonymous.subscribe("market:999999"), "unknown_market")):
                with pytest.raises(ForetellError) as info:
                    await call
                assert info.value.code == code
            await anonymous.send_raw("{not json")
            bad = await anonymous.wait_for(lambda m: m.get("type") == "error")
            assert bad["id"] is None and bad["error"]["code"] == "invalid_request"
            with pytest.raises(ForetellError) as info:
                await anonymous._request({"op": "dance"})
            assert info.value.code == "invalid_request"

        async with Stream(ex.base_url, read["key_id"], read["secret"]) as reader:
            assert sorted(await reader.subscribe("orders", "fills", "positions", "balance")) \
                == ["balance", "fills", "orders", "positions"]
            for call in (reader.place_order(contract_id=1, outcome="yes", side="buy",
                                            price="0.5", size=1),
                         reader.cancel_order(1), reader.cancel_on_disconnect(True)):
                with pytest.raises(ForetellError) as info:
                    await call
                assert (info.value.status, info.value.code) == (403, "forbidden")

        with pytest.raises(ForetellError) as info:
            async with Stream(ex.base_url, key_id, secret + "x"):
                pass
        assert info.value.code == "bad_signature"
        with pytest.raises(ForetellError) as info:
            async with Stream(ex.base_url, "ft_doesnotexist00", secret):
                pass
        assert info.value.code == "unauthenticated"

        skewed = Signer(key_id, secret, clock=lambda: time.time_ns() // 1_000_000 - 90_000)
        async with Stream(ex.base_url, signer=skewed) as late:  # resyncs its clock once
            assert late.account and late.account["account_id"] == a.id
            assert abs(skewed.offset_ms - 90_000) < 10_000

        # A second ago: inside the window, and never the ms the SDK streams above signed at
        # (the same ms would be the same signature, refused as a replay).
        now = time.time_ns() // 1_000_000 - 1_000
        auth = {"op": "auth", "key": key_id, "ts": now, "id": 1,
                "signature": sign(secret, now, "GET", "/api/v1/ws", b"")}
        stale = dict(auth, ts=now - 60_000, id=2,
                     signature=sign(secret, now - 60_000, "GET", "/api/v1/ws", b""))
        async with websockets.connect(ws_url) as raw:
            replies = []
            for message in (auth, auth, stale):
                await raw.send(json.dumps(message))
                replies.append(json.loads(await raw.recv()))
        assert replies[0]["type"] == "ack" and replies[0]["account_id"] == a.id
        assert replies[1]["error"]["code"] == "replayed_signature"
        assert replies[2]["error"]["code"] == "stale_timestamp"
        assert isinstance(replies[2]["error"]["details"]["server_time_ms"], int)

    asyncio.run(main())
