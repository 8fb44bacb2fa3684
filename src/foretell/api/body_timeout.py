"""A bound on the time to receive a request body: 408 instead of a connection held open.

uvicorn times out idle keep-alive connections but not a request whose body never finishes
(a Content-Length larger than what is sent): the handler would wait in `receive()` forever.
This middleware, outermost, gives each HTTP request `timeout_s` from its start to receive its
whole body. Past that, the `receive()` the app is waiting in raises `BodyTimeout` (a 408
HTTPException, so FastAPI's body reading lets it through to the error handler); one that
escapes the app (the order fast path reads the body itself) is answered here. The answer
closes the connection, whose unread body would otherwise be read as the next request.

Once the body is complete, `receive()` is passed through untimed (it then only waits for a
disconnect). The cost on a request is one timer armed and disarmed (`_Guard`).
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
        guard = _Guard(receive, self.timeout_s)
        try:
            await self.app(scope, guard.receive, send)
        except BodyTimeout:
            # The body is read before any answer starts, so none has; were one started,
            # the server would refuse this second start and the error would go up as before.
            payload = _json_error()
            await send({"type": "http.response.start", "status": 408, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": payload})
        finally:
            guard.close()


class _Guard:
    """One timer per request, armed at the first `receive()` and disarmed when the body is
    complete; if it fires while the request's task waits in `receive()`, that wait is
    cancelled and turned into `BodyTimeout`. (An `asyncio.timeout` around every `receive()`
    would do the same at several times the cost on the order path.)"""

    __slots__ = ("_receive", "_deadline", "_timer", "_task", "_waiting", "_expired", "_done")

    def __init__(self, receive: Receive, timeout_s: float) -> None:
        self._receive = receive
        self._deadline = asyncio.get_running_loop().time() + timeout_s
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[object] | None = None
        self._waiting = False
        self._expired = False
        self._done = False

    async def receive(self) -> Message:
        if self._done:  # the body is in: the app may wait for a disconnect, unbounded
            return await self._receive()
        if self._expired:
            raise BodyTimeout()
        if self._timer is None:
            self._task = asyncio.current_task()
            self._timer = asyncio.get_running_loop().call_at(self._deadline, self._expire)
        self._waiting = True
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if self._expired and self._task is not None and self._task.uncancel() == 0:
                self._done = True
                raise BodyTimeout() from None
            raise
        finally:
            self._waiting = False
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._done = True
            self._timer.cancel()
        return message

    def _expire(self) -> None:
        self._expired = True
        if self._waiting and self._task is not None:
            self._task.cancel()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _json_error() -> bytes:
    return json.dumps(error_body("request_timeout", _MESSAGE)).encode()


__all__ = ["BodyTimeout", "BodyTimeoutMiddleware"]
