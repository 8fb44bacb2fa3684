"""The WebSocket under hostile input (security test, issue 11), on a real server over raw sockets.

Each test is one finding: an abusive subscribe frame must not stall order acknowledgement or
health (2), a socket loses its rights the moment its key is revoked or its session logged out
(3), a cookie only logs a socket in from an allowed Origin, or with the CSRF token (5), a deeply
nested frame (7), odd channel names and binary frames (9) are answered with an error frame and
the socket stays open.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from foretell.client import Signer, Stream

Json = dict[str, Any]


def ws_url(base_url: str) -> str:
    return base_url.replace("http", "ws", 1) + "/api/v1/ws"


async def request(ws: ClientConnection, message: Json, timeout_s: float = 10.0) -> tuple[
        Json, list[Json]]:
    """Send one request; the reply with its id, and what came before it."""
    await ws.send(json.dumps(message))
    before: list[Json] = []
    async with asyncio.timeout(timeout_s):
        while True:
            got = json.loads(await ws.recv())
            if got.get("id") == message.get("id") and got.get("type") != "snapshot":
                return got, before
            before.append(got)


async def alive(ws: ClientConnection) -> list[Json]:
    """The socket still answers a ping; the messages that came before the pong."""
    reply, before = await request(ws, {"op": "ping", "id": "alive"})
    assert reply["type"] == "pong", reply
    return before


def code(reply: Json) -> str:
    assert reply["type"] == "error", reply
    return str(reply["error"]["code"])


# -- 2. one anonymous frame must not stall the exchange ----------------------------------------


def deep_book(ex: Any, trader: Any) -> int:
    """A contract whose book has ~1,000 price levels (tick 0.001): its snapshot is costly."""
    c = ex.market(tick="0.001")["contract_ids"][0]
    orders = [{"contract_id": c, "outcome": outcome, "side": "buy",
               "price": f"0.{i:03d}", "size": 1}
              for i in range(1, 500) for outcome in ("yes", "no")]
    for start in range(0, len(orders), 100):
        results = trader.api.place_orders(orders[start:start + 100])["results"]
        assert all(r["ok"] for r in results), results[:2]
    assert len(trader.api.book(c, depth=1_000)["bids"]) == 499
    return int(c)


def test_abusive_subscribe_frame_does_not_stall_orders_or_health(ex: Any, pool: Any) -> None:
    c = deep_book(ex, pool[3])
    trader = pool[2]
    other = ex.market()["contract_ids"][0]
    channel = f"book:{c}"
    repeats = (64 * 1024 - 64) // (len(channel) + 3)
    frame = json.dumps({"op": "subscribe", "channels": [channel] * repeats},
                       separators=(",", ":"))
    assert len(frame) <= 64 * 1024

    async def main() -> tuple[list[float], list[float], list[Json]]:
        health_s: list[float] = []
        order_s: list[float] = []
        async with websockets.connect(ws_url(ex.base_url), max_size=None) as ws, \
                httpx.AsyncClient(base_url=ex.base_url, timeout=60) as http, \
                trader.async_api() as api:
            for i in range(4):
                await ws.send(frame.replace('"subscribe"', f'"subscribe","id":{i}', 1))
            for i in range(10):
                start = time.monotonic()
                assert (await http.get("/api/v1/health")).status_code == 200
                health_s.append(time.monotonic() - start)
                start = time.monotonic()
                await api.place_order(contract_id=other, outcome="yes", side="buy",
                                      price=f"0.{10 + i}", size=1)
                order_s.append(time.monotonic() - start)
                await asyncio.sleep(0.05)
            await api.cancel_all()
            if max(health_s) > 1.0:  # the old server: don't wait for its flood of snapshots
                return health_s, order_s, []
            replies = await alive(ws)
            return health_s, order_s, replies

    health_s, order_s, replies = asyncio.run(main())
    assert max(health_s) < 1.0, health_s
    assert max(order_s) < 2.0, order_s
    assert all(r["type"] == "error" for r in replies), "a refused frame subscribed something"
    assert {code(r) for r in replies} <= {"too_many_channels", "rate_limited"}
    assert [r["id"] for r in replies] == [0, 1, 2, 3]


def test_subscribe_is_deduplicated_bounded_and_all_or_nothing(ex: Any) -> None:
    m = ex.market()
    c = m["contract_ids"][0]
    wide = [ex.market(outcomes=[f"Outcome {i}" for i in range(64)]) for _ in range(2)]

    def channels_of(market: Json) -> list[str]:
        return [f"market:{market['id']}"] + [f"{kind}:{cid}" for cid in market["contract_ids"]
                                             for kind in ("book", "trades", "ticker")]

    async def main() -> None:
        async with websockets.connect(ws_url(ex.base_url), max_size=None) as ws:
            reply, before = await request(ws, {"op": "subscribe", "id": 1,
                                               "channels": [f"book:{c}"] * 3})
            assert reply["channels"] == [f"book:{c}"]
            assert [m["type"] for m in before + await alive(ws)] == ["snapshot"]
            # a refused frame subscribes nothing, even its valid channels
            reply, before = await request(ws, {"op": "subscribe", "id": 2,
                                               "channels": [f"trades:{c}", "book:999999"]})
            assert code(reply) == "unknown_contract" and before == []
            reply, _ = await request(ws, {"op": "subscribe", "id": 3, "channels": []})
            assert reply["channels"] == [f"book:{c}"]
            # too many channels in one frame
            reply, _ = await request(ws, {"op": "subscribe", "id": 4,
                                          "channels": channels_of(wide[0])})
            assert code(reply) == "too_many_channels"
            # too many on one connection: the frame that would pass the bound is refused whole
            first = channels_of(wide[0])
            for n, start in enumerate(range(0, len(first), 50)):
                reply, _ = await request(ws, {"op": "subscribe", "id": 10 + n,
                                              "channels": first[start:start + 50]})
                assert reply["type"] == "subscribed", reply
            assert len(reply["channels"]) == 1 + len(first)
            reply, _ = await request(ws, {"op": "subscribe", "id": 20,
                                          "channels": channels_of(wide[1])[:50]})
            assert code(reply) == "too_many_channels"
            reply, _ = await request(ws, {"op": "unsubscribe", "id": 21, "channels": []})
            assert len(reply["channels"]) == 1 + len(first)
            await alive(ws)

    asyncio.run(main())


def test_subscribe_frames_are_rate_limited_per_connection(ex: Any) -> None:
    c = ex.market()["contract_ids"][0]

    async def main() -> list[str]:
        async with websockets.connect(ws_url(ex.base_url)) as ws:
            for i in range(100):
                await ws.send(json.dumps({"op": "subscribe", "id": i,
                                          "channels": [f"ticker:{c}"]}))
            kinds: list[str] = []
            async with asyncio.timeout(10):
                while len(kinds) < 100:
                    got = json.loads(await ws.recv())
                    if got["type"] == "ticker":
                        continue  # the channel's snapshot, after the first subscribe
                    kinds.append(got["type"] if got["type"] != "error" else code(got))
            await alive(ws)
            return kinds

    kinds = asyncio.run(main())
    assert "rate_limited" in kinds and kinds[0] == "subscribed", kinds


# -- 3. a socket loses its rights with its credentials -----------------------------------------


async def no_private_messages(ws: Stream, api: Any, contract_id: int) -> None:
    """An order of the account (placed over REST) reaches the socket's queue before the
    answer; a ping after it proves that nothing private came."""
    await asyncio.to_thread(api.place_order, contract_id=contract_id, outcome="yes",
                            side="buy", price="0.05", size=1)
    await ws.ping()
    seen = []
    while not ws._queue.empty():
        seen.append(ws._queue.get_nowait())
    assert not [m for m in seen if isinstance(m, dict) and m.get("channel") in (
        "orders", "balance")], seen


def test_revoked_key_ends_the_sockets_rights(ex: Any, pool: Any) -> None:
    a = pool[1]
    c = ex.market()["contract_ids"][0]
    key = a.session.create_api_key("ws revoke", ["read", "trade"])

    async def main() -> None:
        async with Stream(ex.base_url, key["key_id"], key["secret"]) as ws:
            await ws.subscribe("orders", "balance")
            await ws.place_order(contract_id=c, outcome="yes", side="buy", price="0.02",
                                 size=1)
            await asyncio.to_thread(a.session.revoke_api_key, key["key_id"])
            revoked = await ws.wait_for(lambda m: m.get("type") == "auth_revoked")
            assert revoked["reason"] == "api_key_revoked"
            try:
                await ws.place_order(contract_id=c, outcome="yes", side="buy", price="0.03",
                                     size=1)
                raise AssertionError("a revoked key's socket placed an order")
            except Exception as exc:  # noqa: BLE001 - the code is what matters
                assert getattr(exc, "code", None) == "unauthenticated", exc
            await no_private_messages(ws, a.session, c)
            reply = await ws._request({"op": "subscribe", "channels": []})
            assert reply["channels"] == []
        a.session.cancel_all()

    asyncio.run(main())


def test_logout_ends_the_cookie_sockets_rights(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[1]
    c = ex.market()["contract_ids"][0]
    other = ex.client()
    other.login(a.name, raw.password)

    async def main() -> None:
        async with Stream.from_client(other) as ws:
            await ws.subscribe("orders", "balance")
            await ws.place_order(contract_id=c, outcome="yes", side="buy", price="0.02",
                                 size=1)
            await asyncio.to_thread(other.logout)
            revoked = await ws.wait_for(lambda m: m.get("type") == "auth_revoked")
            assert revoked["reason"] == "logged_out"
            try:
                await ws.place_order(contract_id=c, outcome="yes", side="buy", price="0.03",
                                     size=1)
                raise AssertionError("a logged-out socket placed an order")
            except Exception as exc:  # noqa: BLE001 - the code is what matters
                assert getattr(exc, "code", None) == "unauthenticated", exc
            await no_private_messages(ws, a.api, c)
        a.api.cancel_all()

    asyncio.run(main())


def test_a_role_change_keeps_sockets_whose_credential_still_holds(ex: Any) -> None:
    """forget_user makes the account's sockets check their credential again: still valid
    (a trader approved as creator), they keep trading and their private channels."""
    t = ex.trader(usdc="100")
    c = ex.market()["contract_ids"][0]

    async def main() -> None:
        async with Stream.from_client(t.api) as by_key, \
                Stream.from_client(t.session) as by_cookie:
            for ws in (by_key, by_cookie):
                assert ws.account and ws.account["account_id"] == t.id
                await ws.subscribe("orders")
            application = await asyncio.to_thread(
                t.session.creator_apply, "I follow venture funding rounds for a living.",
                "venture funding")
            await asyncio.to_thread(ex.admin.admin_decide_application, application["id"],
                                    True, "good track record")
            for ws in (by_key, by_cookie):
                order = await ws.place_order(contract_id=c, outcome="yes", side="buy",
                                             price="0.02", size=1)
                await ws.wait_for(lambda m, o=order: m.get("order_id") == o["id"])
                assert ws.account is not None
        t.api.cancel_all()

    asyncio.run(main())


def test_public_subscriptions_survive_logging_in(ex: Any, pool: Any) -> None:
    """Logging a socket in (or out) keeps its public channels flowing."""
    a, b = pool[0], pool[1]
    c = ex.market()["contract_ids"][0]

    async def main() -> None:
        async with Stream(ex.base_url) as ws:
            await ws.subscribe(f"trades:{c}")
            ws.signer = Signer(a.key["key_id"], a.key["secret"])
            await ws.authenticate()
            await asyncio.to_thread(a.api.place_order, contract_id=c, outcome="yes",
                                    side="buy", price="0.40", size=1)
            await asyncio.to_thread(b.api.place_order, contract_id=c, outcome="no",
                                    side="buy", price="0.60", size=1)
            trade = await ws.wait_for(lambda m: m.get("channel") == f"trades:{c}")
            assert trade["size"] == 1

    asyncio.run(main())


# -- 5. a cookie logs a socket in only from an allowed origin ----------------------------------


def test_cookie_socket_checks_origin_or_csrf(ex: Any, pool: Any, raw: Any) -> None:
    a = pool[1]
    c = ex.market()["contract_ids"][0]
    browser = ex.client()
    browser.login(a.name, raw.password)
    cookie = {"Cookie": f"foretell_session={browser.session_token}"}
    order = {"contract_id": c, "outcome": "yes", "side": "buy", "price": "0.04", "size": 1}

    async def main() -> None:
        async with websockets.connect(ws_url(ex.base_url), additional_headers=cookie,
                                      origin="http://evil.example") as ws:  # type: ignore[arg-type]
            reply, _ = await request(ws, {"op": "place_order", "id": 1, "order": order})
            assert code(reply) == "unauthenticated"
            reply, _ = await request(ws, {"op": "subscribe", "id": 2, "channels": ["orders"]})
            assert code(reply) == "unauthenticated"
            reply, _ = await request(ws, {"op": "auth", "id": 3, "csrf": browser.csrf_token})
            assert code(reply) == "forbidden"
        # no Origin (not a browser): the cookie counts once the CSRF token comes with it
        async with websockets.connect(ws_url(ex.base_url), additional_headers=cookie) as ws:
            reply, _ = await request(ws, {"op": "subscribe", "id": 1, "channels": ["orders"]})
            assert code(reply) == "unauthenticated"
            reply, _ = await request(ws, {"op": "auth", "id": 2, "csrf": "wrong"})
            assert code(reply) == "csrf_failed"
            reply, _ = await request(ws, {"op": "auth", "id": 3, "csrf": browser.csrf_token})
            assert reply["type"] == "ack" and reply["account_id"] == a.id
            reply, _ = await request(ws, {"op": "subscribe", "id": 4, "channels": ["orders"]})
            assert reply["channels"] == ["orders"]
        # the web UI: same origin, the cookie alone
        async with websockets.connect(ws_url(ex.base_url), additional_headers=cookie,
                                      origin=ex.base_url) as ws:
            reply, _ = await request(ws, {"op": "subscribe", "id": 1, "channels": ["orders"]})
            assert reply["channels"] == ["orders"]
            reply, _ = await request(ws, {"op": "place_order", "id": 2, "order": order})
            assert reply["type"] == "ack", reply
        a.api.cancel_all()

    asyncio.run(main())


# -- 7, 9. bad input is answered, never a dropped socket ---------------------------------------


def test_deeply_nested_frames_are_answered(ex: Any) -> None:
    async def main() -> list[Json]:
        async with websockets.connect(ws_url(ex.base_url)) as ws:
            replies = []
            for text in ("[" * 1_100 + "]" * 1_100,
                         '{"op": "ping", "x": ' + "[" * 1_100 + "]" * 1_100 + "}",
                         '{"op": "place_order", "order": ' + '{"a": ' * 1_100 + "1"
                         + "}" * 1_101):
                await ws.send(text)
                replies.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            await alive(ws)
            return replies

    replies = asyncio.run(main())
    assert [code(r) for r in replies] == ["invalid_request"] * 3


def test_odd_channel_names_and_binary_frames_are_answered(ex: Any) -> None:
    c = ex.market()["contract_ids"][0]
    digits = str(c)
    odd = [f"book:{'0' + digits}", "book:\u00b2", "book:" + "".join(
        chr(0x660 + int(d)) for d in digits), "book:" + "".join(
        chr(0xFF10 + int(d)) for d in digits), f"book:+{digits}", f"book: {digits}",
        f"book:{digits} ", "book:-1", "book:" + "9" * 40, "book:", "trades:\u00b2",
        f"market:0{digits}", "ticker:1e3"]

    async def main() -> list[str]:
        async with websockets.connect(ws_url(ex.base_url)) as ws:
            codes = []
            for i, channel in enumerate(odd):
                reply, before = await request(ws, {"op": "subscribe", "id": i,
                                                   "channels": [channel]})
                assert before == [], (channel, before)
                codes.append(code(reply))
            await ws.send(b'{"op": "ping", "id": "binary"}')
            codes.append(code(json.loads(await asyncio.wait_for(ws.recv(), 10))))
            await ws.send(b"\xff\xfe")
            codes.append(code(json.loads(await asyncio.wait_for(ws.recv(), 10))))
            reply, _ = await request(ws, {"op": "subscribe", "id": "ok",
                                          "channels": [f"book:{c}"]})
            assert reply["channels"] == [f"book:{c}"]
            return codes

    codes = asyncio.run(main())
    assert codes == ["invalid_request"] * (len(odd) + 2)
