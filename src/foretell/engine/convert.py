"""Conversion between outcomes of a categorical market, and the market's converter account.

In an n-outcome market exactly one outcome wins, so k NO of outcome i pay exactly what k YES of
every other outcome pay, in every world. `convert` swaps one for the other atomically. The
books stay binary (one YES/NO pair per contract, `locked collateral == YES out == NO out` per
contract), so the swap goes through the market's converter account (id `converter_id(market)`):

  forward (k NO of i -> k YES of each j != i): the k NO of i move to the converter; on every
  other contract k pairs are minted, the YES to the holder and the NO to the converter. The
  converter then holds k more NO of *every* outcome (a "NO set"), which pays exactly (n - 1) k
  USDC whatever happens; the (n - 1) k USDC of collateral minted for it is advanced against
  that set and recorded as the market's conversion debt, (n - 1) * conv_sets USDC.
  reverse (k YES of each j != i -> k NO of i): the holder's YES of each j != i merge with the
  converter's NO of j (collateral released repays the debt) and the converter's k NO of i go to
  the holder. Well defined only while the converter holds k sets (it never goes short).

Conservation reads: cash + collateral + bonds + fees == deposits + conversion debt. At
settlement the converter's sets pay (n - 1) per set, repaying the debt exactly. At void each
share pays the void price, so a set pays n (1 - v): enough only when v <= 1/n, which is why
conversion is refused in markets whose void payout per YES share is above 1/n (a surplus of at
most n micro-USDC per set goes to the fee account). The pool uses the same sets: when it holds
NO of every outcome it merges them here into cash (`merge_no_sets`), and YES of every outcome
against the converter's NO sets (`merge_yes_sets`), keeping its wealth in every world unchanged
while freeing the cash it quotes with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from foretell.domain import codes
from foretell.domain import events as ev
from foretell.domain import markets as mk
from foretell.domain.codes import Reject
from foretell.domain.commands import Convert
from foretell.domain.units import MICRO
from foretell.engine.ledger import drop_if_empty, merge_pairs, position
from foretell.engine.state import Account, Contract, Market

if TYPE_CHECKING:
    from foretell.engine.engine import Engine


def converter_id(market_id: int) -> int:
    return -2 * market_id - 1


def allowed(m: Market) -> bool:
    n = len(m.contracts)
    return n >= 3 and m.void_yes_micro * n <= MICRO


def _converter(e: Engine, m: Market) -> Account:
    a = m.converter
    if a is None:
        a = m.converter = e.accounts[converter_id(m.id)] = Account(converter_id(m.id))
    return a


def convert(e: Engine, c: Convert) -> int:
    m = e.market(c.market)
    if m.status != mk.OPEN:
        raise Reject(codes.MARKET_NOT_OPEN)
    if not allowed(m):
        raise Reject(codes.CONVERSION_NOT_ALLOWED)
    n = len(m.contracts)
    if not 0 <= c.outcome < n:
        raise Reject(codes.INVALID_OUTCOME)
    k = c.size
    if not 1 <= k <= m.size_max:
        raise Reject(codes.SIZE_OUT_OF_RANGE)
    a = e.account(c.account)
    source = m.contracts[c.outcome]
    others = [x for x in m.contracts if x is not source]
    if not c.to_no:
        pos = a.positions.get(source.id)
        if pos is None or pos[1] - pos[3] < k:
            raise Reject(codes.INSUFFICIENT_SHARES)
        conv = _converter(e, m)
        pos[1] -= k
        position(conv, source)[1] += k
        drop_if_empty(a, source, pos)
        for x in others:
            x.collateral += k
            x.yes_out += k
            x.no_out += k
            position(a, x)[0] += k
            position(conv, x)[1] += k
        m.conv_sets += k
        for x in others:
            merge_pairs(e, a, x)
    else:
        for x in others:
            pos = a.positions.get(x.id)
            if pos is None or pos[0] - pos[2] < k:
                raise Reject(codes.INSUFFICIENT_SHARES)
        if m.conv_sets < k:
            raise Reject(codes.CONVERSION_NOT_ALLOWED, "the market holds fewer sets")
        conv = _converter(e, m)
        for x in others:
            _burn_pairs(a, conv, x, k)
        cpos = conv.positions[source.id]
        cpos[1] -= k
        drop_if_empty(conv, source, cpos)
        position(a, source)[1] += k
        m.conv_sets -= k
        merge_pairs(e, a, source)
    e.events.append(ev.Converted(e.now_ms, m.id, a.id, c.outcome, k, c.to_no,
                                 tuple(x.id for x in m.contracts)))
    return k


def merge_no_sets(e: Engine, m: Market, a: Account) -> int:
    """Turn the complete NO sets an account holds (unreserved) into cash through the converter;
    returns the sets merged. Used for the pool, whose wealth in every world is unchanged."""
    sets = -1
    for x in m.contracts:
        pos = a.positions.get(x.id)
        free_no = 0 if pos is None else pos[1] - pos[3]
        if sets < 0 or free_no < sets:
            sets = free_no
    if sets <= 0:
        return 0
    conv = _converter(e, m)
    for x in m.contracts:
        pos = a.positions[x.id]
        pos[1] -= sets
        drop_if_empty(a, x, pos)
        position(conv, x)[1] += sets
    m.conv_sets += sets
    a.free += (len(m.contracts) - 1) * sets * MICRO
    e.events.append(ev.Converted(e.now_ms, m.id, a.id, -1, sets, False,
                                 tuple(x.id for x in m.contracts)))
    return sets


def merge_yes_sets(e: Engine, m: Market, a: Account) -> int:
    """Turn complete YES sets an account holds (unreserved) into cash against the converter's
    NO sets: on every contract the pairs merge, releasing n USDC per set, of which 1 goes to
    the account and n - 1 repay the converter's debt. Returns the sets merged (at most the
    converter's). Used for the pool, whose wealth in every world is unchanged."""
    sets = m.conv_sets
    for x in m.contracts:
        pos = a.positions.get(x.id)
        free_yes = 0 if pos is None else pos[0] - pos[2]
        if free_yes < sets:
            sets = free_yes
    if sets <= 0:
        return 0
    conv = _converter(e, m)
    for x in m.contracts:
        _burn_pairs(a, conv, x, sets)
    m.conv_sets -= sets
    a.free += sets * MICRO
    e.events.append(ev.Converted(e.now_ms, m.id, a.id, -2, sets, True,
                                 tuple(x.id for x in m.contracts)))
    return sets


def settle_converter(e: Engine, m: Market) -> None:
    """After the payout: the converter's sets have paid; repay the debt, surplus to fees."""
    conv = m.converter
    if conv is None:
        return
    debt = (len(m.contracts) - 1) * m.conv_sets * MICRO
    if conv.positions or conv.free < debt:
        raise AssertionError(f"converter of market {m.id}: {conv.free} paid < debt {debt}")
    surplus = conv.free - debt
    conv.free = 0
    m.conv_sets = 0
    e.fees_micro += surplus
    m.fees_micro += surplus
    del e.accounts[conv.id]
    m.converter = None


def _burn_pairs(a: Account, conv: Account, x: Contract, k: int) -> None:
    """k pairs of contract `x` leave: `a`'s YES and the converter's NO, and the 1 USDC each
    locked for them (the caller says where that USDC goes)."""
    pos = a.positions[x.id]
    pos[0] -= k
    drop_if_empty(a, x, pos)
    cpos = conv.positions[x.id]
    cpos[1] -= k
    drop_if_empty(conv, x, cpos)
    x.collateral -= k
    x.yes_out -= k
    x.no_out -= k
