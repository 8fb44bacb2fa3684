"""One error shape for every refusal: {"error": {"code", "message", "details"}}.

Engine refusal codes map to HTTP statuses here; nothing from user input becomes a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from foretell.domain import codes
from foretell.domain.codes import Refused
from foretell.exchange.pipeline import journal_message
from foretell.journal.log import JournalError

log = logging.getLogger(__name__)

_STATUS: dict[str, int] = {
    codes.UNKNOWN_ACCOUNT: 404,
    codes.UNKNOWN_ORDER: 404,
    codes.UNKNOWN_TRIGGER: 404,
    codes.UNKNOWN_MARKET: 404,
    codes.UNKNOWN_CONTRACT: 404,
    codes.NOT_OWNER: 404,  # never confirm that another account's order exists
    codes.INSUFFICIENT_FUNDS: 409,
    codes.INSUFFICIENT_SHARES: 409,
    codes.MARKET_NOT_OPEN: 409,
    codes.POST_ONLY_WOULD_TAKE: 409,
    codes.FOK_NOT_FILLED: 409,
    codes.NO_LIQUIDITY: 409,
    codes.NO_POSITION: 409,
    codes.DUPLICATE_CLIENT_ORDER_ID: 409,
    codes.DUPLICATE_MARKET: 409,
    codes.INVALID_TRANSITION: 409,
    codes.TOO_MANY_ORDERS: 429,
    codes.TOO_MANY_TRIGGERS: 429,
    # the application's own refusals
    "invalid_request": 422,
    "unavailable": 503,
    "unauthenticated": 401,
    "forbidden": 403,
    # account suspension (services/accounts.py)
    "account_suspended": 403,
    "unknown_user": 404,
    "cannot_suspend_self": 403,
    "cannot_suspend_supervisor": 403,
    "already_suspended": 409,
    "not_suspended": 409,
    "invalid_reason": 422,
    "rate_limited": 429,
    "slug_taken": 409,
    "username_taken": 409,
    codes.UNKNOWN_ORDER_GROUP: 404,
    codes.ORDER_GROUP_TRIGGERED: 409,
    codes.TOO_MANY_ORDER_GROUPS: 429,
    "application_pending": 409,
    "already_creator": 409,
    "unknown_application": 404,
    "already_decided": 409,
    "unknown_creator": 404,
    "rules_frozen": 409,
    "incomplete_rules": 422,
    # the news desk
    "unknown_feed": 404,
    "unknown_news": 404,
    "duplicate_feed": 409,
    "duplicate_news": 409,
    "invalid_feed_url": 422,
    "invalid_link": 422,
    "too_many_feeds": 429,
    # real USDC (chain/)
    "withdrawals_halted": 503,
    "invalid_address": 400,
    "address_checksum": 400,
    "exchange_address": 400,
    "invalid_amount": 400,
    "amount_too_small": 400,
    "amount_too_large": 400,
    "duplicate_request_id": 409,
    "withdrawals_frozen": 409,
    "daily_limit_exceeded": 409,
    "unknown_withdrawal": 404,
    "unknown_alert": 404,
    "reserves_still_short": 409,
    "funding_disabled": 404,
}

EXTRA_DESCRIPTIONS = {
    "invalid_request": "The request body or parameters do not match the schema.",
    "unauthenticated": "Credentials are missing or invalid.",
    "forbidden": "These credentials may not do that.",
    "stale_timestamp": "The signed timestamp is too far from the server's clock.",
    "replayed_signature": "This exact signed request was already used.",
    "bad_signature": "The request signature does not match.",
    "csrf_failed": "Missing or wrong CSRF token for a cookie-authenticated change.",
    "rate_limited": "Too many requests; retry after the given number of seconds.",
    "not_found": "No such resource.",
    "conflict": "The request conflicts with the current state.",
    "internal_error": "An unexpected error; nothing was changed by the failed step.",
    "unavailable": "The exchange stopped taking commands: its journal failed. An operator must "
                   "restart it; orders already acknowledged are safe.",
    "request_timeout": "The request body did not arrive in time; nothing was done.",
}


class ApiError(Refused):
    """A refusal that only the HTTP edge makes (credentials, CSRF, rate limits, schema), with
    its status; the application's refusals are `Refused` and get theirs from `status_of`."""

    def __init__(self, status: int, code: str, message: str = "",
                 details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(code, message or codes.DESCRIPTIONS.get(code)
                         or EXTRA_DESCRIPTIONS.get(code, code), details)
        self.status = status
        self.headers = headers


def status_of(exc: Refused) -> int:
    return exc.status if isinstance(exc, ApiError) else _STATUS.get(exc.code, 400)


def refusal(code: str, details: Any = None) -> ApiError:
    """An engine refusal as an API error."""
    if code == codes.NOT_OWNER:
        code = codes.UNKNOWN_ORDER
    return ApiError(_STATUS.get(code, 400), code, details=details)


def body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def install(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> JSONResponse:
        headers = exc.headers if isinstance(exc, ApiError) else None
        return JSONResponse(body(exc.code, exc.message or EXTRA_DESCRIPTIONS.get(exc.code, exc.code),
                                 exc.details), status_of(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                   for e in exc.errors()]
        return JSONResponse(body("invalid_request", EXTRA_DESCRIPTIONS["invalid_request"],
                                 details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers 400 when it cannot read a JSON body at all (nested past the
        # parser's depth, say): for the client that is one more invalid request.
        code = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed",
                401: "unauthenticated", 403: "forbidden",
                408: "request_timeout"}.get(exc.status_code, "http_error")
        return JSONResponse(body(code, str(exc.detail)), exc.status_code,
                            getattr(exc, "headers", None))

    @app.exception_handler(JournalError)
    async def _journal(request: Request, exc: JournalError) -> JSONResponse:
        return JSONResponse(body("unavailable", journal_message(exc)), 503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(body("internal_error", EXTRA_DESCRIPTIONS["internal_error"]), 500)
