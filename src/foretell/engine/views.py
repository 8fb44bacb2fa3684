"""Read-only views of engine state for the edges (pipeline, API): never on the matching path."""

from __future__ import annotations

from typing import Any

from foretell.domain import events as ev
from foretell.engine.engine import Engine

_ACCOUNT_FIELDS = {
    ev.ORDER_ACCEPTED: 3, ev.ORDER_DONE: 3, ev.ORDER_AMENDED: 3, ev.NETTED: 2,
    ev.TRIGGER_FIRED: 3, ev.CASH: 2, ev.PAYOUT: 4,
}
_CONTRACT_FIELDS = {
    ev.ORDER_ACCEPTED: 4, ev.ORDER_DONE: 4, ev.ORDER_AMENDED: 4, ev.NETTED: 3,
    ev.TRIGGER_FIRED: 4, ev.PAYOUT: 3,
}


def touched_state(engine: Engine, events: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """BALANCE and POSITION events for every account and position the events touched."""
    accounts: dict[int, None] = {}
    positions: dict[tuple[int, int], None] = {}
    for e in events:
        code = e[0]
        if code == ev.FILL:
            accounts[e[7]] = accounts[e[12]] = None
            positions[(e[7], e[2])] = positions[(e[12], e[2])] = None
            m = engine.contracts[e[2]].market
            if m.creator and m.creator_share_ppm:
                accounts[m.creator] = None  # its fee share
        elif code == ev.BOND:
            if e[3]:
                accounts[e[3]] = None
        elif code == ev.CONVERTED:
            accounts[e[3]] = None
            for contract_id in e[7]:
                positions[(e[3], contract_id)] = None
        elif code == ev.POOL_FUNDED:
            accounts[e[2]] = accounts[e[6]] = None
        elif code == ev.POOL_CLOSED:
            accounts[e[2]] = None
        elif code in _ACCOUNT_FIELDS:
            account = e[_ACCOUNT_FIELDS[code]]
            accounts[account] = None
            if code in _CONTRACT_FIELDS:
                positions[(account, e[_CONTRACT_FIELDS[code]])] = None
    now = engine.now_ms
    out: list[tuple[Any, ...]] = []
    for account_id in accounts:
        a = engine.accounts.get(account_id)
        if a is not None:
            out.append((ev.BALANCE, now, account_id, a.free, a.reserved))
    for account_id, contract_id in positions:
        a = engine.accounts.get(account_id)
        pos = a.positions.get(contract_id) if a is not None else None
        y, n, yr, nr = pos if pos is not None else (0, 0, 0, 0)
        out.append((ev.POSITION, now, account_id, contract_id, y, n, yr, nr))
    return out


def changed_levels(engine: Engine, events: list[tuple[Any, ...]]) -> dict[int, list[int]]:
    """YES-price levels (micro) per contract that the events may have changed."""
    touched: dict[int, dict[int, None]] = {}
    for e in events:
        code = e[0]
        if code == ev.FILL:
            touched.setdefault(e[2], {})[e[3]] = None
        elif code == ev.ORDER_ACCEPTED:
            yes_price = e[8] if e[5] == 0 else 1_000_000 - e[8]
            touched.setdefault(e[4], {})[yes_price] = None
        elif code == ev.ORDER_DONE:
            touched.setdefault(e[4], {})[e[8]] = None
        elif code == ev.ORDER_AMENDED:
            levels = touched.setdefault(e[4], {})
            levels[e[8]] = levels[e[9]] = None
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
