"""Operator endpoints: accounts (with suspension), USDC credits with a reason, markets, audit.
Supervisors only."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter

from foretell.api.deps import Admin, IdPath, Svc
from foretell.api.errors import ApiError
from foretell.domain.units import UnitError, format_micro, parse_micro
from foretell.engine.audit import audit
from foretell.services import Services
from foretell.services.auth import Principal
from foretell.services.requests import (
    CreditIn,
    MarketIn,
    MarketStatusIn,
    SettleIn,
    SuspendIn,
    VoidIn,
)
from foretell.store import schema as t

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/accounts")
async def accounts(p: Principal = Admin, svc: Services = Svc) -> dict[str, Any]:
    """Every account with its cash: the users from the store (read off the loop, in full),
    then the balances from the engine (on the loop, one consistent state)."""

    def read() -> list[dict[str, Any]]:
        with svc.db.connect() as conn:
            users = conn.execute(sa.select(
                t.users.c.id, t.users.c.username, t.users.c.role, t.users.c.created_ms,
                t.users.c.disabled).order_by(t.users.c.id)).mappings().all()
            last = sa.select(sa.func.max(t.user_events.c.id)).group_by(
                t.user_events.c.user_id).scalar_subquery()
            events = {e["user_id"]: e for e in conn.execute(sa.select(t.user_events).where(
                t.user_events.c.id.in_(last))).mappings()}
        return [_account_row(u, events.get(u["id"])) for u in users]

    users = await svc.off_loop(read)
    return {"accounts": [u | {k: v for k, v in svc.portfolio.balance(u["id"]).items()
                              if k in ("free", "reserved")} for u in users]}


def _account_row(user: Any, last: Any) -> dict[str, Any]:
    """`suspended`: by a supervisor (with `suspension`: when, by whom, why); a disabled login
    with no suspension on record (the demo's bot accounts) is `login_disabled`."""
    out = {k: user[k] for k in ("id", "username", "role", "created_ms")}
    suspended = bool(user["disabled"]) and last is not None and last["kind"] == "suspended"
    out["suspended"] = suspended
    out["login_disabled"] = bool(user["disabled"]) and not suspended
    if suspended:
        out["suspension"] = {"ts_ms": last["ts_ms"], "by": last["actor"],
                             "reason": last["reason"]}
    return out


_SUSPEND_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "`cannot_suspend_self` or `cannot_suspend_supervisor`"},
    404: {"description": "`unknown_user`"},
    409: {"description": "`already_suspended` (suspend) or `not_suspended` (reinstate)"},
}


@router.post("/users/{user_id}/suspend", responses=_SUSPEND_ERRORS)
async def suspend(user_id: IdPath, body: SuspendIn, p: Principal = Admin,
                  svc: Services = Svc) -> dict[str, Any]:
    """Suspend a trader or creator: they can no longer log in (`account_suspended`), their
    sessions end, their API keys are refused until reinstated (not revoked), their resting and
    trigger orders are cancelled, and their live WebSockets lose private channels and trading at
    once (`auth_revoked` with reason `account_suspended`). Cash and positions are untouched.
    A supervisor (so also oneself) cannot be suspended (403). The reason is kept on record."""
    return await svc.accounts.suspend(user_id, body.reason, p.user_id)


@router.post("/users/{user_id}/reinstate", responses=_SUSPEND_ERRORS)
async def reinstate(user_id: IdPath, body: SuspendIn, p: Principal = Admin,
                    svc: Services = Svc) -> dict[str, Any]:
    """Lift a suspension: the account can log in again and its unrevoked API keys work again.
    Cancelled orders stay cancelled. The reason is kept on record."""
    return await svc.accounts.reinstate(user_id, body.reason, p.user_id)


@router.post("/credit")
async def credit(body: CreditIn, p: Principal = Admin, svc: Services = Svc) -> dict[str, Any]:
    """Credit (positive) or debit (negative) an account's USDC, with a reason on record."""
    negative = body.amount.startswith("-")
    try:
        amount = parse_micro(body.amount.lstrip("-"))
    except UnitError as exc:
        raise ApiError(400, "invalid_amount", str(exc)) from exc
    if svc.accounts.user(body.account_id) is None:
        raise ApiError(404, "unknown_account", "No such account.")
    return await svc.accounts.credit(body.account_id, -amount if negative else amount,
                            f"{body.reason} (by {p.user_id})", p.user_id)


@router.post("/markets", status_code=201)
async def create_market(body: MarketIn, p: Principal = Admin,
                        svc: Services = Svc) -> dict[str, Any]:
    return await svc.markets.create_market(body, p.user_id)


@router.post("/markets/{market_id}/status")
async def set_status(market_id: IdPath, body: MarketStatusIn, p: Principal = Admin,
                     svc: Services = Svc) -> dict[str, Any]:
    return await svc.markets.set_market_status(market_id, body.status, body.reason, p.user_id)


@router.post("/markets/{market_id}/settle")
async def settle(market_id: IdPath, body: SettleIn, p: Principal = Admin,
                 svc: Services = Svc) -> dict[str, Any]:
    return await svc.markets.settle(market_id, body.winner_index, p.user_id)


@router.post("/markets/{market_id}/void")
async def void(market_id: IdPath, body: VoidIn, p: Principal = Admin,
               svc: Services = Svc) -> dict[str, Any]:
    return await svc.markets.void(market_id, body.reason, p.user_id)


@router.get("/audit")
async def audit_now(p: Principal = Admin, svc: Services = Svc) -> dict[str, Any]:
    """Check every invariant on the live engine and report totals (on the loop: between two
    commands, never halfway through one)."""
    r = audit(svc.engine)
    return {"ok": r.ok, "violations": r.violations[:100], "accounts": r.accounts,
            "resting_orders": r.resting_orders, "cash_free": format_micro(r.cash_free_micro),
            "cash_reserved": format_micro(r.cash_reserved_micro),
            "collateral": format_micro(r.collateral_micro), "fees": format_micro(r.fees_micro),
            "net_deposits": format_micro(r.deposits_micro)}
