"""Risk controls for bots, inside the engine: order groups and dead-man's switches.

Both are engine state driven by commands (and the Timer), so a replay of the journal rebuilds
them exactly, and both are in the snapshot and the state hash.

Order groups. `CreateOrderGroup` makes a group with the next id of `Engine.next_group`; a
`PlaceOrder` naming it joins its order to it (refused while the group is triggered, or when it
is not the account's). After a command, the contracts that its fills gave the group's orders
(taking or resting) are counted in the group's rolling window; once they reach the limit, the
group's resting orders are cancelled in the same command and the group is triggered until
`ResetOrderGroup`. The bookkeeping reads the command's new events after the command ran, and
only while some live order is in a group (`Engine.grouped` is not empty): the matcher knows
nothing of groups, and a command without them pays one dict check.

Dead-man's switches. `ArmDeadMan` sets (or renews) the account's due time, now + timeout; a
timeout of 0 disarms it. `next_deadline_ms` includes the earliest due time, and the Timer at or
after it cancels every resting order of the account (reason "dead_man_switch"), as CancelAll
does. A renewal replaces the due time; the heap's entry for the old one is dropped when it
reaches the top (`next_due`), so a switch renewed in time never fires.

Suspension. `SuspendAccount` puts an account in `Engine.suspended` (or takes it out): while
there, `Engine.admit` and trigger placement refuse it (`account_suspended`), so nothing it sent
before the suspension can rest after it; suspending cancels its resting orders and trigger
orders in the same command. Money is not touched.

Invariants, checked by `problems` (the audit): every id in `Engine.grouped` is a live order of
the group's account, in that group's `orders`, and the reverse; a group's `window_filled` is the
sum of its `fills`.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from foretell.domain import codes, limits
from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.codes import Reject
from foretell.domain.orders import DONE_SUSPENDED
from foretell.engine import triggers
from foretell.engine.state import OrderGroup

if TYPE_CHECKING:
    from foretell.engine.engine import Engine

DONE_ORDER_GROUP = "order_group"  # ORDER_DONE reason of the orders a triggered group cancels
DONE_DEAD_MAN = "dead_man_switch"

# -- order groups ------------------------------------------------------------------------------


def create_group(e: Engine, c: cmd.CreateOrderGroup) -> int:
    if c.account <= 0:
        raise Reject(codes.UNKNOWN_ACCOUNT)
    if not (1 <= c.contracts_limit <= limits.order_group_contracts_max
            and 1 <= c.window_ms <= limits.order_group_window_ms_max):
        raise Reject(codes.INVALID_RISK_CONTROL)
    owned = sum(1 for g in e.groups.values() if g.account_id == c.account)
    if owned >= limits.order_groups_per_account_max:
        raise Reject(codes.TOO_MANY_ORDER_GROUPS)
    g = OrderGroup(e.next_group, c.account, c.contracts_limit, c.window_ms)
    e.next_group += 1
    e.groups[g.id] = g
    e.events.append(ev.GroupCreated(e.now_ms, g.id, g.account_id, g.contracts_limit,
                                    g.window_ms))
    return g.id


def reset_group(e: Engine, c: cmd.ResetOrderGroup) -> int:
    g = owned_group(e, c.account, c.group)
    g.triggered = False
    g.fills.clear()
    g.window_filled = 0
    e.events.append(ev.GroupReset(e.now_ms, g.id, g.account_id))
    return g.id


def owned_group(e: Engine, account_id: int, group_id: int) -> OrderGroup:
    g = e.groups.get(group_id)
    if g is None or g.account_id != account_id:
        raise Reject(codes.UNKNOWN_ORDER_GROUP)
    return g


def group_to_join(e: Engine, account_id: int, group_id: int) -> OrderGroup:
    """The group a new order of the account joins; refused while it is triggered."""
    g = owned_group(e, account_id, group_id)
    if g.triggered:
        raise Reject(codes.ORDER_GROUP_TRIGGERED)
    return g


def after_command(e: Engine, start: int) -> None:
    """Count the fills of grouped orders among the events from `start`, trigger the groups
    that reach their limit, and forget the grouped orders that left the book (an order's FILL
    events come before its ORDER_DONE, and the cancels of a trigger are appended: read too)."""
    events = e.events
    grouped = e.grouped
    i = start
    while i < len(events):
        event = events[i]
        i += 1
        kind = type(event)
        if kind is ev.Fill:
            assert isinstance(event, ev.Fill)
            for order_id in (event.taker_order, event.maker_order):
                g = grouped.get(order_id)
                if g is not None and not g.triggered:
                    _count(e, g, event.ts_ms, event.size)
        elif kind is ev.OrderDone:
            assert isinstance(event, ev.OrderDone)
            g = grouped.pop(event.order, None)
            if g is not None:
                g.orders.discard(event.order)


def _count(e: Engine, g: OrderGroup, ts_ms: int, size: int) -> None:
    fills = g.fills
    fills.append((ts_ms, size))
    g.window_filled += size
    edge = ts_ms - g.window_ms  # fills at or before it left the window (the new one has not)
    while fills[0][0] <= edge:
        g.window_filled -= fills.popleft()[1]
    if g.window_filled >= g.contracts_limit:
        _trigger(e, g)


def _trigger(e: Engine, g: OrderGroup) -> None:
    g.triggered = True
    doomed = [e.orders[i] for i in sorted(g.orders) if i in e.orders]
    e.events.append(ev.GroupTriggered(e.now_ms, g.id, g.account_id, g.window_filled,
                                      len(doomed)))
    for o in doomed:
        e.cancel_resting(o, DONE_ORDER_GROUP)


# -- dead-man's switches -----------------------------------------------------------------------


def arm_dead_man(e: Engine, c: cmd.ArmDeadMan) -> int:
    """Arm, renew (timeout > 0: returns the due time) or disarm (0: returns 0)."""
    if c.account <= 0:
        raise Reject(codes.UNKNOWN_ACCOUNT)
    if not 0 <= c.timeout_ms <= limits.dead_man_timeout_ms_max:
        raise Reject(codes.INVALID_RISK_CONTROL)
    if c.timeout_ms == 0:
        if e.dead_men.pop(c.account, None) is not None:
            e.events.append(ev.DeadManDisarmed(e.now_ms, c.account))
        return 0
    due_ms = e.now_ms + c.timeout_ms
    e.dead_men[c.account] = (due_ms, c.timeout_ms)
    heap = e.dead_man_due
    heapq.heappush(heap, (due_ms, c.account))
    if len(heap) > 2 * len(e.dead_men) + 64:  # renewals left old entries behind: rebuild
        heap[:] = sorted((due, account) for account, (due, _) in e.dead_men.items())
    e.events.append(ev.DeadManArmed(e.now_ms, c.account, due_ms, c.timeout_ms))
    return due_ms


def next_due(e: Engine) -> int:
    """The earliest due time of an armed switch (0 = none); drops renewed entries on top."""
    heap = e.dead_man_due
    switches = e.dead_men
    while heap:
        due_ms, account = heap[0]
        switch = switches.get(account)
        if switch is not None and switch[0] == due_ms:
            return due_ms
        heapq.heappop(heap)
    return 0


def fire_due(e: Engine, now_ms: int) -> int:
    """Timer: fire the switches due at `now_ms`; returns how many fired."""
    fired = 0
    while True:
        due_ms = next_due(e)
        if not due_ms or due_ms > now_ms:
            return fired
        _, account_id = heapq.heappop(e.dead_man_due)
        del e.dead_men[account_id]
        a = e.accounts.get(account_id)
        doomed = list(a.orders.values()) if a is not None else []
        e.events.append(ev.DeadManFired(now_ms, account_id, due_ms, len(doomed)))
        for o in doomed:
            e.cancel_resting(o, DONE_DEAD_MAN)
        fired += 1


# -- snapshot and audit ------------------------------------------------------------------------


def to_plain(e: Engine) -> list[Any] | None:
    """The risk state in canonical plain form; None while nothing was ever created or armed
    (so that an engine without risk controls keeps its snapshot bytes and hash)."""
    if e.next_group == 1 and not e.dead_men:
        return None
    groups = [[g.id, g.account_id, g.contracts_limit, g.window_ms, g.triggered,
               sorted(g.orders), [list(f) for f in g.fills]] for _, g in sorted(e.groups.items())]
    switches = [[account, due, timeout] for account, (due, timeout) in sorted(e.dead_men.items())]
    return [e.next_group, groups, switches]


def from_plain(e: Engine, data: list[Any] | None) -> None:
    if data is None:
        return
    e.next_group, groups, switches = data
    for group_id, account_id, contracts_limit, window_ms, triggered, orders, fills in groups:
        g = OrderGroup(group_id, account_id, contracts_limit, window_ms)
        g.triggered = triggered
        g.orders = set(orders)
        g.fills.extend((ts, size) for ts, size in fills)
        g.window_filled = sum(size for _, size in g.fills)
        e.groups[g.id] = g
        for order_id in orders:
            e.grouped[order_id] = g
    for account_id, due_ms, timeout_ms in switches:
        e.dead_men[account_id] = (due_ms, timeout_ms)
        e.dead_man_due.append((due_ms, account_id))
    heapq.heapify(e.dead_man_due)


def problems(e: Engine) -> list[str]:
    """Broken risk-control invariants (empty when all hold)."""
    out: list[str] = []
    for order_id, g in e.grouped.items():
        o = e.orders.get(order_id)
        if o is None or o.account.id != g.account_id or order_id not in g.orders:
            out.append(f"grouped order {order_id} of group {g.id} is not a live order in it")
    for g in e.groups.values():
        if any(e.grouped.get(i) is not g for i in g.orders):
            out.append(f"group {g.id} lists an order that is not grouped with it")
        if g.window_filled != sum(size for _, size in g.fills):
            out.append(f"group {g.id} window count disagrees with its fills")
    for a in e.accounts.values():
        if a.suspended != (a.id in e.suspended):
            out.append(f"account {a.id}: suspended flag disagrees with the engine's record")
        if a.suspended and (a.orders or a.triggers):
            out.append(f"suspended account {a.id} has live orders or triggers")
    return out


# -- suspension --------------------------------------------------------------------------------


def suspend(e: Engine, c: cmd.SuspendAccount) -> tuple[int, int]:
    """Suspend an account (cancelling what it has live) or lift it. Returns (orders, trigger
    orders) cancelled. Idempotent: suspending twice cancels nothing more."""
    if c.account <= 0:
        raise Reject(codes.UNKNOWN_ACCOUNT)
    orders = trigger_count = 0
    a = e.accounts.get(c.account)
    if a is not None:
        a.suspended = c.suspended
    if not c.suspended:
        e.suspended.discard(c.account)
    else:
        e.suspended.add(c.account)
        if a is not None:
            for o in list(a.orders.values()):
                e.cancel_resting(o, DONE_SUSPENDED)
                orders += 1
            for t in list(a.triggers.values()):
                if t.live:  # (an OCO partner is killed with its leg)
                    triggers.kill(e, t, DONE_SUSPENDED)
                    trigger_count += 1
    e.events.append(ev.AccountSuspended(e.now_ms, c.account, c.suspended, orders,
                                        trigger_count))
    return orders, trigger_count
