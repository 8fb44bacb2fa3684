"""Trading: orders (place, batch, amend, cancel), the dry-run quote, trigger orders.

An order is sequenced at once (`place_nowait`) and answered once durable (`placed`), so a
WebSocket connection can pipeline orders; REST waits in `place`. Refusals are `Refused`.
"""

from __future__ import annotations

from typing import Any

from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.codes import Refused, Reject, refused
from foretell.domain.orders import (
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    LIMIT,
    MARKET,
    STP_NAMES,
    TIF_NAMES,
)
from foretell.domain.outcome import Outcome
from foretell.domain.units import UnitError, parse_micro
from foretell.engine.book import queue_position
from foretell.exchange.node import Node
from foretell.services import present
from foretell.services.auth import Principal
from foretell.services.markets import Markets
from foretell.services.requests import OrderIn, TriggerIn


class Trading:
    def __init__(self, node: Node, markets: Markets) -> None:
        self.node = node
        self.markets = markets

    def order_command(self, p: Principal, body: OrderIn) -> cmd.PlaceOrder:
        contract = self.markets.contract_for(body.market_id, body.contract_id, body.outcome_index)
        try:
            price_micro = parse_micro(body.price) if body.price is not None else 0
            spend_micro = parse_micro(body.spend) if body.spend is not None else 0
        except UnitError as exc:
            raise Refused(codes.INVALID_PRICE, str(exc)) from exc
        order_type = LIMIT if body.type == "limit" else MARKET
        if order_type == LIMIT and body.price is None:
            raise Refused(codes.INVALID_PRICE, "a limit order needs a price")
        if body.spend is None and body.size is None:
            raise Refused(codes.SIZE_OUT_OF_RANGE, "give a size (or spend for a market buy)")
        flags = (FLAG_POST_ONLY if body.post_only else 0) | (
            FLAG_REDUCE_ONLY if body.reduce_only else 0)
        return cmd.PlaceOrder(
            0, p.user_id, contract, 0 if body.outcome == "yes" else 1,
            0 if body.side == "buy" else 1, body.size or 0, price_micro, order_type,
            TIF_NAMES.index(body.tif), body.expire_at_ms or 0, flags,
            STP_NAMES.index(body.stp), spend_micro, body.client_order_id or "",
            body.order_group_id or 0)

    async def place(self, p: Principal, body: OrderIn) -> dict[str, Any]:
        outcome = await self.node.durable(self.place_nowait(p, body))
        return self.placed(outcome)

    async def place_many(self, p: Principal, bodies: list[OrderIn]) -> list[dict[str, Any]]:
        """Sequence every order at once, answer each when the last is durable."""
        outcomes: list[Outcome | Refused] = []
        for body in bodies:
            try:
                outcomes.append(self.place_nowait(p, body))
            except Refused as exc:
                outcomes.append(exc)
        last = [o for o in outcomes if isinstance(o, Outcome)]
        if last:
            await self.node.durable(last[-1])
        results: list[dict[str, Any]] = []
        for outcome in outcomes:
            try:
                if isinstance(outcome, Refused):
                    raise outcome
                # Durable already (single node); a gateway answers each when it comes back.
                final = await self.node.durable(outcome)
                results.append({"ok": True, "order": self.placed(final)})
            except Refused as exc:
                results.append({"ok": False, "error": {"code": exc.code, "message": exc.message,
                                                       "details": exc.details}})
        return results

    def place_nowait(self, p: Principal, body: OrderIn) -> Outcome:
        """Submit an order; the caller answers with `placed(outcome)` once it is durable.
        An order group (`order_group_id`) is checked and kept by the engine (engine/risk.py)."""
        return self.node.submit(self.order_command(p, body), p.user_id)

    def placed(self, outcome: Outcome) -> dict[str, Any]:
        """The answer to a durable order command: the order's view, or the refusal raised."""
        if not outcome.ok:
            details = {"order_id": outcome.value} if isinstance(outcome.value, int) else None
            raise refused(outcome.code, details)
        view = present.order_from_outcome(outcome.events, outcome.value)
        command = outcome.command
        assert isinstance(command, cmd.PlaceOrder)
        view["market_id"] = self.node.engine.contracts[command.contract].market.id
        view["expire_at_ms"] = command.expire_ms or None  # as a GET of the order shows it
        return view

    async def cancel(self, p: Principal, order_id: int) -> dict[str, Any]:
        outcome = await self.node.execute(cmd.CancelOrder(0, p.user_id, order_id), p.user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        return present.order_from_outcome(outcome.events, order_id) | {"id": order_id}

    async def cancel_all(self, p: Principal, market_id: int | None) -> dict[str, Any]:
        outcome = await self.node.execute(cmd.CancelAll(0, p.user_id, market_id or 0), p.user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        done = [e.order for e in outcome.events if isinstance(e, ev.OrderDone)]
        return {"cancelled": len(done), "order_ids": done}

    async def amend(self, p: Principal, order_id: int, price: str | None,
                    size: int | None) -> dict[str, Any]:
        try:
            price_micro = parse_micro(price) if price is not None else 0
        except UnitError as exc:
            raise Refused(codes.INVALID_PRICE, str(exc)) from exc
        command = cmd.AmendOrder(0, p.user_id, order_id, price_micro, size or 0)
        outcome = await self.node.execute(command, p.user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        live = self.node.engine.orders.get(order_id)
        if live is not None:
            return present.live_order(live)
        return present.order_from_outcome(outcome.events, order_id)

    def live_order(self, p: Principal, order_id: int) -> dict[str, Any] | None:
        o = self.node.engine.orders.get(order_id)
        if o is None or o.account.id != p.user_id:
            return None
        view = present.live_order(o)
        view["queue_position"] = dict(zip(("orders_ahead", "shares_ahead"),
                                          queue_position(o), strict=True))
        return view

    def open_orders(self, p: Principal, market_id: int | None) -> list[dict[str, Any]]:
        a = self.node.engine.accounts.get(p.user_id)
        if a is None:
            return []
        return [present.live_order(o) for o in a.orders.values()
                if market_id is None or o.contract.market.id == market_id]

    def quote(self, p: Principal, body: OrderIn) -> dict[str, Any]:
        from foretell.engine.quote import quote

        command = self.order_command(p, body)
        try:
            return quote(self.node.engine, command)
        except Reject as rejected:
            raise refused(rejected.code, rejected.detail or None) from None

    async def place_trigger(self, p: Principal, body: TriggerIn) -> list[dict[str, Any]]:
        contract = self.markets.contract_for(body.market_id, body.contract_id, body.outcome_index)
        try:
            tp, sl, trail, limit = (parse_micro(v) if v is not None else 0 for v in (
                body.take_profit, body.stop_loss, body.trail, body.limit_price))
        except UnitError as exc:
            raise Refused(codes.INVALID_PRICE, str(exc)) from exc
        command = cmd.PlaceTrigger(0, p.user_id, contract, 0 if body.outcome == "yes" else 1,
                                   body.size, tp, sl, trail, limit, body.client_order_id or "")
        outcome = await self.node.execute(command, p.user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        return [present.live_trigger(self.node.engine.triggers[i]) for i in outcome.value
                if i in self.node.engine.triggers]

    async def cancel_trigger(self, p: Principal, trigger_id: int) -> dict[str, Any]:
        outcome = await self.node.execute(cmd.CancelTrigger(0, p.user_id, trigger_id), p.user_id)
        if not outcome.ok:
            raise refused(codes.UNKNOWN_TRIGGER if outcome.code == codes.NOT_OWNER
                          else outcome.code)
        return {"id": trigger_id, "status": "cancelled"}

    def triggers(self, p: Principal) -> list[dict[str, Any]]:
        a = self.node.engine.accounts.get(p.user_id)
        return [] if a is None else [present.live_trigger(t) for t in a.triggers.values()]
