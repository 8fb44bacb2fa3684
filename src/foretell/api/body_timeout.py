"""A bound on the time to receive a request body: 408 instead of a connection held open.

uvicorn times out idle keep-alive connections but not a request whose body never finishes
(a Content-Length larger than what is sent): the handler would wait in `receive()` forever.
This middleware, outermost, gives each HTTP request `timeout_s` from its start to receive its
whole body. Past that, the `receive()` the app is waiting in raises `BodyTimeout` (a 408
HTTPException, so FastAPI's body reading lets it through to the error handler); one that
escapes the app (the order fast path reads the body itself) is answered here. The answer
closes the connection, whose unread body would otherwise be read as the next request.

Once the body is complete, `receive()` is passed through untimed (it then only waits for a
disconnect). A body already received costs one `asyncio.timeout` per message.
"""

from __future__ import annotations

import asyncio
import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foretell.api.errors import EXTRA_DESCRIPTIONS
from foretell.api.errors import body as error_body

_MESSAGE = EXTRA_DESCRIPTIONS["request_timeout"]


class BodyTimeout(HTTPException):
    def __init__(self) -> None:
        super().__init__(408, _MESSAGE, headers={"Connection": "close"})


class BodyTimeoutMiddleware:
    def __init__(self, app: ASGIApp, timeout_s: float = 10.0) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        body_done = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                body_done = True  # the app may still wait for a disconnect: not bounded again
                raise BodyTimeout() from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except BodyTimeout:
            if started:
                raise
            payload = _json_error()
            await send({"type": "http.response.start", "status": 408, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": payload})


def _json_error() -> bytes:
    return json.dumps(error_body("request_timeout", _MESSAGE)).encode()


__all__ = ["BodyTimeout", "BodyTimeoutMiddleware"]
