"""Application verbs for liquidity pools and conversion (issue 16).

Functions take the `Service` as their first argument (they move into the services package
later). They know nothing of HTTP: a refusal is a `Refused` with a stable code. Reads come
from the live engine on the event loop (the pool's state is engine state, not a read model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from foretell.domain import codes, limits
from foretell.domain import commands as cmd
from foretell.domain import markets as mk
from foretell.domain.codes import Refused, refused
from foretell.domain.units import MICRO, UnitError, format_micro, format_price, parse_micro
from foretell.engine import convert as conversion
from foretell.engine import pool as amm

if TYPE_CHECKING:
    from foretell.exchange.node import Node
    from foretell.services.auth import Principal

FEE_SHARE_PPM_DEFAULT = 500_000


def _market(node: Node, market_id: int) -> Any:
    m = node.engine.markets.get(market_id)
    if m is None:
        raise refused(codes.UNKNOWN_MARKET)
    return m


def _amount(text: str) -> int:
    try:
        return parse_micro(text)
    except UnitError:
        raise Refused("invalid_request", "subsidy must be a decimal amount of USDC") from None


async def fund_pool(node: Node, p: Principal, market_id: int, subsidy: str,
                    fee_share_ppm: int = FEE_SHARE_PPM_DEFAULT) -> dict[str, Any]:
    """Commit a subsidy from the caller's balance to a market's pool: a supervisor for any
    market, a creator for their own (from the draft on, so it is in place when it opens)."""
    m = _market(node, market_id)
    if not p.is_supervisor and m.creator != p.user_id:
        raise Refused("forbidden", "Only the market's creator or a supervisor funds its pool.")
    command = cmd.FundPool(0, market_id, p.user_id, _amount(subsidy), fee_share_ppm)
    return await fund(node, command, p.user_id)


async def fund(node: Node, command: cmd.FundPool, actor: int) -> dict[str, Any]:
    outcome = await node.execute(command, actor)
    if not outcome.ok:
        raise refused(outcome.code, outcome.value or None)
    return pool_view(node, command.market)


def subsidy_for_new_market(node: Node, funder: int, subsidy: str) -> int:
    """The subsidy of a market about to be created (the supervisor's form), in micro-USDC, 0
    for none; refused now, before the market exists, if the pool could not be funded. Called
    on the loop in the same turn as the creation and the funding, so the funder's cash cannot
    move in between."""
    amount = _amount(subsidy) if subsidy else 0
    if not amount:
        return 0
    if not limits.pool_subsidy_micro_min <= amount <= limits.amount_micro_max:
        raise refused(codes.INVALID_POOL)
    account = node.engine.accounts.get(funder)
    if account is None or account.free < amount:
        raise refused(codes.INSUFFICIENT_FUNDS)
    return amount


def pool_view(node: Node, market_id: int, levels: int = 10) -> dict[str, Any]:
    """The pool of a market as the market page shows it: subsidy, cash, fees earned, P&L in
    every outcome, and per contract the curve's price and its depth near it."""
    m = _market(node, market_id)
    p = m.pool
    out: dict[str, Any] = {"market_id": market_id, "pool": p is not None,
                           "conversion": conversion.allowed(m)}
    if p is None:
        return out
    view = amm.View(p, m.contracts[0])
    pnl = [w - p.subsidy_micro for w in view.wealth]
    out.update({
        "funder_id": p.funder, "subsidy": format_micro(p.subsidy_micro),
        "liquidity_b": format_micro(p.b_micro),
        "max_loss": format_micro(min(p.subsidy_micro,
                                     -(-p.b_micro * amm.bound_ln(p.weights) // amm.ONE))),
        "fee_share_ppm": p.fee_share_ppm, "fees_earned": format_micro(p.fees_micro),
        "closed": p.closed, "returned": format_micro(p.returned_micro),
        "cash": format_micro(0 if p.closed else p.account.free),
        "pnl_by_outcome": [format_micro(x) for x in pnl],
        "pnl_worst": format_micro(min(pnl)) if not p.closed else
        format_micro(p.returned_micro - p.subsidy_micro),
        "contracts": [],
    })
    total = 0
    for c in m.contracts:
        price = 0 if p.closed else amm.price_micro(p, c)
        total += price
        depth = {"bids": [], "asks": []} if p.closed or m.status != mk.OPEN else \
            _ladders(p, c, levels)
        out["contracts"].append({"contract_id": c.id, "index": c.index,
                                 "price": format_price(price), **depth})
    if len(m.contracts) > 1:
        out["price_sum"] = format_price(total)
    return out


def _ladders(p: Any, c: Any, levels: int) -> dict[str, list[list[Any]]]:
    levels = min(levels, limits.pool_levels_shown_max)
    return {side: [[format_price(price), size] for price, size in
                   amm.ladder(p, c, side == "asks", levels, c.market.size_max)]
            for side in ("bids", "asks")}


def book_with_pool(node: Node, book: dict[str, Any], contract_id: int,
                   depth: int) -> dict[str, Any]:
    """The REST book, with the pool's depth beside the resting orders' (marked as the
    pool's: `pool.bids`, `pool.asks`), and `combined_*` best prices over both."""
    c = node.engine.contracts.get(contract_id)
    if c is None or c.market.pool is None or c.market.pool.closed or c.market.status != mk.OPEN:
        return book
    ladders = _ladders(c.market.pool, c, min(depth, limits.pool_levels_shown_max))
    book = dict(book)
    book["pool"] = ladders
    bids = [x[0] for x in book["bids"][:1] + ladders["bids"][:1]]
    asks = [x[0] for x in book["asks"][:1] + ladders["asks"][:1]]
    book["combined_best_bid"] = max(bids, key=parse_micro) if bids else None
    book["combined_best_ask"] = min(asks, key=parse_micro) if asks else None
    return book


def implied(node: Node, market_id: int) -> dict[str, Any]:
    """Best YES bid and ask of every outcome over the book and the pool, and their sums."""
    m = _market(node, market_id)
    rows = []
    bid_sum = ask_sum = 0
    for c in m.contracts:
        bid, ask = c.best_bid * c.tick if c.best_bid else 0, \
            c.best_ask * c.tick if c.best_ask < c.levels else MICRO
        p = m.pool
        if p is not None and not p.closed and m.status == mk.OPEN:
            v = amm.View(p, c)
            pb = amm.best_level(v, False, c.tick, c.levels)
            pa = amm.best_level(v, True, c.tick, c.levels)
            bid = max(bid, pb * c.tick)
            ask = min(ask, pa * c.tick if pa < c.levels else MICRO)
        bid_sum += bid
        ask_sum += ask
        rows.append({"contract_id": c.id, "index": c.index, "best_bid": format_price(bid),
                     "best_ask": format_price(ask), "mid": format_price((bid + ask) // 2)})
    return {"market_id": market_id, "outcomes": rows, "bid_sum": format_price(bid_sum),
            "ask_sum": format_price(ask_sum)}


async def convert(node: Node, p: Principal, market_id: int, outcome_index: int, size: int,
                  to_no: bool = False) -> dict[str, Any]:
    """k NO of one outcome into k YES of every other (or back), one journaled command."""
    outcome = await node.execute(
        cmd.Convert(0, p.user_id, market_id, outcome_index, size, to_no), p.user_id)
    if not outcome.ok:
        raise refused(outcome.code, outcome.value or None)
    return {"market_id": market_id, "outcome_index": outcome_index, "size": size,
            "direction": "yes_to_no" if to_no else "no_to_yes"}
