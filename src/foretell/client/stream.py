"""`Stream`: the WebSocket API (/api/v1/ws) with request/reply, an iterator and local books.

    async with Stream.from_client(client) as ws:
        book = await ws.track_book(contract_id)          # subscribe + keep a LocalBook
        await ws.subscribe("trades:7", "orders", "fills")
        ack = await ws.place_order(contract_id=7, outcome="yes", side="buy", price="0.40", size=5)
        async for message in ws:                          # everything that is not a reply
            ...

Requests carry an `id`; the reply with the same id (ack, error, subscribed, unsubscribed, pong)
resolves the request and is not yielded by the iterator. Everything else (snapshots, deltas,
heartbeats, trades, tickers, market, orders, fills, positions, balance) is yielded in arrival
order, after tracked books have applied it. Authentication: the session cookie of a logged-in
client with its CSRF token (sent in an `auth` op: the server takes a cookie without a browser
Origin only with it), or the `auth` op signed with an API key (ts + "GET/api/v1/ws"). When the
server revokes the socket's rights (key revoked, session logged out) an {"type": "auth_revoked"}
message comes through the iterator and `account` becomes None.

Reconnecting (`reconnect=True`, for a cluster's gateways): when the socket drops, the iterator
connects again by itself, to the next base URL first (then around the list, with a short
backoff, for up to `reconnect_for_s`), authenticates, subscribes to the same channels and
re-tracks the same books (each gets its new snapshot), then yields {"type": "reconnected",
"url", "channels", "after_seq": {channel: last seq it yielded}} before anything from the new
socket. Messages sent while no socket was open are lost (the private channels send no
snapshot): catch up by REST from `after_seq`. Event messages carry the seq of the command that
caused them, and the gateway reached may be behind the one that died, so it can send again
what the old socket already delivered: on `orders`, `fills`, `positions`, `balance`,
`trades:<id>` and `market:<id>`, a message whose seq is at or below the last seq the iterator
yielded on that channel before the reconnect is dropped (counted in `replays_dropped`), so no
fill comes through twice. The reconnect happens while the iterator is being read; requests in
flight when the socket drops fail with ConnectionFailed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Unpack

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from foretell.client._core import SESSION_COOKIE, Json, normalize_base_url, ws_url
from foretell.client.aio import AsyncClient
from foretell.client.book import LocalBook
from foretell.client.endpoints import DUPLICATE, OrderFields, order_body
from foretell.client.errors import ConnectionFailed, ForetellError
from foretell.client.signing import Signer
from foretell.client.sync import Client

REPLY_TYPES = frozenset({"ack", "error", "subscribed", "unsubscribed", "pong"})
_STATUS = {"unauthenticated": 401, "stale_timestamp": 401, "replayed_signature": 401,
           "bad_signature": 401, "forbidden": 403, "csrf_failed": 403, "invalid_request": 422,
           "too_many_channels": 429, "rate_limited": 429, "internal_error": 500}
_CLOSED = object()
# Channels whose messages are events with the seq of the command that caused them.
EVENT_CHANNELS = frozenset({"orders", "fills", "positions", "balance"})
EVENT_PREFIXES = ("trades:", "market:")


def _error(reply: Mapping[str, Any]) -> ForetellError:
    error = reply.get("error") or {}
    code = str(error.get("code", "error"))
    status = _STATUS.get(code) or (404 if code.startswith("unknown_") else 409 if code in (
        "insufficient_funds", "insufficient_shares", DUPLICATE, "market_not_open",
        "post_only_would_take", "fok_not_filled", "no_liquidity", "no_position") else 400)
    return ForetellError(status, code, str(error.get("message", "")), error.get("details"))


class Stream:
    def __init__(self, base_url: str | Sequence[str], key_id: str | None = None,
                 secret: str | None = None, *,
                 session_token: str | None = None, csrf_token: str | None = None,
                 signer: Signer | None = None,
                 rest: AsyncClient | None = None, reply_timeout_s: float = 10.0,
                 max_size: int = 8 * 1024 * 1024, reconnect: bool = False,
                 reconnect_for_s: float = 30.0) -> None:
        # Several base URLs (a cluster's gateways): `connect` takes the first that answers,
        # starting after the one it last used, so connecting again after a close moves on.
        bases = [base_url] if isinstance(base_url, str) else list(base_url)
        self.urls = [ws_url(normalize_base_url(b)) for b in bases]
        self.url = self.urls[0]
        self.signer = signer or (Signer(key_id, secret) if key_id and secret else None)
        self.session_token = session_token
        self.csrf_token = csrf_token
        self.rest = rest
        self.reply_timeout_s = reply_timeout_s
        self.max_size = max_size
        self.books: dict[int, LocalBook] = {}
        self.account: Json | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._pending: dict[int, asyncio.Future[Json]] = {}
        self._next_id = 0
        self.closed = False
        # reconnecting (see the module docstring)
        self.reconnect = reconnect
        self.reconnect_for_s = reconnect_for_s
        self.channels: set[str] = set()  # what the server says this socket is subscribed to
        self.reconnects = 0
        self.replays_dropped = 0
        self._closing = False  # close() was called: the iterator ends, no reconnect
        self._last_seq: dict[str, int] = {}  # event channel -> last seq yielded
        self._resume: dict[str, int] = {}  # the same, frozen at the last reconnect

    @classmethod
    def from_client(cls, client: Client | AsyncClient, **kw: Any) -> Stream:
        """A stream with the client's credentials: its API key (and clock offset) or session."""
        rest = client if isinstance(client, AsyncClient) else None
        bases = client._core.base_urls
        i = bases.index(client.base_url)
        return cls(bases[i:] + bases[:i], session_token=client.session_token,
                   csrf_token=client.csrf_token, signer=client._core.signer, rest=rest, **kw)

    # -- connection ---------------------------------------------------------------------------

    async def connect(self) -> Stream:
        self._closing = False
        return await self._connect()

    async def _connect(self) -> Stream:
        headers = {"Cookie": f"{SESSION_COOKIE}={self.session_token}"} if (
            self.session_token and self.signer is None) else {}
        start = self.urls.index(self.url)
        if self.closed:  # connecting again: the next gateway first, subscriptions anew
            start += 1
            self._queue = asyncio.Queue()
            self._pending = {}
            self.books = {}
        failure: BaseException | None = None
        for i in range(len(self.urls)):
            url = self.urls[(start + i) % len(self.urls)]
            try:
                self._ws = await connect(url, additional_headers=headers,
                                         max_size=self.max_size, open_timeout=10)
            except (OSError, TimeoutError) as exc:  # noqa: PERF203 - try the next gateway
                failure = exc
                continue
            self.url, self.closed = url, False
            break
        else:
            assert failure is not None
            raise ConnectionFailed(f"{type(failure).__name__}: {failure}") from failure
        self._reader = asyncio.create_task(self._read())
        try:
            if self.signer is not None:
                await self.authenticate()
            elif self.session_token and self.csrf_token:
                self.account = await self._request({"op": "auth", "csrf": self.csrf_token})
        except BaseException:
            await self._close()  # a refused key or session leaves no socket behind
            raise
        return self

    async def __aenter__(self) -> Stream:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._closing = True
        await self._close()

    async def _close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self.closed = True

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                request_id = message.get("id") if isinstance(message, dict) else None
                future = self._pending.get(request_id) if isinstance(request_id, int) else None
                if future is not None and message.get("type") in REPLY_TYPES:
                    if not future.done():
                        future.set_result(message)
                else:
                    if isinstance(message, dict) and message.get("type") == "auth_revoked":
                        self.account = None
                    self._queue.put_nowait(message)
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionFailed("the WebSocket closed"))
            self._queue.put_nowait(_CLOSED)

    async def _request(self, message: dict[str, Any]) -> Json:
        if self._ws is None or self.closed:
            raise ConnectionFailed("the stream is not connected")
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._ws.send(json.dumps({**message, "id": request_id}))
            reply = await asyncio.wait_for(future, self.reply_timeout_s)
        except ConnectionClosed as exc:
            raise ConnectionFailed("the WebSocket closed") from exc
        finally:
            self._pending.pop(request_id, None)
        if reply.get("type") == "error":
            raise _error(reply)
        return reply

    # -- requests -----------------------------------------------------------------------------

    async def authenticate(self) -> Json:
        """The `auth` op with a fresh signature; resyncs the clock once on a stale timestamp."""
        assert self.signer is not None
        try:
            reply = await self._request(self.signer.ws_auth())
        except ForetellError as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            server_ms = details.get("server_time_ms")
            if exc.code != "stale_timestamp" or not isinstance(server_ms, int):
                raise
            now = self.signer.clock()
            self.signer.adjust(server_ms, now, now)
            reply = await self._request(self.signer.ws_auth())
        self.account = reply
        return reply

    async def subscribe(self, *channels: str) -> list[str]:
        reply = await self._request({"op": "subscribe", "channels": list(channels)})
        self.channels = set(reply.get("channels", []))
        return list(reply.get("channels", []))

    async def unsubscribe(self, *channels: str) -> list[str]:
        reply = await self._request({"op": "unsubscribe", "channels": list(channels)})
        self.channels = set(reply.get("channels", []))
        return list(reply.get("channels", []))

    async def ping(self) -> Json:
        return await self._request({"op": "ping"})

    async def place_order(self, **order: Unpack[OrderFields]) -> Json:
        """Place over the socket; the answer is the ack's order. Always has a client order id."""
        body = order_body(order)
        try:
            reply = await self._request({"op": "place_order", "order": body})
        except ForetellError as exc:
            if exc.code != DUPLICATE or self.rest is None:
                raise
            return await self.rest.order_by_client_id(body["client_order_id"])
        order_view: Json = reply["order"]
        return order_view

    async def cancel_order(self, order_id: int) -> Json:
        reply = await self._request({"op": "cancel_order", "order_id": order_id})
        order_view: Json = reply["order"]
        return order_view

    async def cancel_on_disconnect(self, enabled: bool = True) -> bool:
        reply = await self._request({"op": "cancel_on_disconnect", "enabled": enabled})
        return bool(reply.get("cancel_on_disconnect"))

    async def send_raw(self, text: str) -> None:
        """Send any text (for tests of the server's input checks); replies come as messages."""
        if self._ws is None:
            raise ConnectionFailed("the stream is not connected")
        await self._ws.send(text)

    # -- books --------------------------------------------------------------------------------

    async def track_book(self, contract_id: int) -> LocalBook:
        """Subscribe to book:<id> and keep a LocalBook from it (resync by REST if the stream
        has an AsyncClient, else by resubscribing)."""
        channel = f"book:{contract_id}"
        book = self.books.get(contract_id)
        if book is None:
            fetch = None
            if self.rest is not None:
                rest = self.rest

                async def fetch() -> Json:
                    return await rest.book(contract_id, depth=1_000)

            async def resubscribe() -> None:
                await self.unsubscribe(channel)
                await self.subscribe(channel)

            book = LocalBook(contract_id, fetch=fetch, resubscribe=resubscribe)
            self.books[contract_id] = book
        book.awaiting_snapshot = True
        await self.subscribe(channel)
        return book

    # -- messages -----------------------------------------------------------------------------

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> Json:
        while True:
            message = await self._queue.get()
            if message is _CLOSED:
                if self.reconnect and not self._closing:
                    return await self._reconnect()
                self._queue.put_nowait(_CLOSED)  # later readers see the end too
                raise StopAsyncIteration
            if not self._replayed(message):
                break
        channel = message.get("channel") if isinstance(message, dict) else None
        if isinstance(channel, str) and channel.startswith("book:"):
            book = self.books.get(int(channel[5:]))
            if book is not None:
                await book.on_message(message)
        result: Json = message
        return result

    def _replayed(self, message: Any) -> bool:
        """Whether an event message was already yielded before the last reconnect (else its
        seq is noted as the channel's last)."""
        if not isinstance(message, dict):
            return False
        channel, seq = message.get("channel"), message.get("seq")
        if not isinstance(channel, str) or not isinstance(seq, int) or not (
                channel in EVENT_CHANNELS or channel.startswith(EVENT_PREFIXES)):
            return False
        if seq <= self._resume.get(channel, 0):
            self.replays_dropped += 1
            return True
        if seq > self._last_seq.get(channel, 0):
            self._last_seq[channel] = seq
        return False

    async def _reconnect(self) -> Json:
        """The socket dropped: connect again (the next gateway first), subscribe to the same
        channels and books; the `reconnected` message."""
        channels, books = sorted(self.channels), self.books
        self._resume = dict(self._last_seq)
        deadline = asyncio.get_running_loop().time() + self.reconnect_for_s
        delay = 0.05
        while True:
            await self._close()  # the dead socket (or one that did not answer in time)
            try:
                await self._connect()
                self.books = books
                for book in books.values():
                    book.in_sync, book.awaiting_snapshot = False, True
                if self._closing:  # closed meanwhile
                    await self._close()
                    raise StopAsyncIteration
                if channels:
                    await self.subscribe(*channels)
                break
            except (ConnectionFailed, TimeoutError):
                if self._closing:
                    raise StopAsyncIteration from None
                if asyncio.get_running_loop().time() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        self.reconnects += 1
        return {"type": "reconnected", "url": self.url, "channels": sorted(self.channels),
                "after_seq": dict(self._resume)}

    async def next(self, timeout_s: float = 5.0) -> Json:
        """The next message, or TimeoutError."""
        return await asyncio.wait_for(self.__anext__(), timeout_s)

    async def wait_for(self, predicate: Any, timeout_s: float = 5.0) -> Json:
        """Read messages until one satisfies `predicate` (the others are consumed)."""
        async with asyncio.timeout(timeout_s):
            while True:
                message = await self.__anext__()
                if predicate(message):
                    return message
