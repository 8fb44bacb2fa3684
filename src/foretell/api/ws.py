"""WebSocket endpoint `/api/v1/ws`: subscriptions, order entry with acks, cancel-on-disconnect.

Client messages (JSON text frames): {"op": "subscribe" | "unsubscribe", "channels": [...]},
{"op": "auth", "key": ..., "ts": ms, "signature": hex HMAC of ts + "GET/api/v1/ws"},
{"op": "auth", "csrf": token} (log in with the session cookie, see below),
{"op": "place_order", "id": ..., "order": {...same body as POST /orders}},
{"op": "cancel_order", "id": ..., "order_id": n}, {"op": "cancel_on_disconnect", "enabled": bool},
{"op": "ping"}. Every reply to a request carries its "id".

Every frame is answered, never dropped with the socket: bad JSON, JSON nested too deep, a
binary frame, an unknown op or channel get {"type": "error", "error": {"code":
"invalid_request", ...}}; a bug while handling a frame gets "internal_error" (and is logged).

Channels are canonical names: `book:<id>`, `trades:<id>`, `ticker:<id>`, `market:<id>` with the
id in ASCII digits, no leading zero, at most 12 digits; `news`; the private `orders`, `fills`,
`positions`, `balance`. Anything else (`book:0002`, `book:²`) is `invalid_request`.

Subscribe limits, so that no frame can stall the loop that acknowledges orders: a frame lists at
most `channels_per_frame_max` channels (duplicates count once in what it does, but the list's
length is what is bounded) and a connection holds at most `channels_per_connection_max`; past
either the frame is refused whole with `too_many_channels` (429) and subscribes nothing. A frame
is checked whole before anything is subscribed: one bad channel refuses it all. Subscribe
frames are rate limited per connection (`subscribe_frames_per_s`, burst
`subscribe_frames_burst`) and, for anonymous connections, per client IP (settings
`ws_ip_subscribe_per_s` / `ws_ip_subscribe_burst`): `rate_limited` (429) with
`details.retry_after_s`. Book snapshots are built once per book seq and shared (hub.py), and
the loop is yielded to between the snapshots of one frame.

Cookie login and the Origin (cross-site WebSocket hijacking): a handshake whose Origin is one
of the configured public origins (setting `public_origins`, FORETELL_PUBLIC_ORIGINS) or the
origin of the Host it names is logged in by the session cookie at once (the web UI). A foreign
Origin (another site, "null") never uses the cookie: the socket is anonymous, and
{"op": "auth", "csrf": ...} is refused with `forbidden`. No Origin at all (not a browser) with a
cookie: anonymous until {"op": "auth", "csrf": <the session's CSRF token>} (the SDK does this;
`csrf_failed` if the token is wrong). An API-key `auth` frame works from anywhere.

Revocation: when the socket's API key is revoked or its session logged out, the socket is
downgraded at once, not closed: it leaves the private channels, it can no longer trade, and it
gets {"type": "auth_revoked", "reason": "api_key_revoked" | "logged_out" | "account_changed" |
"account_suspended", "channels": [what it still has]}; public channels go on. If it had asked for
cancel-on-disconnect, its account's orders are cancelled as on a disconnect (the trading
session it was bound to has ended). When an account's role or standing changes, its sockets
check their credential again: kept with the new rights if still valid, else downgraded so. A
suspended account's sockets are downgraded at once, whatever credential they used.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from functools import partial
from typing import Any

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from foretell.api.auth import SESSION_COOKIE, TokenBucket, check_signature_time
from foretell.api.edge import edge_of
from foretell.api.errors import ApiError
from foretell.api.hub import PRIVATE_CHANNELS, PUBLIC_PREFIXES, Connection
from foretell.config import Settings
from foretell.domain import commands as cmd
from foretell.domain.codes import Refused
from foretell.domain.outcome import Outcome
from foretell.exchange.pipeline import OUTCOME_UNKNOWN
from foretell.services import Services
from foretell.services.auth import Principal, derive_secret, sha256_hex, sign
from foretell.services.requests import OrderIn

router = APIRouter()
log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()
_ID = re.compile(r"0|[1-9][0-9]{0,11}", re.ASCII)  # canonical channel ids, fullmatch
channels_per_frame_max = 50
channels_per_connection_max = 200
message_bytes_max = 64 * 1024
subscribe_frames_per_s = 10.0
subscribe_frames_burst = 30


class Session:
    def __init__(self, ws: WebSocket, svc: Services) -> None:
        self.ws = ws
        self.svc = svc
        self.edge = edge_of(ws)
        self.principal: Principal | None = None
        self.conn = Connection(None)
        self.conn.on_auth_change = self._auth_changed
        self.cancel_on_disconnect = False
        self.ip = ws.client.host if ws.client else ""
        self.frames = TokenBucket(subscribe_frames_per_s, subscribe_frames_burst)
        self.origin_ok = _origin_allowed(ws, svc.settings)  # None: no Origin header
        # A foreign origin never gets to use the cookie, not even with a CSRF token.
        self.cookie = ws.cookies.get(SESSION_COOKIE) if self.origin_ok is not False else None
        self._tasks: set[asyncio.Task[Any]] = set()

    def login_by_cookie(self) -> None:
        """At the handshake: only a browser page of an allowed origin logs in by cookie alone."""
        if self.origin_ok and self.cookie:
            p = self._session_principal()
            if p is not None:
                self._become(p)

    def _session_principal(self) -> Principal | None:
        session = self.svc.accounts.session(self.cookie) if self.cookie else None
        if session is None:
            return None
        user_id, role, _ = session
        scopes = {"read", "trade"} | ({"admin"} if role == "supervisor" else set())
        return Principal(user_id, role, frozenset(scopes), "session")

    def _key_principal(self, key_id: str) -> Principal | None:
        key = self.svc.accounts.key(key_id)
        if key is None:
            return None
        user_id, role, scopes = key
        if "admin" in scopes and role != "supervisor":
            scopes = scopes - {"admin"}
        return Principal(user_id, role, scopes, "key", key_id)

    def _become(self, p: Principal) -> None:
        self.principal = p
        credential = "k:" + p.key_id if p.via == "key" else "s:" + sha256_hex(self.cookie or "")
        self.edge.hub.bind(self.conn, p.user_id, credential)

    def _auth_changed(self, reason: str) -> None:
        """From the hub, on the loop: the credential was revoked or the account changed."""
        p = self.principal
        if p is None:
            return
        if reason == "account_changed":
            fresh = self._key_principal(p.key_id) if p.via == "key" else \
                self._session_principal()
            if fresh is not None:
                self._become(fresh)
                return
        self._revoke(p, reason)

    def _revoke(self, p: Principal, reason: str) -> None:
        hub = self.edge.hub
        self.principal = None
        for channel in PRIVATE_CHANNELS:
            hub.unsubscribe(self.conn, channel)
        hub.bind(self.conn, None, None)
        if p.via == "session":
            self.cookie = None
        self.reply({"type": "auth_revoked", "reason": reason,
                    "channels": sorted(self.conn.channels)})
        if self.cancel_on_disconnect:
            self.cancel_on_disconnect = False
            task = asyncio.get_running_loop().create_task(self._cancel_all(p.user_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _cancel_all(self, account_id: int) -> None:
        await self.svc.execute(cmd.CancelAll(0, account_id, 0, "disconnect"))

    def reply(self, message: dict[str, Any]) -> None:
        self.conn.send(_json.encode(message))

    def error(self, request_id: Any, code: str, message: str, details: Any = None) -> None:
        self.reply({"type": "error", "id": request_id,
                    "error": {"code": code, "message": message, "details": details}})

    async def handle(self, raw: str) -> None:
        if len(raw) > message_bytes_max:
            self.error(None, "invalid_request", "message too large")
            return
        try:
            msg = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            self.error(None, "invalid_request", "not JSON")
            return
        except RecursionError:
            self.error(None, "invalid_request", "JSON nested too deep")
            return
        if not isinstance(msg, dict):
            self.error(None, "invalid_request", "expected a JSON object")
            return
        request_id = msg.get("id")
        op = msg.get("op")
        try:
            await self._dispatch(op, msg, request_id)
        except Refused as exc:
            self.error(request_id, exc.code, exc.message, exc.details)
        except ValidationError as exc:
            self.error(request_id, "invalid_request", "order does not match the schema",
                       [{"loc": [str(x) for x in e["loc"]], "msg": e["msg"]}
                        for e in exc.errors()])
        except RecursionError:
            self.error(request_id, "invalid_request", "JSON nested too deep")
        except Exception:  # a bug: answer and log it, the socket and its subscriptions stay
            log.exception("WebSocket op %.40r failed", op)
            self.error(request_id, "internal_error", "The server failed to handle this message.")

    def binary(self) -> None:
        self.error(None, "invalid_request", "binary frames are not accepted: send JSON as text")

    async def _dispatch(self, op: Any, msg: dict[str, Any], request_id: Any) -> None:
        if op == "ping":
            self.reply({"type": "pong", "id": request_id, "server_time_ms": self.svc.clock()})
        elif op in ("subscribe", "unsubscribe"):
            await self._subscriptions(op, msg.get("channels"), request_id)
        elif op == "auth":
            if "csrf" in msg:
                self._auth_csrf(msg.get("csrf"), request_id)
            else:
                self._auth(msg, request_id)
        elif op == "place_order":
            # Pipelined: the order is sequenced now and acknowledged once durable, while this
            # connection goes on reading. Acks come in the order the orders were sent; a request
            # refused before sequencing (schema, rate limit) is answered at once: match by id.
            p = self._trader()
            outcome = self.svc.trading.place_nowait(p, OrderIn.model_validate(msg.get("order")))
            self.svc.node.when_durable(outcome, partial(self._order_durable, request_id))
        elif op == "cancel_order":
            p = self._trader()
            order_id = msg.get("order_id")
            if not isinstance(order_id, int) or isinstance(order_id, bool):
                raise ApiError(422, "invalid_request", "order_id must be an integer")
            self.reply({"type": "ack", "id": request_id,
                        "order": await self.svc.trading.cancel(p, order_id)})
        elif op == "cancel_on_disconnect":
            self._trader()
            self.cancel_on_disconnect = bool(msg.get("enabled", True))
            self.reply({"type": "ack", "id": request_id,
                        "cancel_on_disconnect": self.cancel_on_disconnect})
        else:
            raise ApiError(422, "invalid_request", f"unknown op {str(op)[:40]!r}")

    def _order_durable(self, request_id: Any, result: Outcome | BaseException) -> None:
        if isinstance(result, BaseException):
            self.error(request_id, "unavailable", OUTCOME_UNKNOWN)
            return
        try:
            self.reply({"type": "ack", "id": request_id, "order": self.svc.trading.placed(result)})
        except Refused as exc:
            self.error(request_id, exc.code, exc.message, exc.details)

    def _trader(self) -> Principal:
        """The caller, allowed to trade and within its rate limit (shared with REST)."""
        p = self.principal
        if p is None:
            raise ApiError(401, "unauthenticated")
        if "trade" not in p.scopes:
            raise ApiError(403, "forbidden", "This needs the 'trade' scope.")
        bucket = f"k:{p.key_id}" if p.key_id else f"u:{p.user_id}"
        allowed, _, retry_s = self.edge.limiter.take(bucket)
        if not allowed:
            raise ApiError(429, "rate_limited", details={"retry_after_s": retry_s})
        return p

    def _auth(self, msg: dict[str, Any], request_id: Any) -> None:
        key_id, ts, signature = msg.get("key"), msg.get("ts"), msg.get("signature")
        if not (isinstance(key_id, str) and isinstance(ts, int) and isinstance(signature, str)):
            raise ApiError(422, "invalid_request", "auth needs key, ts (ms) and signature")
        now = self.svc.clock()
        check_signature_time(ts, now, self.svc.settings.signature_window_ms,
                             self.edge.replays.started_ms)
        p = self._key_principal(key_id)
        if p is None:
            raise ApiError(401, "unauthenticated", "Unknown or revoked API key.")
        expected = sign(derive_secret(self.svc.master_key, key_id), ts, "GET", "/api/v1/ws", b"")
        if not hmac.compare_digest(expected, signature):
            raise ApiError(401, "bad_signature")
        if not self.edge.replays.first_use(signature, now):
            raise ApiError(401, "replayed_signature")
        self._become(p)
        self.reply({"type": "ack", "id": request_id, "account_id": p.user_id,
                    "scopes": sorted(p.scopes)})

    def _auth_csrf(self, csrf: Any, request_id: Any) -> None:
        """Log in with the session cookie, proven wanted by the session's CSRF token."""
        if self.origin_ok is False:
            raise ApiError(403, "forbidden", "This origin may not use the session cookie.")
        session = self.svc.accounts.session(self.cookie) if self.cookie else None
        if session is None:
            raise ApiError(401, "unauthenticated", "No live session cookie on this socket.")
        if not isinstance(csrf, str) or not hmac.compare_digest(
                csrf.encode(), session[2].encode()):
            raise ApiError(403, "csrf_failed")
        p = self._session_principal()
        if p is None:
            raise ApiError(401, "unauthenticated", "No live session cookie on this socket.")
        self._become(p)
        self.reply({"type": "ack", "id": request_id, "account_id": p.user_id,
                    "scopes": sorted(p.scopes)})

    async def _subscriptions(self, op: str, channels: Any, request_id: Any) -> None:
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise ApiError(422, "invalid_request", "channels must be a list of strings")
        if len(channels) > channels_per_frame_max:
            raise ApiError(429, "too_many_channels",
                           f"at most {channels_per_frame_max} channels per frame",
                           {"channels_per_frame_max": channels_per_frame_max})
        hub = self.edge.hub
        wanted = list(dict.fromkeys(channels))
        if op == "unsubscribe":
            for channel in wanted:
                hub.unsubscribe(self.conn, channel)
            self.reply({"type": "unsubscribed", "id": request_id,
                        "channels": sorted(self.conn.channels)})
            return
        self._take_subscribe_frame()
        for channel in wanted:
            _check_channel(self.svc, channel, self.principal)
        new = [c for c in wanted if c not in self.conn.channels]
        if len(self.conn.channels) + len(new) > channels_per_connection_max:
            raise ApiError(429, "too_many_channels",
                           f"at most {channels_per_connection_max} channels per connection",
                           {"channels_per_connection_max": channels_per_connection_max})
        # Everything without a snapshot first, in one go (private channels are subscribed
        # before any yield, so a revocation meanwhile drops them too), then the books, with a
        # yield to the loop after each: order acks and other sockets go first.
        books = [c for c in new if c.startswith("book:")]
        for channel in new:
            if not channel.startswith("book:"):
                hub.subscribe(self.conn, channel)
        for channel in books:
            first = hub.subscribe(self.conn, channel)
            if first is not None:
                self.conn.send(first)
            await asyncio.sleep(0)
        self.reply({"type": "subscribed", "id": request_id,
                    "channels": sorted(self.conn.channels)})

    def _take_subscribe_frame(self) -> None:
        allowed, _, retry_s = self.frames.take("frames")
        if allowed and self.principal is None:
            allowed, _, retry_s = self.edge.hub.ip_frames.take(self.ip)
        if not allowed:
            raise ApiError(429, "rate_limited", "too many subscribe frames",
                           {"retry_after_s": retry_s})

    async def close(self) -> None:
        self.edge.hub.disconnect(self.conn)
        self.conn.on_auth_change = None
        if self.cancel_on_disconnect and self.principal is not None:
            await self.svc.execute(cmd.CancelAll(0, self.principal.user_id, 0, "disconnect"))


def _origin_allowed(ws: WebSocket, settings: Settings) -> bool | None:
    """Whether the handshake's Origin may use the session cookie: None when there is no
    Origin (not a browser), True for a public origin or the origin of the Host it names."""
    origin = ws.headers.get("origin")
    if origin is None:
        return None
    origin = origin.strip().rstrip("/").lower()
    if origin in settings.allowed_origins:
        return True
    scheme, sep, netloc = origin.partition("://")
    host = ws.headers.get("host", "").strip().lower()
    return bool(sep and host) and scheme in ("http", "https") and netloc == host


def _check_channel(svc: Services, channel: str, p: Principal | None) -> None:
    if channel in PRIVATE_CHANNELS:
        if p is None:
            raise ApiError(401, "unauthenticated", f"'{channel}' is a private channel")
        return
    if channel == "news":
        return
    prefix, _, ident = channel.partition(":")
    if prefix + ":" not in PUBLIC_PREFIXES or not _ID.fullmatch(ident):
        raise ApiError(422, "invalid_request", f"unknown channel {channel[:40]!r}")
    exists = (svc.engine.markets if prefix == "market" else svc.engine.contracts)
    if int(ident) not in exists:
        raise ApiError(404, "unknown_contract" if prefix != "market" else "unknown_market",
                       f"no such {prefix} {ident}")


@router.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    svc: Services = ws.app.state.service
    await ws.accept()
    session = Session(ws, svc)
    session.edge.hub.connect(session.conn)
    session.login_by_cookie()

    async def sender() -> None:
        while True:
            payload = await session.conn.queue.get()
            await ws.send_text(payload.decode())
            if session.conn.dropped:
                await ws.close(1013, "too slow: resubscribe and resync")
                return

    task = asyncio.create_task(sender())
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                session.binary()
            else:
                await session.handle(text)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await session.close()
