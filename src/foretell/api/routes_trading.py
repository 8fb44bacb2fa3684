"""Orders, trigger orders, order groups and the dead-man's switch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from foretell.api.deps import Ascii, IdPath, Reader, Svc, Trader
from foretell.api.errors import ApiError, refusal
from foretell.domain import codes
from foretell.domain.codes import Refused
from foretell.services import Services, present
from foretell.services.auth import Principal
from foretell.services.requests import (
    AmendIn,
    CancelManyIn,
    DeadManIn,
    OrderGroupIn,
    OrderIn,
    OrdersIn,
    TriggerIn,
)
from foretell.store import queries

router = APIRouter(tags=["trading"])


@router.post("/orders", status_code=201)
async def place_order(body: OrderIn, p: Principal = Trader, svc: Services = Svc) -> dict[str, Any]:
    """Place an order. The answer comes once the order is durable in the journal."""
    return await svc.trading.place(p, body)


@router.post("/orders/batch")
async def place_orders(body: OrdersIn, p: Principal = Trader,
                       svc: Services = Svc) -> dict[str, Any]:
    """Place up to 100 orders, in order; each item is answered on its own."""
    return {"results": await svc.trading.place_many(p, body.orders)}


@router.post("/orders/quote")
async def quote(body: OrderIn, p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    """Dry run: what this order would fill now, average price, fee, max cost, payout."""
    return svc.trading.quote(p, body)


@router.get("/orders")
async def list_orders(status: str | None = Query(None, pattern="^(open|filled|cancelled)$"),
                      market_id: Annotated[int | None, Query(ge=1, le=2**31), Ascii] = None,
                      cursor: Annotated[int | None, Query(ge=0, le=2**53), Ascii] = None,
                      limit: Annotated[int, Query(ge=1, le=500), Ascii] = 100,
                      p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    if status == "open":
        return {"orders": svc.trading.open_orders(p, market_id), "next_cursor": None}
    await svc.read_your_writes(p.user_id)
    with svc.db.connect() as conn:
        rows, next_cursor = queries.orders(conn, p.user_id, status=status, market_id=market_id,
                                           cursor=cursor, limit=limit)
    return {"orders": present.order_rows(rows), "next_cursor": next_cursor}


@router.get("/orders/client/{client_order_id}")
async def order_by_client_id(client_order_id: str, p: Principal = Reader,
                             svc: Services = Svc) -> dict[str, Any]:
    if len(client_order_id) > 64:
        raise refusal(codes.UNKNOWN_ORDER)
    await svc.read_your_writes(p.user_id)
    with svc.db.connect() as conn:
        row = queries.order_by_client_id(conn, p.user_id, client_order_id)
    if row is None:
        raise refusal(codes.UNKNOWN_ORDER)
    live = svc.trading.live_order(p, row["id"])
    return live or present.order_row(row)


@router.get("/orders/{order_id}")
async def get_order(order_id: IdPath, p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    live = svc.trading.live_order(p, order_id)
    if live is not None:
        return live
    await svc.read_your_writes(p.user_id)
    with svc.db.connect() as conn:
        row = queries.get_order(conn, p.user_id, order_id)
    if row is None:
        raise refusal(codes.UNKNOWN_ORDER)
    return present.order_row(row)


@router.get("/orders/{order_id}/queue")
async def queue_position(order_id: IdPath, p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    live = svc.trading.live_order(p, order_id)
    if live is None:
        raise refusal(codes.UNKNOWN_ORDER)
    return {"order_id": order_id, **live["queue_position"]}


@router.patch("/orders/{order_id}")
async def amend_order(order_id: IdPath, body: AmendIn, p: Principal = Trader,
                      svc: Services = Svc) -> dict[str, Any]:
    """Change price and/or remaining size; a size decrease alone keeps queue priority."""
    if body.price is None and body.size is None:
        raise ApiError(422, "invalid_request", "give a new price and/or size")
    return await svc.trading.amend(p, order_id, body.price, body.size)


@router.delete("/orders/{order_id}")
async def cancel_order(order_id: IdPath, p: Principal = Trader, svc: Services = Svc) -> dict[str, Any]:
    return await svc.trading.cancel(p, order_id)


@router.post("/orders/cancel")
async def cancel_orders(body: CancelManyIn, p: Principal = Trader,
                        svc: Services = Svc) -> dict[str, Any]:
    """Cancel up to 100 orders; each item is answered on its own."""
    results: list[dict[str, Any]] = []
    for order_id in body.order_ids:
        try:
            results.append({"order_id": order_id, "ok": True,
                            "order": await svc.trading.cancel(p, order_id)})
        except Refused as exc:
            results.append({"order_id": order_id, "ok": False,
                            "error": {"code": exc.code, "message": exc.message}})
    return {"results": results}


@router.delete("/orders")
async def cancel_all(market_id: Annotated[int | None, Query(ge=1, le=2**31), Ascii] = None,
                     p: Principal = Trader,
                     svc: Services = Svc) -> dict[str, Any]:
    return await svc.trading.cancel_all(p, market_id)


@router.post("/triggers", status_code=201)
async def place_trigger(body: TriggerIn, p: Principal = Trader,
                        svc: Services = Svc) -> dict[str, Any]:
    """Take-profit and/or stop-loss (a pair is one-cancels-other), or a trailing stop."""
    return {"triggers": await svc.trading.place_trigger(p, body)}


@router.get("/triggers")
async def list_triggers(p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    return {"triggers": svc.trading.triggers(p)}


@router.delete("/triggers/{trigger_id}")
async def cancel_trigger(trigger_id: IdPath, p: Principal = Trader,
                         svc: Services = Svc) -> dict[str, Any]:
    return await svc.trading.cancel_trigger(p, trigger_id)


@router.post("/order-groups", status_code=201)
async def create_group(body: OrderGroupIn, p: Principal = Trader,
                       svc: Services = Svc) -> dict[str, Any]:
    """A group whose resting orders are all cancelled once its fills reach the contract cap
    within the rolling window. Put orders in it with `order_group_id`."""
    return await svc.risk.create_group(p, body.contracts_limit, body.window_s)


@router.get("/order-groups/{group_id}")
async def get_group(group_id: IdPath, p: Principal = Reader, svc: Services = Svc) -> dict[str, Any]:
    return svc.risk.group_view(svc.risk.owned_group(p, group_id))


@router.post("/order-groups/{group_id}/reset")
async def reset_group(group_id: IdPath, p: Principal = Trader,
                      svc: Services = Svc) -> dict[str, Any]:
    svc.risk.owned_group(p, group_id)  # another account's group is unknown, not stale
    return await svc.risk.reset_group(p, group_id)


@router.post("/dead-man-switch")
async def dead_man(body: DeadManIn, p: Principal = Trader,
                   svc: Services = Svc) -> dict[str, Any]:
    """Cancel all my orders unless renewed within `timeout_s` seconds (0 disarms)."""
    return await svc.risk.arm_dead_man(p, body.timeout_s)
