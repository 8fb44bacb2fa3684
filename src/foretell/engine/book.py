"""Price-level book operations on a Contract: link, unlink, resize, best-price upkeep, views.

Invariant kept: each level's qty is the sum of its orders' remaining sizes; `best_bid` is the
highest non-empty bid level (0 if none), `best_ask` the lowest non-empty ask level (`levels` if
none); the book is never crossed at rest (best_bid < best_ask).
"""

from __future__ import annotations

from foretell.domain import codes
from foretell.domain.codes import Reject
from foretell.domain.orders import BID, YES
from foretell.domain.units import MICRO
from foretell.engine.state import Contract, Order


def limit_index(c: Contract, outcome: int, price_micro: int) -> int:
    """YES-terms tick index of a limit price given in the outcome's terms (or a refusal)."""
    if not c.tick <= price_micro <= MICRO - c.tick:
        raise Reject(codes.INVALID_PRICE)
    if price_micro % c.tick:
        raise Reject(codes.INVALID_TICK)
    return (price_micro if outcome == YES else MICRO - price_micro) // c.tick


def link(c: Contract, o: Order) -> None:
    """Append a resting order at the back of its level (time priority)."""
    i = o.price_i
    if o.side == BID:
        tail = c.bid_tail[i]
        if tail is None:
            c.bid_head[i] = o
        else:
            tail.next = o
            o.prev = tail
        c.bid_tail[i] = o
        c.bid_qty[i] += o.remaining
        if i > c.best_bid:
            c.best_bid = i
    else:
        tail = c.ask_tail[i]
        if tail is None:
            c.ask_head[i] = o
        else:
            tail.next = o
            o.prev = tail
        c.ask_tail[i] = o
        c.ask_qty[i] += o.remaining
        if i < c.best_ask:
            c.best_ask = i


def unlink(c: Contract, o: Order) -> None:
    """Take a resting order out of its level; its remaining size leaves the level total."""
    i = o.price_i
    prev, nxt = o.prev, o.next
    if o.side == BID:
        if prev is None:
            c.bid_head[i] = nxt
        else:
            prev.next = nxt
        if nxt is None:
            c.bid_tail[i] = prev
        else:
            nxt.prev = prev
        c.bid_qty[i] -= o.remaining
        if c.bid_head[i] is None and i == c.best_bid:
            c.best_bid = next_bid(c, i)
    else:
        if prev is None:
            c.ask_head[i] = nxt
        else:
            prev.next = nxt
        if nxt is None:
            c.ask_tail[i] = prev
        else:
            nxt.prev = prev
        c.ask_qty[i] -= o.remaining
        if c.ask_head[i] is None and i == c.best_ask:
            c.best_ask = next_ask(c, i)
    o.prev = o.next = None


def next_bid(c: Contract, i: int) -> int:
    """Highest non-empty bid level below i, or 0."""
    head = c.bid_head
    i -= 1
    while i > 0 and head[i] is None:
        i -= 1
    return i


def next_ask(c: Contract, i: int) -> int:
    """Lowest non-empty ask level above i, or `levels`."""
    head = c.ask_head
    n = c.levels
    i += 1
    while i < n and head[i] is None:
        i += 1
    return i


def shrink(c: Contract, o: Order, by: int) -> None:
    """Reduce a resting order's remaining size in place, keeping its queue position."""
    o.remaining -= by
    if o.side == BID:
        c.bid_qty[o.price_i] -= by
    else:
        c.ask_qty[o.price_i] -= by


def depth(c: Contract, side: int, levels_max: int = 1_000) -> list[tuple[int, int]]:
    """Aggregated (yes_price_micro, size) levels from the best price outward."""
    out: list[tuple[int, int]] = []
    if side == BID:
        i, qty, step, stop = c.best_bid, c.bid_qty, -1, 0
    else:
        i, qty, step, stop = c.best_ask, c.ask_qty, 1, c.levels
    while i != stop and len(out) < levels_max:
        if qty[i]:
            out.append((i * c.tick, qty[i]))
        i += step
    return out


def level_orders(c: Contract, side: int, i: int) -> list[Order]:
    """The orders resting at one level, in time priority."""
    o = c.bid_head[i] if side == BID else c.ask_head[i]
    out = []
    while o is not None:
        out.append(o)
        o = o.next
    return out


def queue_position(o: Order) -> tuple[int, int]:
    """(orders ahead, shares ahead) of a resting order at its level."""
    ahead_orders = ahead_shares = 0
    p = o.prev
    while p is not None:
        ahead_orders += 1
        ahead_shares += p.remaining
        p = p.prev
    return ahead_orders, ahead_shares
