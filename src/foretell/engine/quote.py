"""Dry-run quote: what an order would fill now, at what average price and fee, without placing it.

Walks the opposite side of the book from the best price (own resting orders are skipped, as
self-trade prevention would) and stops at the order's limit, size or spend. Read-only.
"""

from __future__ import annotations

from typing import Any

from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain import markets as mk
from foretell.domain.codes import Reject
from foretell.domain.orders import BID, BUY, MARKET, book_side
from foretell.domain.units import MICRO, ceil_div, format_micro, format_price
from foretell.engine.engine import Engine


def quote(engine: Engine, c: cmd.PlaceOrder) -> dict[str, Any]:
    """Raises `Reject` for what placing the order would refuse on its face."""
    contract = engine.contracts[c.contract]
    m = contract.market
    _check(contract, c)
    side = book_side(c.outcome, c.action)
    limit_i = _limit(contract, c, side)
    size_left = c.size or m.size_max
    spend_left = c.spend_micro if c.spend_micro else -1
    heads = contract.ask_head if side == BID else contract.bid_head
    i = contract.best_ask if side == BID else contract.best_bid
    step = 1 if side == BID else -1
    fills: list[tuple[int, int]] = []
    while size_left > 0 and 0 < i < contract.levels and (
            (side == BID and i <= limit_i) or (side != BID and i >= limit_i)):
        yes_price = i * contract.tick
        own = yes_price if c.outcome == 0 else MICRO - yes_price
        maker = heads[i]
        available = 0
        while maker is not None:
            if maker.account.id != c.account:
                available += maker.remaining
            maker = maker.next
        take = min(available, size_left)
        if spend_left >= 0:
            take = min(take, spend_left // own)
            spend_left -= take * own
        if take:
            fills.append((own, take))
            size_left -= take
        if spend_left == 0 or (spend_left > 0 and spend_left < own):
            break
        i += step
    filled = sum(s for _, s in fills)
    notional = sum(p * s for p, s in fills)
    fee = ceil_div(notional * m.taker_ppm, MICRO)
    limit_price = limit_i * contract.tick if c.outcome == 0 else MICRO - limit_i * contract.tick
    cap = c.spend_micro or limit_price * (c.size or 0)
    out: dict[str, Any] = {
        "contract_id": contract.id,
        "fills": [{"price": format_price(p), "size": s} for p, s in fills],
        "filled": filled,
        "unfilled": (c.size - filled) if c.size else None,
        "avg_price": format_price(notional // filled) if filled else None,
        "notional": format_micro(notional),
        "fee": format_micro(fee),
        "fee_rate_ppm": m.taker_ppm,
    }
    if c.action == BUY:
        out["max_cost"] = format_micro(cap + ceil_div(cap * m.fee_max_ppm, MICRO))
        out["cost_now"] = format_micro(notional + fee)
        out["potential_payout"] = format_micro(filled * MICRO)
        out["payout_if_all_filled"] = format_micro((c.size or filled) * MICRO)
    else:
        out["proceeds_now"] = format_micro(notional - fee)
    return out


def _check(contract: Any, c: cmd.PlaceOrder) -> None:
    m = contract.market
    if m.status != mk.OPEN:
        raise Reject(codes.MARKET_NOT_OPEN)
    if c.spend_micro and (c.order_type != MARKET or c.action != BUY or c.size):
        raise Reject(codes.INVALID_ORDER, "spend is for market buys without a size")
    if not c.spend_micro and not 1 <= c.size <= m.size_max:
        raise Reject(codes.SIZE_OUT_OF_RANGE)
    if c.price_micro or c.order_type != MARKET:
        if not contract.tick <= c.price_micro <= MICRO - contract.tick:
            raise Reject(codes.INVALID_PRICE)
        if c.price_micro % contract.tick:
            raise Reject(codes.INVALID_TICK)


def _limit(contract: Any, c: cmd.PlaceOrder, side: int) -> int:
    if c.price_micro:
        yes = c.price_micro if c.outcome == 0 else MICRO - c.price_micro
        return int(yes // contract.tick)
    if c.order_type != MARKET:
        return 0
    return contract.levels - 1 if side == BID else 1
