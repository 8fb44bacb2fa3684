"""Ledger side of the engine: cash, reservations, positions, collateral and fees.

Keyed by account. The matching side hands it plain facts (this order filled q at this price, this
order left the book) and it moves money. Invariants kept here, checked by `audit`:
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

from foretell.domain.codes import InvariantBroken
from foretell.domain.orders import BUY
from foretell.domain.units import MICRO
from foretell.engine.state import Account, Contract, Order


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


def fill_side(o: Order, yes_price: int, q: int, rate_ppm: int, fee_max_ppm: int) -> int:
    """Apply one side of a fill to its order and account; returns the fee charged."""
    notional = (yes_price if o.outcome == 0 else MICRO - yes_price) * q
    basis = o.fee_basis + notional * rate_ppm
    o.fee_basis = basis
    due = fee_due(basis)
    fee = due - o.fee_charged
    o.fee_charged = due
    o.notional += notional
    o.filled += q
    o.remaining -= q
    a = o.account
    c = o.contract
    pos = a.positions.get(c.id)
    if pos is None:
        pos = position(a, c)
    if o.action == BUY:
        cost = notional + fee
        pos[o.outcome] += q
        if o.spend_rem >= 0:
            o.spend_rem -= notional
            cap = o.spend_rem
        else:
            cap = o.out_price * o.remaining
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
