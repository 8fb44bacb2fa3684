"""Read-only views of engine state for the edges (pipeline, API): never on the matching path."""

from __future__ import annotations

from typing import Final

from foretell.domain import events as ev
from foretell.engine.engine import Engine

# Event classes as Final names (compiled, C statics) and dispatch by exact class
# (`type(e) is _X`, a pointer comparison): `isinstance(e, ev.X)` compiled is a module
# attribute lookup plus, when it fails (most events fail most tests), the metaclass's
# __instancecheck__, about a thousand instructions each; these run on every command's events.
# Event classes are final (none is subclassed), so the two tests agree.
_OrderAccepted: Final = ev.OrderAccepted
_OrderDone: Final = ev.OrderDone
_OrderAmended: Final = ev.OrderAmended
_Fill: Final = ev.Fill
_Netted: Final = ev.Netted
_TriggerFired: Final = ev.TriggerFired
_Payout: Final = ev.Payout
_Cash: Final = ev.Cash
_Bond: Final = ev.Bond
_Converted: Final = ev.Converted
_PoolFunded: Final = ev.PoolFunded
_PoolClosed: Final = ev.PoolClosed
_Balance: Final = ev.Balance
_Position: Final = ev.Position


def touched_state(engine: Engine, events: list[ev.Event]) -> list[ev.Event]:
    """Balance and Position events for every account and position the events touched."""
    accounts: dict[int, None] = {}
    positions: dict[tuple[int, int], None] = {}
    for e in events:
        if type(e) is _Fill:
            accounts[e.taker_account] = accounts[e.maker_account] = None
            positions[(e.taker_account, e.contract)] = None
            positions[(e.maker_account, e.contract)] = None
            m = engine.contracts[e.contract].market
            if m.creator and m.creator_share_ppm:
                accounts[m.creator] = None  # its fee share
        elif (type(e) is _OrderAccepted or type(e) is _OrderDone or type(e) is _OrderAmended
              or type(e) is _Netted or type(e) is _TriggerFired or type(e) is _Payout):
            accounts[e.account] = None
            positions[(e.account, e.contract)] = None
        elif type(e) is _Cash:
            accounts[e.account] = None
        elif type(e) is _Bond:
            if e.account:
                accounts[e.account] = None
        elif type(e) is _Converted:
            accounts[e.account] = None
            for contract_id in e.contracts:
                positions[(e.account, contract_id)] = None
        elif type(e) is _PoolFunded:
            accounts[e.funder] = accounts[e.pool_account] = None
        elif type(e) is _PoolClosed:
            accounts[e.funder] = None
    now = engine.now_ms
    out: list[ev.Event] = []
    for account_id in accounts:
        a = engine.accounts.get(account_id)
        if a is not None:
            out.append(_Balance(now, account_id, a.free, a.reserved))
    for account_id, contract_id in positions:
        a = engine.accounts.get(account_id)
        pos = a.positions.get(contract_id) if a is not None else None
        y, n, yr, nr = pos if pos is not None else (0, 0, 0, 0)
        out.append(_Position(now, account_id, contract_id, y, n, yr, nr))
    return out


def changed_levels(engine: Engine, events: list[ev.Event]) -> dict[int, list[int]]:
    """YES-price levels (micro) per contract that the events may have changed."""
    touched: dict[int, dict[int, None]] = {}
    for e in events:
        if type(e) is _OrderAccepted:
            yes_price = e.price_micro if e.outcome == 0 else 1_000_000 - e.price_micro
            touched.setdefault(e.contract, {})[yes_price] = None
        elif type(e) is _Fill:
            touched.setdefault(e.contract, {})[e.yes_price_micro] = None
        elif type(e) is _OrderDone:
            touched.setdefault(e.contract, {})[e.yes_price_micro] = None
        elif type(e) is _OrderAmended:
            levels = touched.setdefault(e.contract, {})
            levels[e.yes_price_micro] = levels[e.old_yes_price_micro] = None
    return {contract: list(levels) for contract, levels in touched.items()}


def level_sizes(engine: Engine, contract_id: int,
                yes_prices: list[int]) -> tuple[tuple[int, int, int], ...]:
    """(yes_price_micro, bid size, ask size) at the given levels, from the live book."""
    c = engine.contracts[contract_id]
    return tuple((p, c.bid_qty[p // c.tick], c.ask_qty[p // c.tick])
                 for p in sorted(yes_prices) if 0 < p < 1_000_000)


def book_depth(engine: Engine, contract_id: int) -> tuple[list[tuple[int, int]],
                                                          list[tuple[int, int]]]:
    """Whole aggregated book: bids best first, asks best first, (yes_price_micro, size)."""
    from foretell.engine.book import depth

    c = engine.contracts[contract_id]
    return depth(c, 0), depth(c, 1)
