"""Read-only views of engine state for the edges (pipeline, API): never on the matching path."""

from __future__ import annotations

from foretell.domain import events as ev
from foretell.engine.engine import Engine


def touched_state(engine: Engine, events: list[ev.Event]) -> list[ev.Event]:
    """Balance and Position events for every account and position the events touched."""
    accounts: dict[int, None] = {}
    positions: dict[tuple[int, int], None] = {}
    for e in events:
        if isinstance(e, ev.Fill):
            accounts[e.taker_account] = accounts[e.maker_account] = None
            positions[(e.taker_account, e.contract)] = None
            positions[(e.maker_account, e.contract)] = None
            m = engine.contracts[e.contract].market
            if m.creator and m.creator_share_ppm:
                accounts[m.creator] = None  # its fee share
        elif isinstance(e, (ev.OrderAccepted, ev.OrderDone, ev.OrderAmended, ev.Netted,
                            ev.TriggerFired, ev.Payout)):
            accounts[e.account] = None
            positions[(e.account, e.contract)] = None
        elif isinstance(e, ev.Cash):
            accounts[e.account] = None
        elif isinstance(e, ev.Bond):
            if e.account:
                accounts[e.account] = None
        elif isinstance(e, ev.Converted):
            accounts[e.account] = None
            for contract_id in e.contracts:
                positions[(e.account, contract_id)] = None
        elif isinstance(e, ev.PoolFunded):
            accounts[e.funder] = accounts[e.pool_account] = None
        elif isinstance(e, ev.PoolClosed):
            accounts[e.funder] = None
    now = engine.now_ms
    out: list[ev.Event] = []
    for account_id in accounts:
        a = engine.accounts.get(account_id)
        if a is not None:
            out.append(ev.Balance(now, account_id, a.free, a.reserved))
    for account_id, contract_id in positions:
        a = engine.accounts.get(account_id)
        pos = a.positions.get(contract_id) if a is not None else None
        y, n, yr, nr = pos if pos is not None else (0, 0, 0, 0)
        out.append(ev.Position(now, account_id, contract_id, y, n, yr, nr))
    return out


def changed_levels(engine: Engine, events: list[ev.Event]) -> dict[int, list[int]]:
    """YES-price levels (micro) per contract that the events may have changed."""
    touched: dict[int, dict[int, None]] = {}
    for e in events:
        if isinstance(e, ev.Fill):
            touched.setdefault(e.contract, {})[e.yes_price_micro] = None
        elif isinstance(e, ev.OrderAccepted):
            yes_price = e.price_micro if e.outcome == 0 else 1_000_000 - e.price_micro
            touched.setdefault(e.contract, {})[yes_price] = None
        elif isinstance(e, ev.OrderDone):
            touched.setdefault(e.contract, {})[e.yes_price_micro] = None
        elif isinstance(e, ev.OrderAmended):
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
