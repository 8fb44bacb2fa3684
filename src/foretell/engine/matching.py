"""The matching loop: a taker order against the opposite side of one unified book.

Price-time priority; every fill executes at the resting order's price, so price improvement goes
to the taker. Self-trade prevention happens here. This is the hot path: locals instead of
attribute lookups, ints only, one event tuple per fill and nothing else allocated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from foretell.domain import events as ev
from foretell.domain.events import FILL
from foretell.domain.limits import fills_per_command_max
from foretell.domain.orders import (
    BID,
    DONE_SELF_TRADE,
    FILL_MERGE,
    FILL_MINT,
    FILL_TRANSFER,
    STP_CANCEL_MAKER,
    STP_CANCEL_TAKER,
)
from foretell.engine.book import next_ask, next_bid
from foretell.engine.ledger import fill_side, net, position
from foretell.engine.state import Contract, Order

if TYPE_CHECKING:
    from foretell.engine.engine import Engine


def match(engine: Engine, taker: Order) -> str:
    """Fill `taker` against resting orders up to its limit. Returns "" or why it had to stop."""
    c = taker.contract
    m = c.market
    tick = c.tick
    taker_ppm = m.taker_ppm
    maker_ppm = m.maker_ppm
    fee_max = m.fee_max_ppm
    events = engine.events
    # Event fields fixed for the whole call, boxed once rather than once per fill.
    ts: Any = engine.now_ms
    cid: Any = c.id
    taker_id: Any = taker.id
    taker_account: Any = taker.account.id
    taker_outcome: Any = taker.outcome
    taker_action: Any = taker.action
    limit_i = taker.price_i
    taker_bid = taker.side == BID
    if taker_bid:
        heads, tails, qtys = c.ask_head, c.ask_tail, c.ask_qty
        i = c.best_ask
    else:
        heads, tails, qtys = c.bid_head, c.bid_tail, c.bid_qty
        i = c.best_bid
    first_i = i
    fills = 0
    stop = ""
    while taker.remaining > 0:
        if taker_bid:
            if i > limit_i or i >= c.levels:
                break
        elif i < limit_i or i <= 0:
            break
        yes_price = i * tick
        price: Any = yes_price
        maker = heads[i]
        while maker is not None:
            q = taker.remaining
            if taker.spend_rem >= 0:
                q = taker.spend_rem // (yes_price if taker.outcome == 0 else 1_000_000 - yes_price)
                if q == 0:
                    stop = "spent"
                    break
                if q > taker.remaining:
                    q = taker.remaining
            if maker.account is taker.account:
                if taker.stp != STP_CANCEL_TAKER:
                    nxt = maker.next
                    engine.cancel_resting(maker, DONE_SELF_TRADE)
                    maker = nxt
                if taker.stp != STP_CANCEL_MAKER:
                    stop = DONE_SELF_TRADE
                    break
                continue
            if maker.remaining < q:
                q = maker.remaining
            # Both sides of the fill, inlined (see ledger.fill_side for the one-side version).
            taker_fee = fill_side(taker, yes_price, q, taker_ppm, fee_max)
            # maker side
            notional = (yes_price if maker.outcome == 0 else 1_000_000 - yes_price) * q
            basis = maker.fee_basis + notional * maker_ppm
            maker.fee_basis = basis
            due = -(-basis // 1_000_000)
            maker_fee = due - maker.fee_charged
            maker.fee_charged = due
            maker.notional += notional
            maker.filled += q
            maker.remaining -= q
            ma = maker.account
            pos = ma.positions.get(c.id)
            if pos is None:
                pos = position(ma, c)
            if maker.action == 0:
                pos[maker.outcome] += q
                cap = maker.out_price * maker.remaining
                need = cap + -(-(basis + cap * fee_max) // 1_000_000) - due
                freed = maker.reserved - notional - maker_fee - need
                maker.reserved = need
                ma.reserved -= notional + maker_fee + freed
                ma.free += freed
                if pos[1 - maker.outcome] - pos[3 - maker.outcome] > 0:
                    _net(engine, maker, c)
            else:
                pos[maker.outcome] -= q
                pos[2 + maker.outcome] -= q
                ma.free += notional - maker_fee
            qtys[i] -= q
            if taker_bid:
                bid_action, ask_action = taker.action, maker.action
            else:
                bid_action, ask_action = maker.action, taker.action
            if bid_action == 0:
                if ask_action == 0:
                    kind = FILL_MINT
                    c.collateral += q
                    c.yes_out += q
                    c.no_out += q
                else:
                    kind = FILL_TRANSFER
            elif ask_action == 1:
                kind = FILL_MERGE
                c.collateral -= q
                c.yes_out -= q
                c.no_out -= q
            else:
                kind = FILL_TRANSFER
            fee = taker_fee + maker_fee
            if m.creator_share_ppm:
                engine.collect_fees(m, fee)
            else:
                m.fees_micro += fee
                engine.fees_micro += fee
            c.volume += q
            c.last_i = i
            events.append((FILL, ts, cid, price, q, kind,
                           taker_id, taker_account, taker_outcome, taker_action, taker_fee,
                           maker.id, ma.id, maker.outcome, maker.action, maker_fee))
            if taker.action == 0:
                tpos = taker.account.positions[c.id]
                if tpos[1 - taker.outcome] - tpos[3 - taker.outcome] > 0:
                    _net(engine, taker, c)
            fills += 1
            if maker.remaining == 0:
                nxt = maker.next
                heads[i] = nxt
                if nxt is None:
                    tails[i] = None
                else:
                    nxt.prev = None
                maker.next = None
                engine.finish_filled(maker)
                maker = nxt
            if taker.remaining == 0 or fills >= fills_per_command_max:
                break
        if stop:
            break
        if heads[i] is not None:
            if taker.remaining and fills >= fills_per_command_max:
                stop = "fill_limit"
            break
        i = next_ask(c, i) if taker_bid else next_bid(c, i)
        if taker.remaining and fills >= fills_per_command_max:
            stop = "fill_limit"
            break
    if taker_bid:
        if i < c.levels and heads[i] is None:
            i = next_ask(c, i)
        c.best_ask = i
    else:
        if i > 0 and heads[i] is None:
            i = next_bid(c, i)
        c.best_bid = i
    if fills:
        engine.moved(c, first_i, c.last_i)
    return stop


def _net(engine: Engine, o: Order, c: Contract) -> None:
    pairs = net(o.account, c)
    if pairs:
        engine.events.append((ev.NETTED, engine.now_ms, o.account.id, c.id, pairs))
