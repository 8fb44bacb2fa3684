"""A small driver for scenario tests: readable verbs over raw engine commands."""

from __future__ import annotations

from typing import Any

import pytest

from foretell.domain import commands as cmd
from foretell.domain import events as ev
from foretell.domain.orders import BUY, LIMIT, MARKET, NO, SELL, YES
from foretell.domain.units import MICRO
from foretell.engine.audit import audit
from foretell.engine.engine import Engine
from foretell.engine.snapshot import state_hash


class Exchange:
    def __init__(self) -> None:
        self.engine = Engine()
        self.ts = 1_000
        self.log: list[tuple[Any, ...]] = []

    def do(self, command: cmd.Command) -> tuple[str, Any]:
        result = self.engine.apply(command)
        self.log.extend(self.engine.take_events())
        report = audit(self.engine)
        assert report.ok, report.violations
        return result

    def ok(self, command: cmd.Command) -> Any:
        code, value = self.do(command)
        assert code == "ok", (code, value)
        return value

    def fund(self, *accounts: int, usdc: int = 1_000) -> None:
        for a in accounts:
            self.ok(cmd.Deposit(self.ts, a, usdc * MICRO))

    def market(self, market: int = 1, **kw: Any) -> list[int]:
        ids: list[int] = self.ok(cmd.CreateMarket(self.ts, market, **kw))
        return ids

    def place(self, account: int, side: str, size: int, price_micro: int, order_type: int,
              contract: int = 1, **kw: Any) -> tuple[str, Any]:
        """side is 'buy_yes', 'sell_no', ...; price in the traded outcome's terms."""
        action, outcome = side.split("_")
        return self.do(cmd.PlaceOrder(
            self.ts, account, contract, YES if outcome == "yes" else NO,
            BUY if action == "buy" else SELL, size, price_micro, order_type, **kw))

    def limit(self, account: int, side: str, size: int, cents: int | float, **kw: Any) -> Any:
        return self.place(account, side, size, round(cents * 10_000), LIMIT, **kw)

    def take(self, account: int, side: str, size: int = 0, protect_cents: int = 0,
             **kw: Any) -> Any:
        """A market order, by size or (spend_micro=...) by spend."""
        return self.place(account, side, size, protect_cents * 10_000, MARKET, **kw)

    def cash(self, account: int) -> tuple[int, int]:
        a = self.engine.accounts[account]
        return a.free, a.reserved

    def pos(self, account: int, contract: int = 1) -> list[int]:
        return list(self.engine.accounts[account].positions.get(contract, [0, 0, 0, 0]))

    def events(self, kind: type) -> list[dict[str, Any]]:
        return [ev.as_dict(e) for e in self.log if type(e) is kind]

    def fills(self) -> list[dict[str, Any]]:
        return self.events(ev.Fill)

    def hash(self) -> str:
        return state_hash(self.engine)

    def tick(self, ms: int) -> None:
        self.ts += ms


@pytest.fixture
def ex() -> Exchange:
    return Exchange()
