"""A seeded, mixed order workload: the same stream feeds the benchmark and the stress tests.

Commands are chosen against a shadow engine so that cancels and amends name live orders and
sells name shares that exist; the stream is then replayed, timed, into a fresh engine.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from foretell.domain import commands as cmd
from foretell.domain.orders import (
    BUY,
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    FOK,
    GTC,
    GTD,
    IOC,
    LIMIT,
    MARKET,
    NO,
    SELL,
    YES,
)
from foretell.domain.units import MICRO
from foretell.engine.engine import Engine

_TICK = 10_000


def commands(n: int, seed: int = 1, markets: int = 100, accounts: int = 1_000,
             categorical_every: int = 10, pool_share: float = 0.0) -> Iterator[cmd.Command]:
    """Yield n commands (setup included) from a seeded generator. With `pool_share`, that
    share of the markets gets a liquidity pool (subsidy 200 USDC) after the deposits; without,
    the stream is the one the benchmark always measured."""
    rng = random.Random(seed)
    shadow = Engine()
    ts = 1_000
    made = 0

    def emit(c: cmd.Command) -> cmd.Command:
        nonlocal made
        shadow.apply(c)
        shadow.events.clear()
        made += 1
        return c

    contracts: list[int] = []
    for m in range(1, markets + 1):
        outcomes = 4 if categorical_every and m % categorical_every == 0 else 2
        fee = rng.choice((0, 500, 1_000, 2_000))
        yield emit(cmd.CreateMarket(ts, m, outcomes, maker_fee_ppm=fee // 2, taker_fee_ppm=fee))
        contracts.extend(k.id for k in shadow.markets[m].contracts)
    for a in range(1, accounts + 1):
        yield emit(cmd.Deposit(ts, a, rng.randrange(1_000, 100_000) * MICRO))
    if pool_share > 0:
        yield emit(cmd.Deposit(ts, 1, markets * 200 * MICRO, "pool subsidies"))
        step = max(1, round(1 / pool_share))
        for m in range(1, markets + 1, step):
            yield emit(cmd.FundPool(ts, m, 1, 200 * MICRO))
    mids = {c: rng.randrange(20, 81) for c in contracts}
    placed: list[int] = []
    while made < n:
        ts += rng.randrange(0, 3)
        roll = rng.random()
        c = rng.choice(contracts)
        a = rng.randrange(1, accounts + 1)
        if roll < 0.50:
            yield emit(_limit(rng, shadow, ts, a, c, mids))
            placed.append(shadow.next_id - 1)
        elif roll < 0.70:
            live = _live(rng, shadow, placed)
            if live:
                yield emit(cmd.CancelOrder(ts, shadow.orders[live].account.id, live))
        elif roll < 0.80:
            live = _live(rng, shadow, placed)
            if live:
                yield emit(_amend(rng, shadow, ts, live))
        elif roll < 0.90:
            yield emit(_market(rng, shadow, ts, a, c))
        elif roll < 0.95:
            trigger = _trigger(rng, shadow, ts, c)
            if trigger is not None:
                yield emit(trigger)
        elif roll < 0.98:
            mids[c] = min(95, max(5, mids[c] + rng.choice((-3, -2, -1, 1, 2, 3))))
            yield emit(cmd.Timer(ts))
        else:
            yield emit(cmd.Deposit(ts, a, rng.randrange(100, 10_000) * MICRO))
        if len(placed) > 50_000:
            del placed[:25_000]


def _limit(rng: random.Random, e: Engine, ts: int, a: int, c: int,
           mids: dict[int, int]) -> cmd.PlaceOrder:
    outcome = YES if rng.random() < 0.6 else NO
    held = e.accounts[a].positions.get(c)
    action = SELL if held and held[outcome] - held[2 + outcome] > 0 and rng.random() < 0.5 else BUY
    yes_mid = mids[c]
    # A quarter of orders cross the spread; the rest rest a few ticks behind the mid.
    offset = rng.randrange(0, 4) if rng.random() < 0.25 else -rng.randrange(1, 8)
    bid = (outcome == YES) == (action == BUY)
    yes_i = yes_mid + offset if bid else yes_mid - offset
    yes_i = min(99, max(1, yes_i))
    out_i = yes_i if outcome == YES else 100 - yes_i
    size = rng.randrange(1, 200)
    if action == SELL and held:
        size = min(size, held[outcome] - held[2 + outcome])
    tif, flags, expire = GTC, 0, 0
    roll = rng.random()
    if roll < 0.05:
        tif = IOC
    elif roll < 0.08:
        tif = FOK
    elif roll < 0.13:
        tif, expire = GTD, ts + rng.randrange(10, 5_000)
    elif roll < 0.18:
        flags = FLAG_POST_ONLY
    elif roll < 0.20:
        flags = FLAG_REDUCE_ONLY
    client = f"c{ts}-{a}" if rng.random() < 0.1 else ""
    return cmd.PlaceOrder(ts, a, c, outcome, action, size, out_i * _TICK, LIMIT, tif, expire,
                          flags, rng.randrange(0, 3), 0, client)


def _market(rng: random.Random, e: Engine, ts: int, a: int, c: int) -> cmd.PlaceOrder:
    outcome = rng.choice((YES, NO))
    held = e.accounts[a].positions.get(c)
    if held and held[outcome] - held[2 + outcome] > 0 and rng.random() < 0.5:
        size = rng.randrange(1, held[outcome] - held[2 + outcome] + 1)
        return cmd.PlaceOrder(ts, a, c, outcome, SELL, size, 0, MARKET)
    if rng.random() < 0.3:
        return cmd.PlaceOrder(ts, a, c, outcome, BUY, 0, 0, MARKET,
                              spend_micro=rng.randrange(1, 50) * MICRO)
    return cmd.PlaceOrder(ts, a, c, outcome, BUY, rng.randrange(1, 100), 0, MARKET)


def _amend(rng: random.Random, e: Engine, ts: int, order_id: int) -> cmd.AmendOrder:
    o = e.orders[order_id]
    if rng.random() < 0.5 and o.remaining > 1:
        return cmd.AmendOrder(ts, o.account.id, order_id, 0, rng.randrange(1, o.remaining))
    out_i = min(99, max(1, o.out_price // _TICK + rng.choice((-2, -1, 1, 2))))
    return cmd.AmendOrder(ts, o.account.id, order_id, out_i * _TICK, 0)


def _trigger(rng: random.Random, e: Engine, ts: int, c: int) -> cmd.PlaceTrigger | None:
    contract = e.contracts[c]
    if not contract.positions:
        return None
    account_id = rng.choice(list(contract.positions)[:50])
    pos = contract.positions[account_id]
    outcome = YES if pos[YES] else NO
    if not pos[outcome]:
        return None
    last = contract.last_i or 50
    out_i = last if outcome == YES else 100 - last
    size = rng.randrange(1, pos[outcome] + 1)
    if rng.random() < 0.2:
        return cmd.PlaceTrigger(ts, account_id, c, outcome, size, trail_micro=rng.randrange(1, 6) * _TICK)
    tp = min(99, out_i + rng.randrange(1, 6)) * _TICK
    sl = max(1, out_i - rng.randrange(1, 6)) * _TICK
    return cmd.PlaceTrigger(ts, account_id, c, outcome, size, take_profit_micro=tp,
                            stop_loss_micro=sl if sl < tp else 0,
                            limit_micro=0 if rng.random() < 0.7 else sl)


def _live(rng: random.Random, e: Engine, placed: list[int]) -> int:
    for _ in range(4):
        if not placed:
            return 0
        order_id = placed[rng.randrange(max(0, len(placed) - 2_000), len(placed))]
        if order_id in e.orders:
            return order_id
    return 0
