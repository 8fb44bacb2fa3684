"""Real USDC in and out: deposit address (and its QR code), deposits, withdrawals, reserves;
supervisor approval, alerts and frozen accounts. 404 `funding_disabled` when the exchange runs
on play money only. Bodies are strict like the rest of the API (`foretell.services.requests`):
JSON strings where strings are due, amounts of ASCII digits, free text cleaned."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from foretell.api.deps import Admin, Anyone, IdPath, Reader, Trader
from foretell.chain.runner import Funding, funding_of
from foretell.services.auth import Principal
from foretell.services.requests import DECIMAL_PATTERN, Line, Strict

router = APIRouter(tags=["funding"])


class WithdrawIn(Strict):
    amount: str = Field(pattern=DECIMAL_PATTERN, max_length=20,
                        description="USDC, decimal string of ASCII digits: \"25.5\"")
    address: str = Field(max_length=64, description="EIP-55 checksummed 0x address")
    request_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$",
                            description="your idempotency key: a retry never withdraws twice")


class RejectIn(Strict):
    reason: Line = Field(min_length=1, max_length=200,
                         description="why, for the trader (control characters removed)")


def _funding(request: Request) -> Funding:
    return funding_of(request.app.state)


@router.get("/funding/deposit-address")
async def deposit_address(request: Request, p: Principal = Reader) -> dict[str, Any]:
    """The caller's own deposit address: send USDC there, credited after N confirmations."""
    return await _funding(request).deposit_address(p.user_id)


@router.get("/funding/deposit-address.svg", response_class=Response,
            include_in_schema=False)  # an image for the Deposit page, not an API call
async def deposit_address_qr(request: Request, p: Principal = Reader) -> Response:
    """The deposit address as a QR code (SVG), an EIP-681 `ethereum:` link to it."""
    import io

    import segno

    found = await _funding(request).deposit_address(p.user_id)
    buffer = io.BytesIO()
    segno.make(f"ethereum:{found['address']}@{found['chain_id']}", error="m").save(
        buffer, kind="svg", scale=5, border=2, title="Deposit address")
    return Response(buffer.getvalue(), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.get("/funding/deposits")
async def deposits(request: Request, p: Principal = Reader) -> dict[str, Any]:
    """The caller's deposits, newest first: pending (with confirmations so far), credited,
    or reorged (its block left the chain: never credited)."""
    return {"deposits": await _funding(request).deposits(p.user_id)}


@router.post("/funding/withdrawals", status_code=201)
async def withdraw(body: WithdrawIn, request: Request, p: Principal = Trader) -> dict[str, Any]:
    """Withdraw USDC to an address. The amount leaves free cash at once; above the approval
    limit a supervisor approves it first. States: requested, approved, signed, broadcast,
    confirmed; or failed/rejected, then refunded."""
    return await _funding(request).request_withdrawal(p.user_id, body.amount, body.address,
                                                       body.request_id)


@router.get("/funding/withdrawals")
async def withdrawals(request: Request, p: Principal = Reader) -> dict[str, Any]:
    return {"withdrawals": await _funding(request).withdrawals(p.user_id)}


@router.get("/funding/withdrawals/{withdrawal_id}")
async def withdrawal(withdrawal_id: IdPath, request: Request,
                     p: Principal = Reader) -> dict[str, Any]:
    return await _funding(request).withdrawal(withdrawal_id, p.user_id)


@router.get("/reserves")
async def reserves(request: Request, p: Principal | None = Anyone) -> dict[str, Any]:
    """Proof of reserves: USDC held on chain (hot wallet + deposit addresses, at one block)
    against everything the ledger owes (cash free and reserved, collateral, bonds, fees,
    withdrawals not yet on chain). A shortfall halts withdrawals."""
    return await _funding(request).reserves()


@router.get("/admin/funding/withdrawals")
async def all_withdrawals(request: Request, p: Principal = Admin,
                          status: str | None = Query(None, max_length=16)) -> dict[str, Any]:
    return {"withdrawals": await _funding(request).withdrawals(None, status)}


@router.get("/admin/funding/deposits")
async def all_deposits(request: Request, p: Principal = Admin) -> dict[str, Any]:
    return {"deposits": await _funding(request).deposits(None)}


@router.post("/admin/funding/withdrawals/{withdrawal_id}/approve")
async def approve(withdrawal_id: IdPath, request: Request, p: Principal = Admin) -> dict[str, Any]:
    return await _funding(request).approve(withdrawal_id, p.user_id)


@router.post("/admin/funding/withdrawals/{withdrawal_id}/reject")
async def reject(withdrawal_id: IdPath, body: RejectIn, request: Request,
                 p: Principal = Admin) -> dict[str, Any]:
    return await _funding(request).reject(withdrawal_id, p.user_id, body.reason)


@router.get("/admin/funding/alerts")
async def alerts(request: Request, p: Principal = Admin) -> dict[str, Any]:
    from foretell.chain import store

    f = _funding(request)
    return {"alerts": await f.svc.off_loop(lambda: store.alerts(f.db)),
            "withdrawals_halted": await f.svc.off_loop(f.halted)}


@router.post("/admin/funding/alerts/{alert_id}/resolve")
async def resolve(alert_id: IdPath, request: Request, p: Principal = Admin) -> dict[str, Any]:
    return await _funding(request).resolve_alert(alert_id, p.user_id)


@router.post("/admin/funding/accounts/{account_id}/unfreeze")
async def unfreeze(account_id: IdPath, request: Request, p: Principal = Admin) -> dict[str, Any]:
    from foretell.chain import store

    f = _funding(request)
    return {"account_id": account_id,
            "unfrozen": await f.svc.off_loop(lambda: store.unfreeze(f.db, account_id))}
