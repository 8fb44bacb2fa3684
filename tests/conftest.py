"""Fixtures shared by the suites that run on every database backend (store, news); and, for
every test and every server a test starts, the engine's full audit every 100 commands."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from tests.databases import BACKENDS, Pool

# A broken invariant then stops the exchange where it broke (InvariantBroken), not later in an
# audit run from outside; spawned servers inherit it.
os.environ.setdefault("FORETELL_AUDIT_EVERY", "100")


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    """Migrated databases to copy (SQLite) or truncate (PostgreSQL schemas), made once."""
    pool = Pool(tmp_path_factory.mktemp("db-template"))
    yield pool
    pool.drop_all()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
