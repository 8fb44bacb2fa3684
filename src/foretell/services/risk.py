"""Risk controls for bots: order groups (a rolling-window cap on contracts filled that cancels
the group's resting orders when hit) and dead-man's switches (cancel all unless renewed).

Both are kept in the store so that a restart keeps them; a group reacts to durable fills, on the
loop, as a publish listener of the node.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import sqlalchemy as sa

from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.codes import Refused
from foretell.domain.outcome import Outcome
from foretell.exchange.node import Node
from foretell.services.auth import Principal
from foretell.store import schema as t
from foretell.store.sqlutil import upsert

log = logging.getLogger(__name__)


@dataclass
class OrderGroup:
    """Orders that share a rolling-window cap on contracts filled; hitting it cancels them all."""

    id: int
    account_id: int
    contracts_limit: int
    window_ms: int
    orders: set[int] = field(default_factory=set)
    fills: deque[tuple[int, int]] = field(default_factory=deque)
    triggered: bool = False

    def filled(self, ts_ms: int, size: int) -> bool:
        self.fills.append((ts_ms, size))
        while self.fills and self.fills[0][0] <= ts_ms - self.window_ms:
            self.fills.popleft()
        return sum(s for _, s in self.fills) >= self.contracts_limit


class Risk:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.groups, self.order_group = self._load_groups()  # group id -> group, order -> group
        # account -> (deadline_ms, timeout_s); kept in the store too, so a restart keeps them
        self.dead_man: dict[int, tuple[int, int]] = self._load_dead_man()
        node.publish_listeners.append(self._after_publish)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serving: finish the cancels of groups triggered before a restart."""
        for g in self.groups.values():
            if g.triggered and any(o in self.node.engine.orders for o in g.orders):
                loop.create_task(self._cancel_group(g))

    async def tick(self) -> None:
        """Fire the dead-man's switches that fell due."""
        now = self.node.clock()
        for account_id, (due_ms, _) in list(self.dead_man.items()):
            if now >= due_ms:
                del self.dead_man[account_id]
                await self.node.execute(cmd.CancelAll(0, account_id, 0, "dead_man_switch"))
                # Forgotten only once the cancel is durable: a crash in between fires it again
                # after the restart, which errs on the side the trader asked for. Only this
                # switch: the trader may have armed a new one meanwhile.
                self._forget_dead_man(account_id, due_ms)

    async def create_group(self, p: Principal, contracts_limit: int,
                           window_s: int) -> dict[str, Any]:
        # The id is taken on the loop, before any await: one id each.
        group_id = max(self.groups, default=0) + 1
        g = OrderGroup(group_id, p.user_id, contracts_limit, window_s * 1000)
        self.groups[group_id] = g
        try:
            await self.node.off_loop(partial(self._insert_group, g))
        except BaseException:
            self.groups.pop(group_id, None)
            raise
        return self.group_view(g)

    def _insert_group(self, g: OrderGroup) -> None:
        with self.node.db.begin() as conn:
            conn.execute(t.order_groups.insert().values(
                id=g.id, account_id=g.account_id, contracts_limit=g.contracts_limit,
                window_ms=g.window_ms, triggered=False, created_ms=self.node.clock()))

    async def reset_group(self, g: OrderGroup) -> dict[str, Any]:
        await self.node.off_loop(partial(self._store_triggered, g, False))
        g.fills.clear()
        return self.group_view(g)

    def _store_triggered(self, g: OrderGroup, triggered: bool) -> None:
        g.triggered = triggered
        with self.node.db.begin() as conn:
            conn.execute(t.order_groups.update().where(t.order_groups.c.id == g.id)
                         .values(triggered=triggered))

    def _load_groups(self) -> tuple[dict[int, OrderGroup], dict[int, int]]:
        """Groups from before a restart, and their open orders (their fills in the window are
        not kept: the window starts afresh)."""
        groups: dict[int, OrderGroup] = {}
        order_group: dict[int, int] = {}
        with self.node.db.connect() as conn:
            for r in conn.execute(sa.select(t.order_groups)):
                groups[r.id] = OrderGroup(r.id, r.account_id, r.contracts_limit, r.window_ms,
                                          triggered=r.triggered)
            members = conn.execute(sa.select(t.orders.c.id, t.orders.c.group_id).where(
                t.orders.c.status == "open", t.orders.c.group_id.is_not(None)))
            for order_id, group_id in members:
                if group_id in groups and order_id in self.node.engine.orders:
                    groups[group_id].orders.add(order_id)
                    order_group[order_id] = group_id
        return groups, order_group

    def group_view(self, g: OrderGroup) -> dict[str, Any]:
        return {"id": g.id, "contracts_limit": g.contracts_limit, "window_s": g.window_ms // 1000,
                "open_orders": sorted(o for o in g.orders if o in self.node.engine.orders),
                "triggered": g.triggered}

    def group_for(self, p: Principal, group_id: int | None) -> OrderGroup | None:
        if group_id is None:
            return None
        g = self.groups.get(group_id)
        if g is None or g.account_id != p.user_id:
            raise Refused("unknown_order_group", "No such order group.")
        if g.triggered:
            raise Refused("order_group_triggered",
                           "The group hit its contract limit; reset it before adding orders.")
        return g

    def _after_publish(self, outcome: Outcome) -> None:
        """Order-group limits react to durable fills (on the loop, after the WebSocket fan-out)."""
        for e in outcome.events:
            if not isinstance(e, ev.Fill):
                continue
            for order_id in (e.taker_order, e.maker_order):
                group_id = self.order_group.get(order_id)
                g = self.groups.get(group_id) if group_id else None
                if g is not None and not g.triggered and g.filled(e.ts_ms, e.size):
                    g.triggered = True
                    asyncio.ensure_future(self._cancel_group(g, store=True))

    async def _cancel_group(self, g: OrderGroup, store: bool = False) -> None:
        """Cancel a triggered group's orders. `triggered` is stored first (off the loop), so
        a restart before the cancels are durable finishes them (see `attach`)."""
        if store:
            try:
                await asyncio.to_thread(self._store_triggered, g, True)
            except Exception:  # the cancels matter more than the record of them
                log.exception("storing that order group %d triggered failed", g.id)
        ids = sorted(g.orders)
        for order_id in ids:
            if order_id in self.node.engine.orders:
                await self.node.execute(cmd.CancelOrder(0, g.account_id, order_id))
        g.orders.difference_update(ids)  # not those added after a reset meanwhile

    def arm_dead_man(self, p: Principal, timeout_s: int) -> dict[str, Any]:
        if timeout_s == 0:
            self._forget_dead_man(p.user_id)
            self.dead_man.pop(p.user_id, None)
            return {"armed": False}
        due = self.node.clock() + timeout_s * 1000
        self._store_dead_man(p.user_id, (due, timeout_s))
        self.dead_man[p.user_id] = (due, timeout_s)
        return {"armed": True, "timeout_s": timeout_s, "cancel_at_ms": due}

    def _store_dead_man(self, account_id: int, switch: tuple[int, int]) -> None:
        # One statement, so that two renewals at once (REST runs in a threadpool) both land.
        with self.node.db.begin() as conn:
            upsert(conn, t.dead_man_switches, ("account_id",), [
                {"account_id": account_id, "due_ms": switch[0], "timeout_s": switch[1]}])

    def _forget_dead_man(self, account_id: int, due_ms: int | None = None) -> None:
        """Disarmed (any switch of the account), or fired (only that one: not a renewal)."""
        table = t.dead_man_switches
        where = [table.c.account_id == account_id]
        if due_ms is not None:
            where.append(table.c.due_ms == due_ms)
        with self.node.db.begin() as conn:
            conn.execute(table.delete().where(*where))

    def _load_dead_man(self) -> dict[int, tuple[int, int]]:
        """The switches armed before a restart; one already due fires at the first tick."""
        table = t.dead_man_switches
        with self.node.db.connect() as conn:
            return {r.account_id: (r.due_ms, r.timeout_s) for r in conn.execute(sa.select(table))}
