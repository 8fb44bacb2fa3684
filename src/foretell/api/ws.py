"""WebSocket endpoint `/api/v1/ws`: subscriptions, order entry with acks, cancel-on-disconnect.

Client messages (JSON): {"op": "subscribe" | "unsubscribe", "channels": [...]},
{"op": "auth", "key": ..., "ts": ms, "signature": hex HMAC of ts + "GET/api/v1/ws"},
{"op": "place_order", "id": ..., "order": {...same body as POST /orders}},
{"op": "cancel_order", "id": ..., "order_id": n}, {"op": "cancel_on_disconnect", "enabled": bool},
{"op": "ping"}. Every reply to a request carries its "id".
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from functools import partial
from typing import Any

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from foretell.api.auth import SESSION_COOKIE, Principal, derive_secret, sign
from foretell.api.errors import ApiError
from foretell.api.hub import PRIVATE_CHANNELS, PUBLIC_PREFIXES, Connection
from foretell.api.models import OrderIn
from foretell.domain import commands as cmd
from foretell.domain.codes import Refused
from foretell.domain.outcome import Outcome
from foretell.exchange.pipeline import OUTCOME_UNKNOWN
from foretell.service import Service

router = APIRouter()
_json = msgspec.json.Encoder()
channels_per_connection_max = 200
message_bytes_max = 64 * 1024


class Session:
    def __init__(self, ws: WebSocket, svc: Service) -> None:
        self.ws = ws
        self.svc = svc
        self.principal: Principal | None = None
        self.conn = Connection(None)
        self.cancel_on_disconnect = False

    def login_by_cookie(self) -> None:
        token = self.ws.cookies.get(SESSION_COOKIE)
        session = self.svc.session(token) if token else None
        if session is not None:
            user_id, role, _ = session
            scopes = {"read", "trade"} | ({"admin"} if role == "supervisor" else set())
            self._become(Principal(user_id, role, frozenset(scopes), "session"))

    def _become(self, p: Principal) -> None:
        self.svc.hub.disconnect(self.conn)
        self.principal = p
        self.conn.account_id = p.user_id
        self.svc.hub.connect(self.conn)

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

    async def _dispatch(self, op: Any, msg: dict[str, Any], request_id: Any) -> None:
        if op == "ping":
            self.reply({"type": "pong", "id": request_id, "server_time_ms": self.svc.clock()})
        elif op in ("subscribe", "unsubscribe"):
            self._subscriptions(op, msg.get("channels"), request_id)
        elif op == "auth":
            self._auth(msg, request_id)
        elif op == "place_order":
            # Pipelined: the order is sequenced now and acknowledged once durable, while this
            # connection goes on reading. Acks come in the order the orders were sent; a request
            # refused before sequencing (schema, rate limit) is answered at once: match by id.
            p = self._trader()
            outcome = self.svc.place_nowait(p, OrderIn.model_validate(msg.get("order")))
            self.svc.when_durable(outcome, partial(self._order_durable, request_id))
        elif op == "cancel_order":
            p = self._trader()
            order_id = msg.get("order_id")
            if not isinstance(order_id, int) or isinstance(order_id, bool):
                raise ApiError(422, "invalid_request", "order_id must be an integer")
            self.reply({"type": "ack", "id": request_id,
                        "order": await self.svc.cancel(p, order_id)})
        elif op == "cancel_on_disconnect":
            self._trader()
            self.cancel_on_disconnect = bool(msg.get("enabled", True))
            self.reply({"type": "ack", "id": request_id,
                        "cancel_on_disconnect": self.cancel_on_disconnect})
        else:
            raise ApiError(422, "invalid_request", f"unknown op {op!r}")

    def _order_durable(self, request_id: Any, result: Outcome | BaseException) -> None:
        if isinstance(result, BaseException):
            self.error(request_id, "unavailable", OUTCOME_UNKNOWN)
            return
        try:
            self.reply({"type": "ack", "id": request_id, "order": self.svc.placed(result)})
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
        allowed, _, retry_s = self.svc.limiter.take(bucket)
        if not allowed:
            raise ApiError(429, "rate_limited", details={"retry_after_s": retry_s})
        return p

    def _auth(self, msg: dict[str, Any], request_id: Any) -> None:
        key_id, ts, signature = msg.get("key"), msg.get("ts"), msg.get("signature")
        if not (isinstance(key_id, str) and isinstance(ts, int) and isinstance(signature, str)):
            raise ApiError(422, "invalid_request", "auth needs key, ts (ms) and signature")
        now = self.svc.clock()
        if abs(now - ts) > self.svc.settings.signature_window_ms:
            raise ApiError(401, "stale_timestamp", details={"server_time_ms": now})
        key = self.svc.key(key_id)
        if key is None:
            raise ApiError(401, "unauthenticated", "Unknown or revoked API key.")
        expected = sign(derive_secret(self.svc.master_key, key_id), ts, "GET", "/api/v1/ws", b"")
        if not hmac.compare_digest(expected, signature):
            raise ApiError(401, "bad_signature")
        if not self.svc.replays.first_use(signature, now):
            raise ApiError(401, "replayed_signature")
        user_id, role, scopes = key
        if "admin" in scopes and role != "supervisor":
            scopes = scopes - {"admin"}
        self._become(Principal(user_id, role, scopes, "key", key_id))
        self.reply({"type": "ack", "id": request_id, "account_id": user_id,
                    "scopes": sorted(scopes)})

    def _subscriptions(self, op: str, channels: Any, request_id: Any) -> None:
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise ApiError(422, "invalid_request", "channels must be a list of strings")
        hub = self.svc.hub
        for channel in channels:
            if op == "unsubscribe":
                hub.unsubscribe(self.conn, channel)
                continue
            _check_channel(self.svc, channel, self.principal)
            if len(self.conn.channels) >= channels_per_connection_max:
                raise ApiError(429, "too_many_channels", "too many subscriptions")
            first = hub.subscribe(self.conn, channel)
            if first is not None:
                self.reply(first)
        self.reply({"type": op + "d", "id": request_id, "channels": sorted(self.conn.channels)})

    async def close(self) -> None:
        self.svc.hub.disconnect(self.conn)
        if self.cancel_on_disconnect and self.principal is not None:
            await self.svc.execute(cmd.CancelAll(0, self.principal.user_id, 0, "disconnect"))


def _check_channel(svc: Service, channel: str, p: Principal | None) -> None:
    if channel in PRIVATE_CHANNELS:
        if p is None:
            raise ApiError(401, "unauthenticated", f"'{channel}' is a private channel")
        return
    if channel == "news":
        return
    prefix, _, ident = channel.partition(":")
    if prefix + ":" not in PUBLIC_PREFIXES or not ident.isdigit() or len(ident) > 12:
        raise ApiError(422, "invalid_request", f"unknown channel {channel!r}")
    exists = (svc.engine.markets if prefix == "market" else svc.engine.contracts)
    if int(ident) not in exists:
        raise ApiError(404, "unknown_contract" if prefix != "market" else "unknown_market",
                       f"no such {prefix} {ident}")


@router.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    svc: Service = ws.app.state.service
    await ws.accept()
    session = Session(ws, svc)
    session.login_by_cookie()
    svc.hub.connect(session.conn)

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
            raw = await ws.receive_text()
            await session.handle(raw)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await session.close()
