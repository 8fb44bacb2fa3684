"""Dry-run quote: what an order would do now, without placing it.

In a market with a liquidity pool the walk includes the pool's fills, level by level, so the
quote lists them (maker order 0) exactly as the order would fill. It runs the order's own code,
not a copy of its rules: `Engine.admit` (every check, the default
protection band of a market order, reduce-only sizing, the reservation, post-only, fill-or-kill)
and the walk of `matching.plan` that matching would apply (limit, size, spend, self-trade
prevention, the fill limit). Only the summing up is its own: the taker fee of each fill, rounded
up once per order on the running total as `ledger.fill_side` charges it.

Read-only: the order it builds is never linked, the account is only read (a missing one is
stood in for by an empty, unregistered one), the id counter does not move, no event is written.
So a quote leaves the state hash and every sequence number alone.

Refusals about the request itself (fields, ticks, sizes, a market that is not open) raise
`Reject`, as placing would. Refusals that depend on the book or the account (no liquidity, funds,
shares, post-only that would take, fill-or-kill that would not fill) are the quote's answer:
status "refused" (or "killed" for fill-or-kill) with the code as reason, and no fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from foretell.domain import codes
from foretell.domain import commands as cmd
from foretell.domain.codes import Reject
from foretell.domain.orders import BUY
from foretell.domain.units import MICRO, format_micro, format_price
from foretell.engine import ledger
from foretell.engine.engine import Engine, end_reason
from foretell.engine.matching import fills_in_full
from foretell.engine.state import Account

# What placing refuses because of the book or the account, not because of the request.
_STATE_REFUSALS = frozenset({
    codes.UNKNOWN_ACCOUNT, codes.NO_LIQUIDITY, codes.INSUFFICIENT_FUNDS,
    codes.INSUFFICIENT_SHARES, codes.NO_POSITION, codes.POST_ONLY_WOULD_TAKE,
    codes.TOO_MANY_ORDERS, codes.FOK_NOT_FILLED,
})


@dataclass
class QuoteFill:
    yes_price_micro: int
    price_micro: int  # in the terms of the outcome the order trades
    size: int
    taker_fee_micro: int
    maker_order: int  # 0: the market's liquidity pool


@dataclass
class Quote:
    """The outcome of placing the order now. `status` is "filled" (its size, or by spend all it
    can use), "partially_filled" or "not_filled" (the rest would be cancelled), "resting" (the
    rest would rest), "killed" (fill-or-kill) or "refused"; `reason` is the ORDER_DONE reason the
    order would end with ("" while it rests) or the refusal code."""

    contract: int
    outcome: int  # as it would trade: a reduce-only buy sells the other outcome
    action: int
    status: str
    reason: str
    size: int = 0  # the order's size (by spend: the market's maximum), 0 when refused
    limit_price_micro: int = 0  # its limit or protection, in its outcome's terms
    reserve_micro: int = 0  # cash a buy would hold: worst-case cost plus worst-case fee
    fills: list[QuoteFill] = field(default_factory=list)
    self_trade_cancels: list[int] = field(default_factory=list)  # own resting orders cancelled

    @property
    def filled(self) -> int:
        return sum(f.size for f in self.fills)

    @property
    def notional_micro(self) -> int:
        return sum(f.price_micro * f.size for f in self.fills)

    @property
    def fee_micro(self) -> int:
        return sum(f.taker_fee_micro for f in self.fills)


def dry_run(engine: Engine, c: cmd.PlaceOrder) -> Quote:
    """What placing `c` now would do. Raises `Reject` for what is wrong with the request itself."""
    contract = engine.contracts.get(c.contract)
    if contract is None:
        raise Reject(codes.UNKNOWN_CONTRACT)
    account = engine.accounts.get(c.account)
    try:
        # The client order id is left out: a quote is not an order, so it cannot be a retry.
        o, walk = engine.admit(account or Account(c.account), contract, c.outcome, c.action,
                               c.size, c.price_micro, c.order_type, c.tif, c.expire_ms, c.flags,
                               c.stp, c.spend_micro, "")
    except Reject as refused:
        if refused.code not in _STATE_REFUSALS:
            raise
        code = codes.UNKNOWN_ACCOUNT if account is None else refused.code
        return Quote(contract.id, c.outcome, c.action,
                     "killed" if code == codes.FOK_NOT_FILLED else "refused", code)
    if account is None:  # placing checks the account first; the request itself is fine
        return Quote(contract.id, c.outcome, c.action, "refused", codes.UNKNOWN_ACCOUNT)
    q = Quote(contract.id, o.outcome, o.action, "", "", o.size, o.out_price,
              o.reserved if o.action == BUY else 0)
    stop = ""
    if walk is not None:
        stop = walk.stop
        ppm = contract.market.taker_ppm
        basis = charged = 0
        # Resting orders and pool fills (maker order 0) in the order the walk meets them.
        steps = walk.steps or []
        entries: list[tuple[int, int, int]] = []  # (level, size, maker order id)
        done = 0
        for before, i, size in [*steps, (len(walk.makers), 0, 0)]:
            for maker in walk.makers[done:before]:
                if maker.owner == o.owner:
                    q.self_trade_cancels.append(maker.id)
                    continue
                entries.append((maker.price_i,
                                walk.last_q if maker is walk.last else maker.remaining,
                                maker.id))
            done = before
            if size:
                entries.append((i, size, 0))
        for i, size, maker_id in entries:
            yes_price = i * contract.tick
            price = yes_price if o.outcome == 0 else MICRO - yes_price
            basis += price * size * ppm
            due = ledger.fee_due(basis)
            q.fills.append(QuoteFill(yes_price, price, size, due - charged, maker_id))
            charged = due
    remaining = o.remaining - q.filled
    q.reason = end_reason(remaining, stop, o.tif, o.order_type)
    if remaining == 0 or (o.spend_rem >= 0 and walk is not None and fills_in_full(walk, o)):
        q.status = "filled"
    elif not q.reason:
        q.status = "resting"
    else:
        q.status = "partially_filled" if q.fills else "not_filled"
    return q


def quote(engine: Engine, c: cmd.PlaceOrder) -> dict[str, Any]:
    """The quote as the API shows it: amounts and prices as decimal strings, one entry per fill
    in the order the placed order would list them. Raises `Reject` for what is wrong with the
    request itself."""
    q = dry_run(engine, c)
    m = engine.contracts[c.contract].market
    filled, notional, fee = q.filled, q.notional_micro, q.fee_micro
    size = (q.size or c.size) if c.size else 0  # by size: reduce-only may have cut it
    out: dict[str, Any] = {
        "contract_id": q.contract,
        "status": q.status,
        "reason": q.reason,
        "fills": [{"price": format_price(f.price_micro), "size": f.size} for f in q.fills],
        "filled": filled,
        "unfilled": (size - filled) if size else None,
        "avg_price": format_price(notional // filled) if filled else None,
        "notional": format_micro(notional),
        "fee": format_micro(fee),
        "fee_rate_ppm": m.taker_ppm,
    }
    if q.action == BUY:
        refused = q.status in ("killed", "refused")
        out["max_cost"] = None if refused else format_micro(q.reserve_micro)
        out["cost_now"] = format_micro(notional + fee)
        out["potential_payout"] = format_micro(filled * MICRO)
        out["payout_if_all_filled"] = format_micro((c.size or filled) * MICRO)
    else:
        out["proceeds_now"] = format_micro(notional - fee)
    return out
