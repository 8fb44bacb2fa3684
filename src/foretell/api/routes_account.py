"""Sign up, log in and out, the account, API keys, and the portfolio."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse

from foretell.api.auth import SESSION_COOKIE
from foretell.api.deps import Ascii, Reader, Svc, require
from foretell.api.edge import edge_of
from foretell.api.errors import ApiError
from foretell.domain import commands as cmd
from foretell.services import Services, demo_credit_micro, present
from foretell.services.auth import Principal
from foretell.services.requests import ApiKeyIn, LoginIn, SignupIn
from foretell.store import queries

router = APIRouter(tags=["account"])
Authenticated = require("read")


def _set_session(response: Response, svc: Services, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=svc.settings.secure_cookies,
                        max_age=svc.settings.session_ttl_ms // 1000,
                        domain=svc.settings.cookie_domain or None)


@router.post("/auth/signup", status_code=201)
async def signup(body: SignupIn, response: Response, svc: Services = Svc) -> dict[str, Any]:
    """Create a trader account (with demo USDC when the demo is on) and log in."""
    # Argon2 hashing takes a while: keep it off the event loop that runs the exchange.
    user_id = await asyncio.to_thread(svc.accounts.create_user, body.username, body.password, "trader",
                                      body.display_name)
    if svc.settings.demo:
        await svc.execute(cmd.Deposit(0, user_id, demo_credit_micro, "demo welcome credit"))
    token, csrf = svc.accounts.new_session(user_id)
    _set_session(response, svc, token)
    return {"user": svc.accounts.user(user_id), "csrf_token": csrf}


@router.post("/auth/login")
def login(body: LoginIn, request: Request, response: Response,
          svc: Services = Svc) -> dict[str, Any]:
    """Log in with a cookie session. After 10 failures for a username in 5 minutes, or 30 from
    an address in a minute, attempts are refused with 429 before any password is checked."""
    limits = edge_of(request).login_limits
    ticket = limits.attempt(body.username, request.client.host if request.client else "-")
    token, csrf, user_id = svc.accounts.login(body.username, body.password)
    limits.succeeded(ticket)
    _set_session(response, svc, token)
    return {"user": svc.accounts.user(user_id), "csrf_token": csrf}


@router.post("/auth/logout")
def logout(request: Request, response: Response, p: Principal = Reader,
           svc: Services = Svc) -> dict[str, bool]:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        svc.accounts.logout(token)
    response.delete_cookie(SESSION_COOKIE, domain=svc.settings.cookie_domain or None)
    return {"logged_out": True}


@router.get("/account")
def account(request: Request, p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    out = svc.accounts.user(p.user_id) or {}
    out["scopes"] = sorted(p.scopes)
    out["via"] = p.via
    if p.via == "session":
        session = svc.accounts.session(request.cookies.get(SESSION_COOKIE, ""))
        out["csrf_token"] = session[2] if session else None
    return out


@router.get("/account/api-keys")
def list_keys(p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    return {"api_keys": svc.accounts.keys(p.user_id)}


@router.post("/account/api-keys", status_code=201)
def create_key(body: ApiKeyIn, p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    """A new key; the secret is in this answer only. Keys never exceed the session's rights."""
    if p.via != "session":
        raise ApiError(403, "forbidden", "API keys are managed from a logged-in session.")
    if "admin" in body.scopes and not p.is_supervisor:
        raise ApiError(403, "forbidden", "Only supervisors may create admin keys.")
    return svc.accounts.create_key(p.user_id, body.label, list(body.scopes))


@router.delete("/account/api-keys/{key_id}")
def revoke_key(key_id: str, p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    if p.via != "session":
        raise ApiError(403, "forbidden", "API keys are managed from a logged-in session.")
    if len(key_id) > 64 or not svc.accounts.revoke_key(p.user_id, key_id):
        raise ApiError(404, "unknown_api_key", "No such live API key.")
    return {"key_id": key_id, "revoked": True}


@router.get("/portfolio/balance")
async def balance(p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    """Free and reserved cash, and what each reservation is for."""
    return svc.portfolio.balance(p.user_id)


@router.get("/portfolio/positions")
async def positions(p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    await svc.read_your_writes(p.user_id)
    with svc.db.connect() as conn:
        rows = queries.positions(conn, p.user_id)
    return {"positions": present.rows(rows)}


@router.get("/portfolio/fills")
async def fills(cursor: Annotated[int | None, Query(), Ascii] = None,
                limit: Annotated[int, Query(), Ascii] = 100, p: Principal = Reader,
                svc: Services = Svc) -> dict[str, Any]:
    if limit < 1 or limit > 500 or (cursor is not None and not 0 <= cursor <= 2**53):
        raise ApiError(422, "invalid_request", "limit 1..500, cursor >= 0")
    await svc.read_your_writes(p.user_id)
    with svc.db.connect() as conn:
        rows, next_cursor = queries.fills(conn, p.user_id, cursor=cursor, limit=limit)
    return {"fills": present.order_rows(rows), "next_cursor": next_cursor}


@router.get("/portfolio/settlements")
async def settlements(p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    await svc.read_your_writes(p.user_id)
    with svc.db.connect() as conn:
        rows, _ = queries.settlements(conn, p.user_id, limit=500)
        return {"settlements": present.rows(rows)}


@router.get("/portfolio/cash")
async def cash(p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    await svc.read_your_writes(p.user_id)
    with svc.db.connect() as conn:
        rows, _ = queries.cash_movements(conn, p.user_id, limit=500)
        return {"movements": present.rows(rows)}


@router.get("/portfolio/export.csv", response_class=PlainTextResponse)
async def export_fills(p: Principal = Reader, svc: Services = Svc) -> PlainTextResponse:
    """Every fill of the account as CSV (prices and amounts in USDC)."""
    await svc.read_your_writes(p.user_id)
    out = io.StringIO()
    writer = csv.writer(out)
    header: list[str] = []
    cursor = None
    with svc.db.connect() as conn:
        while True:
            rows, cursor = queries.fills(conn, p.user_id, cursor=cursor, limit=500)
            for row in present.order_rows(rows):
                if not header:
                    header = list(row)
                    writer.writerow(header)
                writer.writerow([row[k] for k in header])
            if cursor is None:
                break
    return PlainTextResponse(out.getvalue(), media_type="text/csv", headers={
        "Content-Disposition": "attachment; filename=foretell-fills.csv"})
