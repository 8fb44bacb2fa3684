"""The services in process: a `Services` container on a tmp data directory (SQLite, the file
journal, the SQL projector on a thread of this process), no server, no loop attached.

A node that is not attached to a loop answers a command once the journal writer's future says
it is durable (`Node.durable`), so every verb runs under `asyncio.run` as the CLI runs it.
Time is a `Clock` the test moves; every amount is int micro-USDC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from tests.databases import Pool

from foretell.config import Settings
from foretell.domain.codes import Refused
from foretell.domain.units import MICRO
from foretell.services import Services
from foretell.services.auth import Principal, hash_password
from foretell.services.requests import MarketIn, OrderIn
from foretell.store import schema as t

T = TypeVar("T")
START_MS = 1_800_000_000_000
DAY_MS = 86_400_000


class Clock:
    def __init__(self, now_ms: int = START_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def run(work: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(work)


def refused(code: str) -> Any:
    """`with refused("code"):` the verb raises `Refused` with exactly this code."""
    return pytest.raises(Refused, match=f"^{code}$")


def trader(user_id: int, role: str = "trader") -> Principal:
    return Principal(user_id, role, frozenset({"read", "trade"}), "session")


def order(**fields: Any) -> OrderIn:
    return OrderIn.model_validate(fields)


class World:
    """The container plus the users a test needs, funded through the verbs.

    Users are stored rows with one password hash made per session: Argon2 costs half a second
    a hash on a busy machine, and only tests/services/test_accounts.py is about passwords."""

    def __init__(self, svc: Services, clock: Clock, password_hash: str) -> None:
        self.svc = svc
        self.clock = clock
        self.password_hash = password_hash
        self.sam = self._row("sam", "supervisor")
        self.boss = trader(self.sam, "supervisor")

    def _row(self, name: str, role: str) -> int:
        with self.svc.db.begin() as conn:
            key = conn.execute(t.users.insert().values(
                username=name, display_name=name, email=None, password_hash=self.password_hash,
                role=role, created_ms=self.clock(), disabled=False)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def user(self, name: str, usdc: int = 1_000, role: str = "trader") -> int:
        user_id = self._row(name, role)
        if usdc:
            run(self.svc.accounts.credit(user_id, usdc * MICRO, "test funding", self.sam))
        return user_id

    def market(self, slug: str = "will-it-rain", **fields: Any) -> dict[str, Any]:
        body = MarketIn.model_validate({"slug": slug, "question": "Will it rain in Lisbon?",
                                        **fields})
        return run(self.svc.markets.create_market(body, self.sam))

    def place(self, user_id: int, **fields: Any) -> dict[str, Any]:
        return run(self.svc.trading.place(trader(user_id), order(**fields)))

    def free_reserved(self, user_id: int) -> tuple[int, int]:
        a = self.svc.engine.accounts.get(user_id)
        return (0, 0) if a is None else (int(a.free), int(a.reserved))

    def shares(self, user_id: int, contract_id: int) -> tuple[int, int]:
        """(YES, NO) shares held, from the engine."""
        a = self.svc.engine.accounts.get(user_id)
        pos = None if a is None else a.positions.get(contract_id)
        return (0, 0) if pos is None else (int(pos[0]), int(pos[1]))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc(tmp_path: Path, clock: Clock, _databases: Pool) -> Iterator[Services]:
    """SQLite from a migrated template (tests/databases.py), so no test pays for migrations."""
    services = Services(Settings(data=tmp_path, database_url=_databases.sqlite(tmp_path),
                                 demo=False, market_maker=False, projector_process=False),
                        clock=clock)
    try:
        yield services
    finally:
        services.close()


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password("password-1")


@pytest.fixture
def w(svc: Services, clock: Clock, password_hash: str) -> World:
    return World(svc, clock, password_hash)
