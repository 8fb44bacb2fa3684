"""Request dependencies: the service, the caller (session or signed key), scopes, rate limits."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from pydantic import BeforeValidator

from foretell.api.auth import SESSION_COOKIE, check_signature_time, path_with_query, require_csrf
from foretell.api.edge import edge_of
from foretell.api.errors import ApiError
from foretell.services import Services
from foretell.services.auth import Principal, derive_secret, sign


def _service(request: Request) -> Services:
    svc: Services = request.app.state.service
    return svc


async def service(request: Request) -> Services:
    """The Services, as a dependency (async, so FastAPI does not hop to its threadpool)."""
    return _service(request)


async def principal_or_none(request: Request, response: Response) -> Principal | None:
    """The authenticated caller, if any; bad credentials are refused, not ignored."""
    svc = _service(request)
    key_id = request.headers.get("ft-key")
    found: Principal | None = None
    if key_id:
        found = await _signed(request, svc, key_id)
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            session = svc.accounts.session(token)
            if session is not None:
                user_id, role, csrf = session
                require_csrf(request, csrf)
                scopes = {"read", "trade"} | ({"admin"} if role == "supervisor" else set())
                found = Principal(user_id, role, frozenset(scopes), "session")
    bucket = (f"k:{found.key_id}" if found and found.key_id else
              f"u:{found.user_id}" if found else
              f"ip:{request.client.host if request.client else '-'}")
    allowed, remaining, retry_s = edge_of(request).limiter.take(bucket)
    headers = edge_of(request).limiter.headers(remaining, retry_s)
    response.headers.update(headers)
    if not allowed:
        raise ApiError(429, "rate_limited", details={"retry_after_s": retry_s}, headers=headers)
    return found


async def _signed(request: Request, svc: Services, key_id: str) -> Principal:
    now = svc.clock()
    ts_ms = check_signature_time(request.headers.get("ft-timestamp", ""), now,
                                 svc.settings.signature_window_ms, edge_of(request).replays.started_ms)
    key = svc.accounts.key(key_id)
    signature = request.headers.get("ft-signature", "")
    if key is None:
        raise ApiError(401, "unauthenticated", "Unknown or revoked API key.")
    body = await request.body()
    expected = sign(derive_secret(svc.master_key, key_id), ts_ms, request.method,
                    path_with_query(request), body)
    if not hmac.compare_digest(expected, signature):
        raise ApiError(401, "bad_signature")
    if not edge_of(request).replays.first_use(signature, now):
        raise ApiError(401, "replayed_signature")
    user_id, role, scopes = key
    if "admin" in scopes and role != "supervisor":
        scopes = scopes - {"admin"}
    return Principal(user_id, role, scopes, "key", key_id)


def authorize(p: Principal | None, scope: str) -> Principal:
    """The caller if it holds `scope` (admin also needs the supervisor role), else a refusal."""
    if p is None:
        raise ApiError(401, "unauthenticated")
    if scope not in p.scopes or (scope == "admin" and not p.is_supervisor):
        raise ApiError(403, "forbidden", f"This needs the '{scope}' scope"
                       + (" and the supervisor role." if scope == "admin" else "."))
    return p


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    async def dependency(p: Principal | None = Depends(principal_or_none)) -> Principal:
        return authorize(p, scope)

    return dependency


def ascii_int(value: object) -> object:
    """A path or query integer as plain ASCII digits. Left to pydantic's lax mode, "1.0",
    "+1", " 1" and "1_0" would all be read as numbers (and `int()` takes "١" too)."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit() and len(value) <= 20):
            raise ValueError("must be a whole number in ASCII digits")
        return int(value)
    return value


Ascii = BeforeValidator(ascii_int)
"""Put last in an int path or query parameter's Annotated (after its Path or Query), as
`Annotated[int, Query(ge=1, le=500), Ascii] = 100`: FastAPI drops it from the type when the
Query is given as the default value instead."""
IdPath = Annotated[int, Path(ge=1, le=2**53), Ascii]
Reader = Depends(require("read"))
Trader = Depends(require("trade"))
Admin = Depends(require("admin"))
Anyone = Depends(principal_or_none)
Svc = Depends(service)

__all__ = ["Reader", "Trader", "Admin", "Anyone", "Svc", "Any", "Ascii", "IdPath"]
