"""The SDK on its own, against scripted transports: signing, retries, idempotency, LocalBook."""

from __future__ import annotations

import asyncio
import inspect
import json
import random
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from foretell.api.hub import Book
from foretell.client import (
    AsyncClient,
    Client,
    ConnectionFailed,
    ForetellError,
    LocalBook,
    format_price,
    to_micro,
)
from foretell.services.auth import sign as server_sign

BASE = "http://exchange.test"
KEY, SECRET = "ft_0123456789abcdef", "c2VjcmV0LXNlY3JldC1zZWNyZXQ"
Handler = Any
Json = dict[str, Any]


def client(handler: Handler, key: bool = True, **kw: Any) -> tuple[Client, list[float]]:
    sleeps: list[float] = []
    c = Client(BASE, KEY if key else None, SECRET if key else None,
               transport=httpx.MockTransport(handler), **kw)
    c._sleep = sleeps.append
    return c, sleeps


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


def error(status: int, code: str, details: Any = None,
          headers: dict[str, str] | None = None) -> httpx.Response:
    return answer(status, {"error": {"code": code, "message": code, "details": details}},
                  headers)


def server_signature(request: httpx.Request) -> str:
    """What the server computes: decoded path + "?" + raw query, body bytes as received."""
    query = request.url.query.decode()
    path = unquote(request.url.raw_path.decode().split("?")[0]) + ("?" + query if query else "")
    return server_sign(SECRET, int(request.headers["ft-timestamp"]), request.method, path,
                       request.content)


def test_signature_is_the_servers_over_the_exact_bytes_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(200, {"ok": True})

    c, _ = client(handler)
    c.place_order(market_id=3, outcome="yes", side="buy", price=570_000, size=10,
                  client_order_id="abc-1")
    c.markets(q="rate cut & more", limit=5)
    c.order_by_client_id("a:b.c-d_e")
    c.cancel_all(market_id=9)
    for request in seen:
        assert request.headers["ft-key"] == KEY
        assert request.headers["ft-signature"] == server_signature(request)
        assert "x-csrf-token" not in request.headers
    body = json.loads(seen[0].content)
    assert body == {"market_id": 3, "outcome": "yes", "side": "buy", "price": "0.57",
                    "size": 10, "client_order_id": "abc-1"}
    assert seen[1].url.query == b"q=rate+cut+%26+more&limit=5"
    assert seen[3].url.path == "/api/v1/orders" and seen[3].url.query == b"market_id=9"


def test_identical_requests_in_one_millisecond_get_distinct_signatures() -> None:
    seen: list[httpx.Request] = []
    c, _ = client(lambda r: seen.append(r) or answer(200, {}), clock=lambda: 1_700_000_000_000)
    for _ in range(5):
        c.balance()
    stamps = [int(r.headers["ft-timestamp"]) for r in seen]
    assert stamps == sorted(set(stamps)) and len(set(r.headers["ft-signature"] for r in seen)) == 5


def test_floats_are_refused_before_anything_is_sent() -> None:
    seen: list[httpx.Request] = []
    c, _ = client(lambda r: seen.append(r) or answer(200, {}))
    bad_price: Any = 0.57
    bad_size: Any = 1.0
    with pytest.raises(TypeError, match="float"):
        c.place_order(market_id=1, outcome="yes", side="buy", price=bad_price, size=1)
    with pytest.raises(TypeError):
        c.place_order(market_id=1, outcome="yes", side="buy", price="0.57", size=bad_size)
    with pytest.raises(TypeError):
        c.admin_credit(1, 10.5, "float money")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        c.place_order(market_id=1, outcome="yes", side="buy", price="0.5", size=1,
                      colour="red")  # type: ignore[typeddict-unknown-key]
    assert seen == []


def test_every_order_carries_a_client_order_id() -> None:
    seen: list[Json] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return answer(201, {"id": 1})

    c, _ = client(handler)
    c.place_order(market_id=1, outcome="no", side="sell", price="0.4", size=2)
    c.place_orders([{"market_id": 1, "outcome": "yes", "side": "buy", "price": "0.1",
                     "size": 1}])
    assert seen[0]["client_order_id"].startswith("sdk-")
    assert seen[1]["orders"][0]["client_order_id"].startswith("sdk-")


def test_5xx_and_429_are_retried_honouring_retry_after() -> None:
    script = [error(503, "internal_error"),
              error(429, "rate_limited", headers={"Retry-After": "2"}),
              answer(200, {"free": "1.000000"})]
    c, sleeps = client(lambda r: script.pop(0))
    assert c.balance() == {"free": "1.000000"}
    assert len(sleeps) == 2 and 0.04 <= sleeps[0] <= 0.1 and sleeps[1] == 2.0


def test_hard_limit_429_is_not_retried() -> None:
    calls: list[int] = []
    c, _ = client(lambda r: calls.append(1) or error(429, "too_many_orders"))
    with pytest.raises(ForetellError) as info:
        c.place_order(market_id=1, outcome="yes", side="buy", price="0.5", size=1)
    assert info.value.code == "too_many_orders" and len(calls) == 1


def test_retries_give_up_after_the_budget() -> None:
    calls: list[int] = []
    c, sleeps = client(lambda r: calls.append(1) or error(500, "internal_error"), retries=2)
    with pytest.raises(ForetellError) as info:
        c.positions()
    assert info.value.status == 500 and len(calls) == 3 and len(sleeps) == 2


def test_an_unsafe_call_is_not_resent_after_an_ambiguous_failure() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            raise httpx.ReadError("connection reset after sending")
        return answer(200, {})

    c, _ = client(handler)
    with pytest.raises(ConnectionFailed) as info:
        c.admin_credit(7, "5", "top up")
    assert info.value.status == 0 and info.value.code == "connection_error"
    assert calls == ["/api/v1/admin/credit"]
    calls.clear()
    script: list[Any] = [error(500, "internal_error")]
    c2, _ = client(lambda r: script.pop(0) if script else answer(200, {}))
    with pytest.raises(ForetellError):
        c2.admin_credit(7, "5", "top up")


def test_a_connection_that_never_opened_is_retried_for_any_call() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        return answer(200, {"free": "5.000000"})

    c, _ = client(handler)
    assert c.admin_credit(7, "5", "top up") == {"free": "5.000000"}
    assert len(calls) == 2


def test_a_lost_order_answer_never_makes_a_second_order() -> None:
    """The first POST is executed but its answer is lost; the resend is a duplicate, and the
    SDK answers with the order the first one made."""
    book: dict[str, Json] = {}
    posts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/api/v1/orders":
            body = json.loads(request.content)
            cid = body["client_order_id"]
            posts.append(cid)
            if cid in book:
                return error(409, "duplicate_client_order_id", {"order_id": book[cid]["id"]})
            book[cid] = {"id": 41, "client_order_id": cid, "status": "open"}
            raise httpx.ReadTimeout("answer lost")
        if request.url.path.startswith("/api/v1/orders/client/"):
            return answer(200, book[request.url.path.rsplit("/", 1)[1]])
        return error(404, "not_found")

    c, _ = client(handler)
    order = c.place_order(market_id=1, outcome="yes", side="buy", price="0.5", size=3)
    assert order["id"] == 41 and len(book) == 1
    assert len(posts) == 2 and posts[0] == posts[1] == order["client_order_id"]


def test_stale_timestamp_resyncs_the_clock_from_server_time() -> None:
    server_now = 1_800_000_000_000
    times: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/time":
            assert "ft-signature" not in request.headers
            return answer(200, {"server_time_ms": server_now})
        ts = int(request.headers["ft-timestamp"])
        times.append(ts)
        if abs(ts - server_now) > 30_000:
            return error(401, "stale_timestamp", {"server_time_ms": server_now})
        return answer(200, {"ok": True})

    c, _ = client(handler, clock=lambda: server_now - 90_000)
    assert c.balance() == {"ok": True}
    assert abs(c.clock_offset_ms - 90_000) <= 1 and len(times) == 2
    assert abs(times[1] - server_now) < 1_000


def test_a_replay_refusal_is_resent_with_a_fresh_signature() -> None:
    signatures: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        signatures.append(request.headers["ft-signature"])
        return error(401, "replayed_signature") if len(signatures) == 1 else answer(200, {})

    c, _ = client(handler)
    c.cancel_order(5)
    assert len(signatures) == 2 and signatures[0] != signatures[1]


def test_cookie_sessions_send_the_csrf_token_on_unsafe_methods_only() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v1/auth/login":
            return httpx.Response(200, json={"user": {"id": 1}, "csrf_token": "tok"},
                                  headers={"set-cookie": "foretell_session=s3cr3t; Path=/"})
        return answer(200, {})

    c, _ = client(handler, key=False)
    c.login("alice", "password-1")
    c.balance()
    c.cancel_all()
    assert "x-csrf-token" not in seen[1].headers and seen[2].headers["x-csrf-token"] == "tok"
    assert "ft-signature" not in seen[2].headers
    assert c.session_token == "s3cr3t"


def test_errors_keep_the_server_shape() -> None:
    c, _ = client(lambda r: error(404, "unknown_order", {"order_id": 3}))
    with pytest.raises(ForetellError) as info:
        c.order(3)
    e = info.value
    assert (e.status, e.code, e.message, e.details) == (404, "unknown_order", "unknown_order",
                                                        {"order_id": 3})
    c2, _ = client(lambda r: httpx.Response(502, text="bad gateway"), retries=0)
    with pytest.raises(ForetellError) as info2:
        c2.order(3)
    assert info2.value.code == "http_502"


def test_async_client_has_the_same_methods_as_the_sync_one() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {name: inspect.signature(fn) for name, fn in vars(cls).items()
                if callable(fn) and not name.startswith("_")}

    sync, aio = public(Client), public(AsyncClient)
    assert set(sync) == set(aio)
    for name, sig in sync.items():
        assert [p.name for p in sig.parameters.values()] == \
               [p.name for p in aio[name].parameters.values()], name
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name)), name


def test_async_client_retries_and_deduplicates_like_the_sync_one() -> None:
    made: dict[str, Json] = {}

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            cid = json.loads(request.content)["client_order_id"]
            if cid in made:
                return error(409, "duplicate_client_order_id")
            made[cid] = {"id": 7, "client_order_id": cid}
            return error(503, "internal_error")
        return answer(200, made[request.url.path.rsplit("/", 1)[1]])

    async def main() -> Json:
        sleeps: list[float] = []

        async def fake_sleep(s: float) -> None:
            sleeps.append(s)

        async with AsyncClient(BASE, KEY, SECRET,
                               transport=httpx.MockTransport(handler)) as c:
            c._sleep = fake_sleep
            return await c.place_order(contract_id=2, outcome="no", side="buy", price="0.3",
                                       size=1)

    assert asyncio.run(main())["id"] == 7 and len(made) == 1


# -- LocalBook ---------------------------------------------------------------------------------

def test_local_book_checksum_is_the_servers() -> None:
    rng = random.Random(5)
    for _ in range(50):
        server = Book()
        levels = tuple((rng.randrange(1, 100) * 10_000, rng.choice([0, 0, rng.randrange(1, 500)]),
                        rng.choice([0, rng.randrange(1, 500)])) for _ in range(rng.randrange(12)))
        server.apply(1, levels)
        local = LocalBook(1)
        assert local.load(server.snapshot(1))
        assert local.checksum() == server.checksum() and local.seq == 1


def delta(seq: int, levels: list[list[Any]], book: Book | None = None) -> Json:
    msg: Json = {"type": "delta", "channel": "book:1", "contract_id": 1, "seq": seq,
                 "levels": levels}
    if book is not None:
        book.apply(seq, tuple((to_micro(p), b, a) for p, b, a in levels))
        msg["checksum"] = book.checksum()
    return msg


def test_local_book_follows_deltas_and_ignores_old_ones() -> None:
    server = Book()
    local = LocalBook(1)
    assert local.load(server.snapshot(1))
    assert local.apply(delta(1, [["0.40", 10, 0], ["0.45", 0, 5]], server))
    assert local.apply(delta(2, [["0.40", 4, 0]], server))
    assert local.apply(delta(2, [["0.40", 99, 0]]))  # older than the copy: ignored
    assert local.bids == {400_000: 4} and local.asks == {450_000: 5}
    assert local.apply({"type": "heartbeat", "channel": "book:1", "seq": 2,
                        "checksum": server.checksum()})
    assert local.as_rest()["bids"] == [["0.40", 4]] and local.resyncs == 0


def test_local_book_resyncs_from_rest_after_a_gap_or_a_bad_checksum() -> None:
    server = Book()
    fetched: list[int] = []

    async def fetch() -> Json:
        fetched.append(server.seq)
        return server.snapshot(1)

    async def main() -> LocalBook:
        local = LocalBook(1, fetch=fetch)
        await local.on_message(delta(1, [["0.30", 3, 0]], server))  # no snapshot yet: fetch
        d2 = delta(2, [["0.31", 1, 0]], server)
        d3 = delta(3, [["0.70", 0, 8]], server)
        await local.on_message(d3)  # d2 lost: a gap
        await local.on_message(d2)  # late and old now: ignored
        local.bids[300_000] = 1  # the copy goes wrong...
        await local.on_message({"type": "heartbeat", "seq": 3, "checksum": server.checksum()})
        assert local.in_sync
        await local.on_message(delta(4, [["0.30", 0, 0]], server) | {"checksum": 12345})
        return local

    local = asyncio.run(main())
    assert local.resyncs == 4 and local.gaps == 1 and local.mismatches == 2
    assert fetched == [1, 3, 3, 4]
    assert local.checksum() == server.checksum() and local.seq == server.seq == 4
    assert local.as_rest()["asks"] == [["0.70", 8]] and format_price(310_000) == "0.31"


# -- Stream(reconnect=True) against two scripted gateways ----------------------------------------

def _fill(seq: int, order_id: int) -> Json:
    return {"type": "fill", "channel": "fills", "order_id": order_id, "contract_id": 1,
            "outcome": "yes", "side": "buy", "price": "0.50", "size": 1, "fee": "0.001",
            "liquidity": "taker", "ts_ms": 0, "seq": seq}


def test_stream_reconnects_to_the_next_gateway_and_drops_what_it_already_yielded() -> None:
    """Gateway A sends fills up to seq 7 and dies; B, behind it, sends 5 and 7 again, then 8.
    The iterator yields each fill once, a `reconnected` message between, and resubscribes."""
    from websockets.asyncio.server import ServerConnection, serve

    from foretell.client import Stream

    subscribed: list[tuple[str, list[str]]] = []

    def gateway(name: str, fills: list[Json], die: bool) -> Any:
        async def handler(ws: ServerConnection) -> None:
            request = json.loads(await ws.recv())
            assert request["op"] == "subscribe"
            subscribed.append((name, request["channels"]))
            await ws.send(json.dumps({"type": "subscribed", "id": request["id"],
                                      "channels": request["channels"]}))
            for fill in fills:
                await ws.send(json.dumps(fill))
            if die:
                ws.transport.abort()  # as a SIGKILL: no close frame
            else:
                await ws.wait_closed()
        return handler

    async def main() -> tuple[list[Json], Stream]:
        a_fills = [_fill(5, 10), _fill(5, 11), _fill(7, 12)]
        b_fills = [_fill(5, 10), _fill(5, 11), _fill(7, 12), _fill(8, 13)]
        async with serve(gateway("a", a_fills, die=True), "127.0.0.1", 0) as a, \
                serve(gateway("b", b_fills, die=False), "127.0.0.1", 0) as b:
            urls = [f"http://127.0.0.1:{s.sockets[0].getsockname()[1]}" for s in (a, b)]
            ws = Stream(urls, reconnect=True)
            await ws.connect()
            await ws.subscribe("fills")
            got = [await ws.next() for _ in range(5)]
            await ws.close()
            with pytest.raises(StopAsyncIteration):
                await ws.__anext__()  # closed by us: no reconnect
            return got, ws

    got, ws = asyncio.run(main())
    assert [(m["type"], m.get("seq"), m.get("order_id")) for m in got] == [
        ("fill", 5, 10), ("fill", 5, 11), ("fill", 7, 12), ("reconnected", None, None),
        ("fill", 8, 13)]
    assert got[3]["url"] == ws.urls[1] and got[3]["channels"] == ["fills"]
    assert got[3]["after_seq"] == {"fills": 7}
    assert subscribed == [("a", ["fills"]), ("b", ["fills"])]
    assert (ws.reconnects, ws.replays_dropped) == (1, 3)


def test_stream_gives_up_reconnecting_after_reconnect_for_s() -> None:
    from websockets.asyncio.server import ServerConnection, serve

    from foretell.client import Stream

    async def handler(ws: ServerConnection) -> None:
        ws.transport.abort()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            ws = Stream(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}",
                        reconnect=True, reconnect_for_s=0.3)
            await ws.connect()
        # the only gateway is gone: connection refused until the budget runs out
        with pytest.raises(ConnectionFailed):
            await ws.next()
        assert ws.reconnects == 0

    asyncio.run(main())
