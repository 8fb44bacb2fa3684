"""The matching loop: a taker order against the opposite side of one unified book.

Price-time priority; every fill executes at the resting order's price, so price improvement goes
to the taker. Self-trade prevention happens here. The matcher side of the seam (engine/seam.py):
it moves orders and sizes, never money; what a fill or a departure means for cash, shares and
fees is the ledger's, handed over as messages. Two steps: `plan` walks the book (and the
market's liquidity pool, if it has one) read-only and says what the taker would do (the only
place the walk's rules are written), `match` applies that walk. The fill-or-kill check and the
dry-run quote read the same walk, so they cannot disagree with the order. This is the hot path:
locals instead of attribute lookups, ints only, one walk and one Fill event per fill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from foretell.domain.limits import fills_per_command_max
from foretell.domain.orders import (
    BID,
    DONE_FILL_LIMIT,
    DONE_FILLED,
    DONE_SELF_TRADE,
    FILL_MERGE,
    FILL_MINT,
    FILL_TRANSFER,
    STP_CANCEL_MAKER,
    STP_CANCEL_TAKER,
)
from foretell.domain.units import MICRO
from foretell.engine import pool
from foretell.engine.book import next_ask, next_bid, unlink
from foretell.engine.state import Contract, Order

if TYPE_CHECKING:
    from foretell.engine.engine import Engine


class Walk:
    """What a taker would do against the book as it is, found without changing anything.

    `makers` are the resting orders it meets, in price-time priority: each one it trades with is
    taken whole except `last`, of which it takes `last_q`; its own orders are in the list too
    (self-trade prevention cancels them), except where it stops at one. `stop` is why it would
    stop early ("spent", "self_trade", "fill_limit", or "" when it ran out of size or of book
    within its limit), and `end_i` the level where the walk ended."""

    __slots__ = ("makers", "last", "last_q", "fills", "filled", "spend_left", "last_price",
                 "stop", "end_i", "steps")

    def __init__(self, makers: list[Order], last: Order | None, last_q: int, fills: int,
                 filled: int, spend_left: int, last_price: int, stop: str, end_i: int) -> None:
        self.makers = makers
        self.last = last
        self.last_q = last_q
        self.fills = fills
        self.filled = filled
        self.spend_left = spend_left  # by spend: what would be left of it; -1 = by size
        self.last_price = last_price  # the taker's own-outcome price of its last fill
        self.stop = stop
        self.end_i = end_i
        # Pool fills, in a market with a pool: (makers before it, level, size), in walk order.
        self.steps: list[tuple[int, int, int]] | None = None


def plan(c: Contract, taker: Order) -> Walk:
    """Walk the opposite side from the best price up to the taker's limit, read-only.

    The one statement of the matching rules: `match` applies a walk, the fill-or-kill check and
    the dry-run quote read one. Only the taker's size and spend change as it goes (a maker is
    either taken whole, or partly when the taker is done), so nothing else needs tracking.

    In a market with a liquidity pool the walk goes price by price through the book and the
    pool's curve together: at each level the resting orders come first (they have priority at an
    equal price), then the pool trades what its curve offers there (engine/pool.py), so a taker
    always gets the better of the two. The pool is walked on a read-only view of its state,
    updated as it trades; its fills are the walk's `steps`."""
    tick = c.tick
    levels = c.levels
    limit_i = taker.price_i
    bid = taker.side == BID
    yes = taker.outcome == 0
    owner = taker.owner
    stp = taker.stp
    if bid:
        heads = c.ask_head
        i = c.best_ask
    else:
        heads = c.bid_head
        i = c.best_bid
    p = c.market.pool
    view: pool.View | None = None
    steps: list[tuple[int, int, int]] | None = None
    pool_i = 0
    if p is not None:
        view = pool.View(p, c)
        pool_i = pool.best_level(view, bid, tick, levels)
        i = min(i, pool_i) if bid else max(i, pool_i)
        steps = []
    need = taker.remaining
    spend = taker.spend_rem
    makers: list[Order] = []
    last: Order | None = None
    last_q = fills = filled = last_price = 0
    stop = ""
    while need > 0:
        if bid:
            if i > limit_i or i >= levels:
                break
        elif i < limit_i or i <= 0:
            break
        own = i * tick if yes else MICRO - i * tick
        maker = heads[i]
        while maker is not None:
            q = need
            if spend >= 0:
                q = spend // own
                if q == 0:
                    stop = "spent"  # checked first: a spent order never meets its own order
                    break
                if q > need:
                    q = need
            if maker.owner == owner:
                if stp != STP_CANCEL_TAKER:
                    makers.append(maker)
                if stp != STP_CANCEL_MAKER:
                    stop = DONE_SELF_TRADE
                    break
                maker = maker.next
                continue
            if q > maker.remaining:
                q = maker.remaining
            makers.append(maker)
            last = maker
            last_q = q
            last_price = own
            fills += 1
            filled += q
            need -= q
            if spend >= 0:
                spend -= q * own
            if q < maker.remaining:  # the taker is done: no size left, or spend for no share
                if need and fills < fills_per_command_max:
                    stop = "spent"
                break
            if need == 0 or fills >= fills_per_command_max:
                break
            maker = maker.next
        if stop or need == 0:
            break
        if fills >= fills_per_command_max:
            stop = DONE_FILL_LIMIT
            break
        if view is None:
            i = next_ask(c, i) if bid else next_bid(c, i)
            continue
        # The pool's turn at this level, after the resting orders.
        if view.active and (i >= pool_i if bid else i <= pool_i):
            q = need
            if spend >= 0:
                q = min(need, spend // own)
                if q == 0:
                    stop = "spent"
                    break
            k, more = pool.depth(view, bid, i * tick, q)
            if k:
                pool.take(view, bid, i * tick, k)
                assert steps is not None
                steps.append((len(makers), i, k))
                last_price = own
                fills += 1
                filled += k
                need -= k
                if spend >= 0:
                    spend -= k * own
                if need and k == q:  # spend-limited: no money for one more share here
                    stop = "spent"
                    break
                if need == 0:
                    break
                if fills >= fills_per_command_max:
                    stop = DONE_FILL_LIMIT
                    break
            if not more:
                view.active = False
        nb = next_ask(c, i) if bid else next_bid(c, i)
        if view.active:
            i = min(nb, i + 1) if bid else max(nb, i - 1)
        else:
            i = nb
    walk = Walk(makers, last, last_q, fills, filled, spend, last_price, stop, i)
    walk.steps = steps
    return walk


def fills_in_full(walk: Walk, taker: Order) -> bool:
    """Whether a fill-or-kill order passes: every share of its size; or, by spend, at least one
    share and until what is left of the spend is less than the price of one more share, where
    one more share is the next one offered within its protection, or, when the book within the
    protection runs out, one more at the last price paid. So it is killed exactly when a deeper
    book would have filled more, whatever the protection price beyond the book."""
    if walk.filled == taker.remaining:
        return True
    if taker.spend_rem < 0 or walk.filled == 0:
        return False
    return walk.stop == "spent" or (walk.stop == "" and walk.spend_left < walk.last_price)


def match(engine: Engine, taker: Order, walk: Walk) -> str:
    """Apply `walk` (planned for `taker` on the book as it is): fills, self-trade cancels, best
    price. Returns "" or why the taker had to stop."""
    c = taker.contract
    taker_bid = taker.side == BID
    first_i = c.best_ask if taker_bid else c.best_bid
    steps = walk.steps
    if steps is None:
        _fill_makers(engine, taker, walk.makers, walk.last, walk.last_q)
    else:
        if steps:
            first_i = min(first_i, steps[0][1]) if taker_bid else max(first_i, steps[0][1])
        done = 0
        for before, i, q in steps:
            if before > done:
                _fill_makers(engine, taker, walk.makers[done:before], walk.last, walk.last_q)
                done = before
            # (the pool's settlement takes the taker's size, in the parts it fills it in)
            c.volume += q
            c.last_i = i
            trade = engine.trade_out
            trade.taker = taker
            trade.maker = None
            trade.i = i
            trade.q = q
            trade.kind = FILL_TRANSFER
            engine.settle(trade)
        if done < len(walk.makers):
            _fill_makers(engine, taker, walk.makers[done:], walk.last, walk.last_q)
    i = walk.end_i
    if taker_bid:
        heads = c.ask_head
        if i < c.levels and heads[i] is None:
            i = next_ask(c, i)
        c.best_ask = i
    else:
        heads = c.bid_head
        if i > 0 and heads[i] is None:
            i = next_bid(c, i)
        c.best_bid = i
    if walk.fills:
        engine.moved(c, first_i, c.last_i)
    return walk.stop


def _fill_makers(engine: Engine, taker: Order, makers: list[Order], last: Order | None,
                 last_q: int) -> None:
    """Fill the taker against resting orders of a walk, in order (the hot loop). The book and
    the orders' sizes change here; each fill goes to the ledger as a Trade, each maker that
    leaves as a Done (engine/seam.py)."""
    c = taker.contract
    tick = c.tick
    owner = taker.owner
    taker_yes = taker.outcome == 0
    taker_bid = taker.side == BID
    taker_buys = taker.action == 0
    if taker_bid:
        heads, tails, qtys = c.ask_head, c.ask_tail, c.ask_qty
    else:
        heads, tails, qtys = c.bid_head, c.bid_tail, c.bid_qty
    trade = engine.trade_out  # the engine's one message of each kind, refilled (seam.py)
    trade.taker = taker
    gone = engine.done_out
    for maker in makers:
        if maker.owner == owner:
            unlink(c, maker)
            gone.order = maker
            gone.reason = DONE_SELF_TRADE
            engine.done(gone)
            continue
        q = last_q if maker is last else maker.remaining
        i = maker.price_i
        # The sizes (Order.take, written out: a maker never buys by spend)
        taker.remaining -= q
        taker.filled += q
        if taker.spend_rem >= 0:
            taker.spend_rem -= q * (i * tick if taker_yes else MICRO - i * tick)
        maker.remaining -= q
        maker.filled += q
        qtys[i] -= q
        # Both buy: a pair is minted; both sell: a pair is merged; else shares change hands.
        if taker_buys == (maker.action == 0):
            kind = FILL_MINT if taker_buys else FILL_MERGE
        else:
            kind = FILL_TRANSFER
        c.volume += q
        c.last_i = i
        trade.maker = maker
        trade.i = i
        trade.q = q
        trade.kind = kind
        engine.settle(trade)
        if maker.remaining == 0:  # taken whole: it is the head of its level by now
            nxt = maker.next
            heads[i] = nxt
            if nxt is None:
                tails[i] = None
            else:
                nxt.prev = None
            maker.next = None
            gone.order = maker
            gone.reason = DONE_FILLED
            engine.done(gone)
