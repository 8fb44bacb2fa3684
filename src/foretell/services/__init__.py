"""The application: the verbs traders, bots, creators and operators use, one module per job.

  accounts    users, passwords, sessions, API keys, operator credits
  markets     create, open/halt/close, settle, void; unique slugs
  trading     orders, amend/cancel, the dry-run quote, trigger orders
  risk        order groups and dead-man's switches
  portfolio   cash free and reserved, and why
  creators    the creator program: applications, drafts, review, resolution, disputes
  present     how engine state and store rows read in the public API

Each job works on the node (`foretell.exchange.node`): commands go through its pipeline, reads
of live state happen on its loop. Refusals are `Refused` with stable codes; nothing here speaks
HTTP, so the API, the WebSocket, the CLI and the demo share every verb.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from foretell.config import Settings
from foretell.domain import commands as cmd
from foretell.domain.outcome import Outcome
from foretell.domain.units import MICRO
from foretell.exchange.node import Node
from foretell.exchange.pipeline import Pipeline, wall_clock_ms
from foretell.services.accounts import Accounts
from foretell.services.markets import Markets
from foretell.services.portfolio import Portfolio
from foretell.services.risk import Risk
from foretell.services.trading import Trading
from foretell.store.projector import ProjectorThread

T = TypeVar("T")
demo_credit_micro = 10_000 * MICRO


class Services:
    """The node and every job on it, built in dependency order."""

    def __init__(self, settings: Settings, clock: Callable[[], int] = wall_clock_ms,
                 node: Node | None = None) -> None:
        # The single-node wiring by default; cluster mode passes a gateway's node.
        self.node = node if node is not None else Node(settings, clock)
        self.portfolio = Portfolio(self.node)
        self.accounts = Accounts(self.node, self.portfolio)
        self.markets = Markets(self.node)
        self.risk = Risk(self.node)
        self.trading = Trading(self.node, self.markets)
        # News items as they are published (not engine events): the WebSocket hub listens.
        self.news_listeners: list[Callable[[dict[str, Any]], None]] = []

    # The node's infrastructure, named as every job and edge uses it.

    @property
    def settings(self) -> Settings:
        return self.node.settings

    @property
    def clock(self) -> Callable[[], int]:
        return self.node.clock

    @property
    def engine(self) -> Any:
        return self.node.engine

    @property
    def db(self) -> sa.Engine:
        return self.node.db

    @property
    def pipeline(self) -> Pipeline:
        return self.node.pipeline

    @property
    def projection(self) -> ProjectorThread:
        return self.node.projection

    @property
    def master_key(self) -> bytes:
        return self.accounts.master_key

    async def execute(self, command: cmd.Command, account_id: int | None = None) -> Outcome:
        return await self.node.execute(command, account_id)

    async def read_your_writes(self, account_id: int, timeout_s: float = 10.0) -> None:
        await self.node.read_your_writes(account_id, timeout_s)

    async def off_loop(self, work: Callable[[], T]) -> T:
        return await self.node.off_loop(work)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve from this loop."""
        self.node.attach(loop)

    async def tick(self) -> None:
        """Periodic work: due timers (expiries, market close, dead-man's switches)."""
        await self.node.run_timers()

    def publish_news(self, item: dict[str, Any]) -> None:
        for listener in self.news_listeners:
            listener(item)

    def close(self) -> None:
        self.node.close()
