"""Shared fixtures of the store suite: every test runs on SQLite, and on PostgreSQL too when
FORETELL_TEST_PG_URL is set (each test in its own schema, dropped afterwards).

`stream` drives a real engine and records outcomes exactly as the pipeline builds them;
`store` is a migrated, empty database with helpers to project and to read tables back. Stores
come from a per-session pool (a copied SQLite template, or truncated PostgreSQL schemas) so
that each test pays for migrations once; `make_url` gives truly empty databases.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.databases import Pool, new_pg_schema, pg_admin, pg_url

from foretell.domain import commands as cmd
from foretell.domain.orders import BUY, LIMIT, MARKET, NO, SELL, YES
from foretell.domain.outcome import Outcome
from foretell.domain.units import MICRO
from foretell.engine.engine import Engine
from foretell.engine.views import touched_state
from foretell.store import db
from foretell.store import schema as t
from foretell.store.projector import Projector


class Stream:
    """A real engine, its outcomes numbered like journal seqs (BALANCE/POSITION included)."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.outcomes: list[Outcome] = []
        self.ts = 1_000

    def do(self, command: cmd.Command) -> Outcome:
        code, value = self.engine.apply(command)
        events = self.engine.take_events()
        events += touched_state(self.engine, events)
        outcome = Outcome(len(self.outcomes) + 1, command, code, value, events)
        self.outcomes.append(outcome)
        return outcome

    def ok(self, command: cmd.Command) -> Any:
        outcome = self.do(command)
        assert outcome.ok, (outcome.code, outcome.value)
        return outcome.value

    def fund(self, *accounts: int, usdc: int = 1_000) -> None:
        for a in accounts:
            self.ok(cmd.Deposit(self.ts, a, usdc * MICRO))

    def market(self, market: int = 1, **kw: Any) -> list[int]:
        ids: list[int] = self.ok(cmd.CreateMarket(self.ts, market, **kw))
        return ids

    def limit(self, account: int, side: str, size: int, cents: float, contract: int = 1,
              **kw: Any) -> Outcome:
        """side is 'buy_yes', 'sell_no', ...; price in the traded outcome's cents."""
        action, outcome = side.split("_")
        return self.do(cmd.PlaceOrder(
            self.ts, account, contract, YES if outcome == "yes" else NO,
            BUY if action == "buy" else SELL, size, round(cents * 10_000), LIMIT, **kw))

    def take(self, account: int, side: str, size: int, contract: int = 1,
             **kw: Any) -> Outcome:
        action, outcome = side.split("_")
        return self.do(cmd.PlaceOrder(
            self.ts, account, contract, YES if outcome == "yes" else NO,
            BUY if action == "buy" else SELL, size, 0, MARKET, **kw))

    def balances(self) -> dict[int, tuple[int, int]]:
        return {a.id: (a.free, a.reserved) for a in self.engine.accounts.values()}

    def positions(self) -> dict[tuple[int, int], tuple[int, int, int, int]]:
        return {(a.id, c): (p[0], p[1], p[2], p[3])
                for a in self.engine.accounts.values() for c, p in a.positions.items()}


class Store:
    """A migrated database and a projector on it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = db.connect(url)
        self.projector = Projector(self.engine)

    def project(self, outcomes: list[Outcome], batch: int = 2_000) -> None:
        for start in range(0, len(outcomes), batch):
            self.projector.apply(outcomes[start:start + batch])
        assert self.projector.anomalies == 0

    def rows(self, table: sa.Table, order_by: str | None = None,
             **where: Any) -> list[dict[str, Any]]:
        stmt = sa.select(table).where(*[table.c[k] == v for k, v in where.items()])
        keys = [table.c[order_by]] if order_by else list(table.primary_key.columns)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt.order_by(*keys)).mappings()]

    def row(self, table: sa.Table, **where: Any) -> dict[str, Any]:
        rows = self.rows(table, **where)
        assert len(rows) == 1, rows
        return rows[0]

    def balances(self) -> dict[int, tuple[int, int]]:
        return {r["account_id"]: (r["free_micro"], r["reserved_micro"])
                for r in self.rows(t.balances)}

    def positions(self) -> dict[tuple[int, int], tuple[int, int, int, int]]:
        """Non-empty positions only (rows kept for realized P&L have zero shares)."""
        out = {}
        for r in self.rows(t.positions):
            shares = (r["yes_shares"], r["no_shares"], r["yes_reserved"], r["no_reserved"])
            if any(shares):
                out[(r["account_id"], r["contract_id"])] = shares
        return out

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every table's rows, for comparing two stores."""
        return {table.name: self.rows(table) for table in t.metadata.sorted_tables}

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def make_url(backend: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of empty (not migrated), isolated database URLs on the test's backend."""
    schemas: list[str] = []
    numbers = itertools.count()

    def make() -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path}/empty{next(numbers)}.db"
        schemas.append(new_pg_schema())
        return pg_url(schemas[-1])

    yield make
    for schema in schemas:
        pg_admin(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def make_store(backend: str, tmp_path: Path,
               _databases: Pool) -> Iterator[Callable[[], Store]]:
    """A factory of migrated, empty stores, isolated from every other test."""
    made: list[tuple[Store, str | None]] = []

    def make() -> Store:
        if backend == "sqlite":
            made.append((Store(_databases.sqlite(tmp_path)), None))
        else:
            schema = _databases.borrow_schema()
            made.append((Store(pg_url(schema)), schema))
        return made[-1][0]

    yield make
    for store, schema in made:
        store.close()
        if schema is not None:
            _databases.give_back(schema)


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Store:
    return make_store()


@pytest.fixture
def stream() -> Stream:
    return Stream()
