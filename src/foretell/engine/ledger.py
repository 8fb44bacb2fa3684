"""Ledger side of the engine: cash, reservations, positions, collateral and fees.

Keyed by account. The only place money moves on the order path: the matcher hands it messages
(engine/seam.py: a Trade, a Done) and it settles them; it never touches a book. Invariants kept
here, checked by `audit`:
  - free >= 0 and reserved >= 0 for every account; reserved == sum of live buy reservations;
  - a buy's reservation always covers its worst-case remaining cost plus worst-case fee;
  - shares reserved <= shares held, == sum of live sell orders' remaining;
  - after every change, an account never holds unreserved YES and unreserved NO of one contract
    (the pairs are merged back into cash at once).

The cheapest of these are asserted where they can break (a fill, a release, a merge) and raise
`InvariantBroken`: the engine stops rather than go on from a state that lost money.

Fees are rounded up per order on the running total: each fill adds notional * rate to the order's
fee basis and charges ceil(basis / 1e6) minus what it already paid, so the total fee of an order is
exactly its notional fee rounded up once, and a reservation computed at the limit always covers it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from foretell.domain import events as ev
from foretell.domain.codes import InvariantBroken
from foretell.domain.orders import BUY, FILL_MERGE, FILL_MINT
from foretell.domain.units import MICRO
from foretell.engine.seam import Trade
from foretell.engine.state import Account, Contract, Market, Order

if TYPE_CHECKING:
    from foretell.engine.engine import Engine

# Event classes as Final names: compiled, each is a C static (no module attribute lookup).
_Fill: Final = ev.Fill
_Netted: Final = ev.Netted


def position(a: Account, c: Contract) -> list[int]:
    pos = a.positions.get(c.id)
    if pos is None:
        pos = [0, 0, 0, 0]
        a.positions[c.id] = pos
        c.positions[a.id] = pos
    return pos


def drop_if_empty(a: Account, c: Contract, pos: list[int]) -> None:
    if not (pos[0] or pos[1] or pos[2] or pos[3]):
        del a.positions[c.id]
        del c.positions[a.id]


def fee_due(basis: int) -> int:
    """The fee owed on a fee basis (notional x rate in ppm, summed over fills), rounded up."""
    return -(-basis // MICRO)


def buy_reservation(cap_micro: int, fee_basis: int, fee_charged: int, fee_max_ppm: int) -> int:
    """Cash a buy must still hold: its remaining notional cap plus the most fee it can still owe."""
    return cap_micro + fee_due(fee_basis + cap_micro * fee_max_ppm) - fee_charged


def remaining_cap(o: Order) -> int:
    return o.spend_rem if o.spend_rem >= 0 else o.out_price * o.remaining


def fund(o: Order) -> None:
    """A funded order in: what `Engine.admit` found it must hold leaves free cash (a buy) or
    free shares (a sell) before the matcher sees it."""
    a = o.account
    if o.action == BUY:
        a.free -= o.reserved
        a.reserved += o.reserved
    else:
        a.positions[o.contract.id][2 + o.outcome] += o.size


def settle(e: Engine, t: Trade) -> None:
    """A trade out of the matcher: both sides' cash, shares and fees, the pairs either side
    can merge back, the contract's collateral (up for a mint, down for a merge), the fees'
    split, and the Fill event. Events in the order a reader needs them: the maker's merge,
    the fill, the taker's merge."""
    taker = t.taker
    maker = t.maker
    assert taker is not None and maker is not None  # a pool's trade is settled by pool.fill
    c = taker.contract
    m = c.market
    i = t.i
    q = t.q
    yes_price = i * c.tick
    fee_max = m.fee_max_ppm
    taker_fee = fill_side(taker, yes_price, q, m.taker_ppm, fee_max)
    maker_fee = fill_side(maker, yes_price, q, m.maker_ppm, fee_max)
    ma = maker.account
    if maker.action == 0:
        mpos = ma.positions[c.id]
        if mpos[1 - maker.outcome] - mpos[3 - maker.outcome] > 0:
            merge_pairs(e, ma, c)
    kind = t.kind
    if kind:
        lock(c, kind, q)
    fee = taker_fee + maker_fee
    if m.creator_share_ppm:
        collect_fees(e, m, fee)
    else:
        m.fees_micro += fee
        e.fees_micro += fee
    ta = taker.account
    e.events.append(_Fill(e.now, c.id, c.yes_keys[i], q, kind,
                          taker.key, ta.key, taker.outcome, taker.action, taker_fee,
                          maker.key, ma.key, maker.outcome, maker.action, maker_fee))
    if taker.action == 0:
        tpos = ta.positions[c.id]
        if tpos[1 - taker.outcome] - tpos[3 - taker.outcome] > 0:
            merge_pairs(e, ta, c)


def lock(c: Contract, kind: int, q: int) -> None:
    """The contract's collateral after a fill of q shares: one USDC locked per pair minted,
    one released per pair merged, none for a transfer."""
    if kind == FILL_MINT:
        c.collateral += q
        c.yes_out += q
        c.no_out += q
    elif kind == FILL_MERGE:
        c.collateral -= q
        c.yes_out -= q
        c.no_out -= q


def merge_pairs(e: Engine, a: Account, c: Contract) -> None:
    """`net`, and the Netted event when it merged any pairs."""
    pairs = net(a, c)
    if pairs:
        e.events.append(_Netted(e.now, a.key, c.id, pairs))


def collect_fees(e: Engine, m: Market, fee_micro: int) -> None:
    """A fee charged in market m: the creator's share to the creator, the rest to the
    exchange."""
    if m.creator and m.creator_share_ppm:
        cut = fee_micro * m.creator_share_ppm // MICRO
        creator = e.accounts.get(m.creator)
        if creator is not None and cut:
            creator.free += cut
            m.creator_fees_micro += cut
            fee_micro -= cut
    m.fees_micro += fee_micro
    e.fees_micro += fee_micro


def fill_side(o: Order, yes_price: int, q: int, rate_ppm: int, fee_max_ppm: int) -> int:
    """Settle one side of a fill (its size already taken by the matcher, `Order.take`) in its
    order's and account's money and shares; returns the fee charged."""
    notional = (yes_price if o.outcome == 0 else MICRO - yes_price) * q
    basis = o.fee_basis + notional * rate_ppm
    o.fee_basis = basis
    due = fee_due(basis)
    fee = due - o.fee_charged
    o.fee_charged = due
    o.notional += notional
    a = o.account
    c = o.contract
    pos = a.positions.get(c.id)
    if pos is None:
        pos = position(a, c)
    if o.action == BUY:
        cost = notional + fee
        pos[o.outcome] += q
        cap = remaining_cap(o)
        need = buy_reservation(cap, basis, due, fee_max_ppm)
        release = o.reserved - cost - need
        if release < 0:  # the reservation did not cover this fill and the worst case after it
            raise InvariantBroken(f"order {o.id}: reservation short by {-release} micro-USDC")
        o.reserved = need
        a.reserved -= cost + release
        a.free += release
    else:
        pos[o.outcome] -= q
        pos[2 + o.outcome] -= q
        if pos[2 + o.outcome] < 0:  # sold shares that were not reserved for this order
            raise InvariantBroken(f"order {o.id}: account {a.id} sold unreserved shares")
        a.free += notional - fee
    return fee


def net(a: Account, c: Contract) -> int:
    """Merge unreserved YES/NO pairs of one contract back into cash; returns pairs merged."""
    pos = a.positions.get(c.id)
    if pos is None:
        return 0
    pairs = min(pos[0] - pos[2], pos[1] - pos[3])
    if pairs <= 0:
        return 0
    if c.collateral < pairs:  # every pair held was minted against 1 USDC locked
        raise InvariantBroken(f"contract {c.id}: {pairs} pairs merged, {c.collateral} locked")
    pos[0] -= pairs
    pos[1] -= pairs
    a.free += pairs * MICRO
    c.collateral -= pairs
    c.yes_out -= pairs
    c.no_out -= pairs
    drop_if_empty(a, c, pos)
    return pairs


def release(o: Order) -> int:
    """Give back what a departing order still holds: cash for a buy, shares for a sell.

    Returns the YES/NO pairs merged because shares came free (0 for a buy)."""
    a = o.account
    if o.action == BUY:
        a.reserved -= o.reserved
        if a.reserved < 0:
            raise InvariantBroken(f"account {a.id}: reserved cash below zero")
        a.free += o.reserved
        o.reserved = 0
        return 0
    c = o.contract
    pos = a.positions[c.id]
    pos[2 + o.outcome] -= o.remaining
    pairs = net(a, c)
    if not pairs:
        drop_if_empty(a, c, pos)
    return pairs


def free_shares(a: Account, c: Contract, outcome: int) -> int:
    pos = a.positions.get(c.id)
    return 0 if pos is None else pos[outcome] - pos[2 + outcome]
