"""Risk controls for bots: order groups (a rolling-window cap on contracts filled that cancels
the group's resting orders when hit) and dead-man's switches (cancel all unless renewed).

Both live in the engine (engine/risk.py) and change only through journaled commands, so a
restart replays them like everything else; the SQL tables `order_groups` and
`dead_man_switches` are projections of their events. This module submits the commands and
reads the engine's state; the node's Timer (`Node.run_timers`) fires due switches.
"""

from __future__ import annotations

from typing import Any

from foretell.domain import commands as cmd
from foretell.domain.codes import Refused, refused
from foretell.engine.state import OrderGroup
from foretell.exchange.node import Node
from foretell.services.auth import Principal


class Risk:
    def __init__(self, node: Node) -> None:
        self.node = node

    # -- reads of engine state (on the loop) -------------------------------------------------

    @property
    def groups(self) -> dict[int, OrderGroup]:
        """Every order group by id (read only)."""
        groups: dict[int, OrderGroup] = self.node.engine.groups
        return groups

    @property
    def order_group(self) -> dict[int, int]:
        """Live grouped order id -> its group id."""
        return {order: g.id for order, g in self.node.engine.grouped.items()}

    @property
    def dead_man(self) -> dict[int, tuple[int, int]]:
        """Armed switches: account -> (due_ms, timeout_s)."""
        return {account: (due_ms, timeout_ms // 1000)
                for account, (due_ms, timeout_ms) in self.node.engine.dead_men.items()}

    def group_view(self, g: OrderGroup) -> dict[str, Any]:
        return {"id": g.id, "contracts_limit": g.contracts_limit, "window_s": g.window_ms // 1000,
                "open_orders": sorted(g.orders), "triggered": g.triggered}

    def owned_group(self, p: Principal, group_id: int) -> OrderGroup:
        g = self.groups.get(group_id)
        if g is None or g.account_id != p.user_id:
            raise Refused("unknown_order_group", "No such order group.")
        return g

    # -- verbs -------------------------------------------------------------------------------

    async def create_group(self, p: Principal, contracts_limit: int,
                           window_s: int) -> dict[str, Any]:
        outcome = await self.node.execute(
            cmd.CreateOrderGroup(0, p.user_id, contracts_limit, window_s * 1000), p.user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        return self.group_view(self.groups[outcome.value])

    async def reset_group(self, p: Principal, group_id: int) -> dict[str, Any]:
        outcome = await self.node.execute(cmd.ResetOrderGroup(0, p.user_id, group_id),
                                          p.user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        return self.group_view(self.groups[group_id])

    async def arm_dead_man(self, p: Principal, timeout_s: int) -> dict[str, Any]:
        """Arm or renew (cancel all unless renewed within `timeout_s`), or disarm with 0."""
        outcome = await self.node.execute(cmd.ArmDeadMan(0, p.user_id, timeout_s * 1000),
                                          p.user_id)
        if not outcome.ok:
            raise refused(outcome.code)
        if timeout_s == 0:
            return {"armed": False}
        return {"armed": True, "timeout_s": timeout_s, "cancel_at_ms": outcome.value}
