"""`POST /api/v1/orders` without FastAPI's per-request machinery.

Order entry is the busiest REST call, and FastAPI's routing, dependency solving and response
serialization cost about two thirds of its CPU. This ASGI middleware answers it directly with
the same pieces the route uses (`principal_or_none`, `authorize`, `OrderIn`, `Services.place`)
and the same error shape. Only a well-formed JSON order is taken: anything else (another content
type, bad JSON, a body that fails validation) goes on to FastAPI with its body intact, so those
answers stay FastAPI's own. The route itself stays declared for OpenAPI.
"""

from __future__ import annotations

import json
import logging

import msgspec
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foretell.api.deps import authorize, principal_or_none
from foretell.api.errors import EXTRA_DESCRIPTIONS, ApiError, body, status_of
from foretell.domain.codes import Refused
from foretell.exchange.pipeline import journal_message
from foretell.journal.log import JournalError
from foretell.services.requests import OrderIn

log = logging.getLogger(__name__)
PATH = "/api/v1/orders"
body_bytes_max = 64 * 1024
_json = msgspec.json.Encoder()


class OrderFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        raw, replay = await _read_body(receive)
        order = _order(scope, raw)
        if order is None:
            await self.app(scope, replay, send)
            return
        status, payload, headers = await _place(scope, replay, order)
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())]})
        await send({"type": "http.response.body", "body": payload})


async def _place(scope: Scope, receive: Receive,
                 order: OrderIn) -> tuple[int, bytes, dict[str, str]]:
    request = Request(scope, receive)  # a signed request's check reads the body again
    response = Response()  # collects the rate-limit headers, as FastAPI's Response parameter
    try:
        svc = scope["app"].state.service
        p = authorize(await principal_or_none(request, response), "trade")
        view = await svc.trading.place(p, order)
        headers = {k: v for k, v in response.headers.items()
                   if k not in ("content-length", "content-type")}
        return 201, _json.encode(view), headers
    except Refused as exc:
        extra = exc.headers if isinstance(exc, ApiError) else None
        return status_of(exc), _json.encode(body(exc.code, exc.message, exc.details)), \
            extra or {}
    except JournalError as exc:  # as errors.install answers it on the FastAPI side
        return 503, _json.encode(body("unavailable", journal_message(exc))), {}
    except Exception:
        log.exception("unexpected error on POST %s", PATH)
        return 500, _json.encode(body("internal_error", EXTRA_DESCRIPTIONS["internal_error"])), {}


def _order(scope: Scope, raw: bytes | None) -> OrderIn | None:
    """The order if the request is a well-formed JSON order; None leaves it to FastAPI."""
    if raw is None:
        return None
    content_type = b""
    for name, value in scope["headers"]:
        if name == b"content-type":  # the first one, as Starlette reads it
            content_type = value
            break
    if content_type.split(b";")[0].strip().lower() != b"application/json":
        return None
    try:
        return OrderIn.model_validate(json.loads(raw))
    except (ValueError, ValidationError, RecursionError):  # JSONDecodeError is a ValueError;
        return None  # nesting deeper than the parser's stack goes on to FastAPI's answer too


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (None past `body_bytes_max` or on a disconnect), and a receive callable
    that hands everything read so far over again, then the rest of the stream."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, _replay(messages, receive)
        size += len(message.get("body", b""))
        if size > body_bytes_max:
            return None, _replay(messages, receive)
        if not message.get("more_body", False):
            raw = b"".join(m.get("body", b"") for m in messages)
            return raw, _replay(messages, receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


__all__ = ["OrderFastPath"]
