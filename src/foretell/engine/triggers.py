"""Trigger orders on open positions: take-profit, stop-loss (one-cancels-other), trailing stop.

All levels are YES-terms tick indexes. A holder of YES profits when the YES price rises; a holder
of NO when it falls, so a NO take-profit waits for the YES price to come down to 1 - its price.
`up` triggers fire when a trade reaches their level from below, `down` ones from above. They are
evaluated by the engine after the trades of each command, in sequence, and fire as reduce-only
sells never larger than the shares held (and not already offered) at that moment.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Final

from msgspec.structs import astuple

from foretell.domain import codes, limits
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain import markets as mk
from foretell.domain.codes import Reject
from foretell.domain.orders import (
    FLAG_REDUCE_ONLY,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    NO,
    SELL,
    STP_CANCEL_MAKER,
    TRIGGER_STOP_LOSS,
    TRIGGER_TAKE_PROFIT,
    TRIGGER_TRAILING,
    YES,
)
from foretell.domain.units import MICRO
from foretell.engine import ledger
from foretell.engine.book import limit_index
from foretell.engine.state import Contract, Trigger

_astuple: Final = astuple  # a C static once compiled, not a globals-dict lookup per call

# Event classes as Final names: compiled, each is a C static, read without the module
# attribute lookup that `ev.Fill(...)` costs per event on the hot path.
_TriggerPlaced: Final = ev.TriggerPlaced
_TriggerDone: Final = ev.TriggerDone
_TriggerFired: Final = ev.TriggerFired


if TYPE_CHECKING:
    from foretell.engine.engine import Engine

_compact_dead_min = 64


def place(engine: Engine, c: cmd.PlaceTrigger) -> list[int]:
    # The fields read once, in one C call (a msgspec struct's attribute is a generic lookup),
    # into locals declared with their types (so the compiled code unboxes them once, here).
    account_id: int
    contract_id: int
    outcome: int
    size: int
    take_profit_micro: int
    stop_loss_micro: int
    trail_micro: int
    limit_micro: int
    client_id: str
    (_, account_id, contract_id, outcome, size, take_profit_micro, stop_loss_micro,
     trail_micro, limit_micro, client_id) = _astuple(c)
    a = engine.account(account_id)
    if a.suspended:
        raise Reject(codes.ACCOUNT_SUSPENDED)
    contract = engine.contracts.get(contract_id)
    if contract is None:
        raise Reject(codes.UNKNOWN_CONTRACT)
    m = contract.market
    if m.status not in (mk.OPEN, mk.HALTED):
        raise Reject(codes.MARKET_NOT_OPEN)
    if outcome not in (YES, NO):
        raise Reject(codes.INVALID_ORDER)
    if not 1 <= size <= m.size_max:
        raise Reject(codes.SIZE_OUT_OF_RANGE)
    if client_id:
        if len(client_id) > limits.client_id_bytes_max:
            raise Reject(codes.CLIENT_ID_TOO_LONG)
        if client_id in a.client_ids or client_id in a.recent_client_ids:
            raise Reject(codes.DUPLICATE_CLIENT_ORDER_ID)
    legs = _legs(contract, outcome, take_profit_micro, stop_loss_micro, trail_micro)
    limit_i = limit_index(contract, outcome, limit_micro) if limit_micro else 0
    pos = a.positions.get(contract.id)
    if pos is None or pos[outcome] <= 0:
        raise Reject(codes.NO_POSITION)
    if len(a.triggers) + len(legs) > limits.triggers_per_account_max:
        raise Reject(codes.TOO_MANY_TRIGGERS)
    made: list[Trigger] = []
    for kind, level_i, trail_i in legs:
        t = Trigger(engine.next_id, a, contract, outcome, kind, level_i, trail_i, size,
                    limit_i, client_id if not made else "")
        engine.next_id += 1
        made.append(t)
    if len(made) == 2:
        made[0].oco, made[1].oco = made[1], made[0]
    for t in made:
        _arm(engine, t)
    return [t.id for t in made]


def _legs(contract: Contract, outcome: int, take_profit_micro: int, stop_loss_micro: int,
          trail_micro: int) -> list[tuple[int, int, int]]:
    """(kind, YES-terms level index, trail ticks) for each trigger a PlaceTrigger asks for."""
    if trail_micro:
        if take_profit_micro or stop_loss_micro:
            raise Reject(codes.INVALID_ORDER, "a trailing stop stands alone")
        if trail_micro % contract.tick:
            raise Reject(codes.INVALID_TICK)
        if not contract.tick <= trail_micro < MICRO:
            raise Reject(codes.INVALID_PRICE)
        return [(TRIGGER_TRAILING, 0, trail_micro // contract.tick)]
    if not (take_profit_micro or stop_loss_micro):
        raise Reject(codes.INVALID_ORDER, "give a take-profit, a stop-loss or a trail")
    if take_profit_micro and stop_loss_micro and stop_loss_micro >= take_profit_micro:
        raise Reject(codes.INVALID_PRICE, "stop-loss must be below take-profit")
    legs = []
    if take_profit_micro:
        legs.append((TRIGGER_TAKE_PROFIT, limit_index(contract, outcome, take_profit_micro), 0))
    if stop_loss_micro:
        legs.append((TRIGGER_STOP_LOSS, limit_index(contract, outcome, stop_loss_micro), 0))
    return legs


def _arm(engine: Engine, t: Trigger) -> None:
    c = t.contract
    if t.kind == TRIGGER_TRAILING:
        t.best_i = c.last_i
        c.trailing.append(t)
    elif (t.kind == TRIGGER_TAKE_PROFIT) == (t.outcome == YES):
        heapq.heappush(c.up, (t.level_i, t.id, t))
    else:
        heapq.heappush(c.down, (-t.level_i, t.id, t))
    engine.triggers[t.id] = t
    t.account.triggers[t.id] = t
    if t.client_id:
        t.account.client_ids[t.client_id] = t.id
    trigger_micro = t.trail_i * c.tick if t.kind == TRIGGER_TRAILING else _out_price(t, t.level_i)
    engine.events.append(_TriggerPlaced(engine.now, t.id, t.account.id, c.id, t.outcome,
                                        t.kind, trigger_micro, t.size,
                                        _out_price(t, t.limit_i) if t.limit_i else 0,
                                        t.oco.id if t.oco else 0, t.client_id))


def _out_price(t: Trigger, index: int) -> int:
    yes_price = index * t.contract.tick
    return yes_price if t.outcome == YES else MICRO - yes_price


def kill(engine: Engine, t: Trigger, reason: str) -> None:
    """Take a live trigger out of service (cancelled, fired partner, market closed)."""
    t.live = False
    a = t.account
    del a.triggers[t.id]
    del engine.triggers[t.id]
    if t.client_id:
        del a.client_ids[t.client_id]
        a.recent_client_ids[t.client_id] = t.id
    c = t.contract
    if t.kind == TRIGGER_TRAILING:
        c.trailing.remove(t)
    else:
        c.dead_triggers += 1
        if c.dead_triggers > _compact_dead_min and c.dead_triggers * 2 > len(c.up) + len(c.down):
            _compact(c)
    if t.oco is not None:
        t.oco.oco = None
        t.oco = None
    if reason:
        engine.events.append(_TriggerDone(engine.now, t.id, a.id, c.id, reason))


def _compact(c: Contract) -> None:
    c.up = [entry for entry in c.up if entry[2].live]
    c.down = [entry for entry in c.down if entry[2].live]
    heapq.heapify(c.up)
    heapq.heapify(c.down)
    c.dead_triggers = 0


def cancel_all(engine: Engine, c: Contract, reason: str) -> None:
    for t in [t for t in engine.triggers.values() if t.contract is c]:
        kill(engine, t, reason)


def fire(engine: Engine, c: Contract, first_i: int, last_i: int) -> None:
    """Fire every trigger that the trades between first_i and last_i reached, oldest first."""
    lo, hi = (first_i, last_i) if first_i <= last_i else (last_i, first_i)
    fired: list[Trigger] | None = None
    up, down = c.up, c.down
    while up and up[0][0] <= hi:
        t = heapq.heappop(up)[2]
        if t.live:
            fired = _add(fired, t)
        else:
            c.dead_triggers -= 1
    while down and -down[0][0] >= lo:
        t = heapq.heappop(down)[2]
        if t.live:
            fired = _add(fired, t)
        else:
            c.dead_triggers -= 1
    rising = last_i >= first_i
    for t in c.trailing:
        if _trail_reached(t, lo, hi, rising):
            fired = _add(fired, t)
    if fired is None:
        return
    if len(fired) > 1:
        fired.sort(key=_trigger_id)
    for t in fired:
        if t.live:
            _execute(engine, t)


def _add(fired: list[Trigger] | None, t: Trigger) -> list[Trigger]:
    if fired is None:
        return [t]
    fired.append(t)
    return fired


def _trigger_id(t: Trigger) -> int:
    return t.id


def _trail_reached(t: Trigger, lo: int, hi: int, rising: bool) -> bool:
    """Follow the best price since placement; reached when it falls back by the trail."""
    if t.outcome == YES:
        if not rising:
            t.best_i = max(t.best_i, hi)
        reached = t.best_i > 0 and lo <= t.best_i - t.trail_i
        t.best_i = max(t.best_i, hi)
        return reached
    if rising or not t.best_i:
        t.best_i = min(t.best_i or lo, lo)
    reached = hi >= t.best_i + t.trail_i
    t.best_i = min(t.best_i, lo)
    return reached


def _execute(engine: Engine, t: Trigger) -> None:
    a, c = t.account, t.contract
    last_micro = c.last_i * c.tick
    partner = t.oco
    kill(engine, t, "")
    if partner is not None:
        kill(engine, partner, "oco")
    size = min(t.size, ledger.free_shares(a, c, t.outcome))
    if size <= 0:
        engine.events.append(_TriggerDone(engine.now, t.id, a.id, c.id, codes.NO_POSITION))
        return
    if t.limit_i:
        order_type, tif, price_micro = LIMIT, GTC, _out_price(t, t.limit_i)
    else:
        order_type, tif, price_micro = MARKET, IOC, 0
    try:
        order_id = engine.submit(a, c, t.outcome, SELL, size, price_micro, order_type, tif, 0,
                                 FLAG_REDUCE_ONLY, STP_CANCEL_MAKER, 0, "")
    except Reject as refusal:
        engine.events.append(_TriggerDone(engine.now, t.id, a.id, c.id, refusal.code))
        return
    engine.events.append(_TriggerFired(engine.now, t.id, a.id, c.id, order_id, size,
                                       last_micro))


__all__ = ["place", "kill", "cancel_all", "fire", "NO"]
